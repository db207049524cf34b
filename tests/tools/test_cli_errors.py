"""Every tools/ entry point answers user errors with one line on stderr, no traceback and a
non-zero exit (vidrd.utils.cli.run_cli); --debug shows the traceback.

Tools are found by glob, so a tool added later must get an entry in ``CASES`` (the arguments
that make it meet a missing file and a bad value) or this test fails naming it. Importing torch
takes seconds, so the cases run in two Python processes (``run_tool_cases.py``, each tool as
``__main__`` with its own argv, in parallel); one case also runs as its own process, with and
without ``--debug``.
"""
import glob
import os
import os.path as osp
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = 'configs/vidrd_tiny_shapes.py'
VAE = 'configs/vae_tiny_shapes_pretrain.py'
MISSING = 'no/such/file.pth'

#: tool -> {'missing file': argv, 'bad value': argv}; {tmp} is a fresh folder, {text} a text file
#: that is no checkpoint
CASES = {
    'app.py': {'missing file': ['no/such/config.py'],
               'bad value': [TINY, '--port', '0']},
    'compute_reference_stats.py': {'missing file': ['no/such/config.py'],
                                   'bad value': [TINY, '--num-videos', '1']},
    'demo.py': {'missing file': ['--work-dir', '{tmp}/demo', '--cfg-options',
                                 'model.text_encoder.tokenizer.vocab=no/such/vocab.txt'],
                'bad value': ['--work-dir', '{tmp}/demo', '--cfg-options', 'model.num_clips=0']},
    'export_model.py': {'missing file': [TINY, MISSING, '--out', '{tmp}/export'],
                        'bad value': [TINY, '{text}', '--out', '{tmp}/export']},
    'export_vae.py': {'missing file': [VAE, MISSING, '{tmp}/vae'],
                      'bad value': [VAE, '{text}', '{tmp}/vae']},
    'generate.py': {'missing file': [TINY, MISSING, '--prompt', 'a red circle moving left'],
                    'bad value': [TINY, '--prompt', 'a red circle moving left', '--num-clips',
                                  '0', '--out-dir', '{tmp}/out']},
    'test.py': {'missing file': [TINY, MISSING, '--work-dir', '{tmp}/wd'],
                'bad value': [TINY, '{text}', '--work-dir', '{tmp}/wd']},
    'train.py': {'missing file': ['no/such/config.py'],
                 'bad value': [TINY, '--work-dir', '{tmp}/wd', '--cfg-options',
                               'model.long_video_sampler.guidance_scale=-1']},
    'analysis/plot_curves.py': {'missing file': ['no/such/work_dir'],
                                'bad value': ['{tmp}']},  # a folder without logs
    'analysis/browse_dataset.py': {'missing file': ['no/such/config.py', '--out', '{tmp}/b'],
                                   'bad value': [TINY, '--out', '{tmp}/b', '--num', '0']},
    'data/segment_videos.py': {'missing file': ['no/such/videos', '--out', '{tmp}/s.csv'],
                               'bad value': ['{tmp}', '--out', '{tmp}/s.csv',
                                             '--max-duration', '0']},
    'data/caption_videos.py': {'missing file': ['{tmp}', '--model-dir', 'no/such/model',
                                                '--out', '{tmp}/c.jsonl'],
                               'bad value': ['{tmp}', '--model-dir', '{tmp}', '--out',
                                             '{tmp}/c.jsonl', '--frames', '0']},
    'data/convert_kinetics.py': {'missing file': ['no/such/train.csv', '--out-ann', '{tmp}/a.csv',
                                                  '--out-segments', '{tmp}/s.csv'],
                                 'bad value': ['{text}', '--out-ann', '{tmp}/a.csv',
                                               '--out-segments', '{tmp}/s.csv']},
    'data/convert_laion.py': {'missing file': ['no/such/part.parquet', '--image-dir', '{tmp}',
                                               '--out', '{tmp}/i.jsonl'],
                              'bad value': ['{text}', '--image-dir', '{tmp}', '--out',
                                            '{tmp}/i.jsonl']},
    'cache_latents.py': {'missing file': ['no/such/config.py', '--out', '{tmp}/cache'],
                         'bad value': [TINY, '--out', '{tmp}/cache', '--shard-size', '0']},
    'data/check_dataset.py': {'missing file': ['no/such/config.py'],
                              'bad value': [TINY, '--workers', '-1']},
    'docs/generate_pages.py': {'missing file': ['--check', '--repo', 'no/such/repo'],
                               'bad value': ['--check', '--only', 'no-such-block']},
}
#: what the message must say (besides being one line)
EXPECTED = {'missing file': ('not found', 'not exist', 'No such file'),
            'bad value': ('must', 'not a checkpoint', 'no mmengine json', 'unknown extension')}
#: further user errors a user meets first: (tool, case, argv, words the message must hold)
MORE_CASES = [
    # the embedded config's pixel-shuffle autoencoder has no posterior to cache
    ('cache_latents.py', 'embedded config', [TINY, '--out', '{tmp}/cache'],
     ('configs/vidrd_tiny_shapes.py', 'PixelShuffleAutoencoder', 'no posterior',
      'train from the videos')),
]


def _tools():
    return sorted(osp.relpath(p, osp.join(REPO, 'tools'))
                  for p in glob.glob(osp.join(REPO, 'tools', '**', '*.py'), recursive=True))


ENV = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')


def _argv(argv, tmp):
    text = osp.join(tmp, 'notes.pth')
    with open(text, 'w') as f:
        f.write('these are notes, not weights\n')
    return [a.replace('{tmp}', tmp).replace('{text}', text) for a in argv]


def _run(tool, argv, tmp, timeout=180):
    """``tools/<tool> argv`` as its own process."""
    return subprocess.run([sys.executable, osp.join('tools', tool), *_argv(argv, tmp)],
                          cwd=REPO, env=ENV, capture_output=True, text=True, timeout=timeout)


def _run_batch(cases, folder, timeout=600):
    """[(tool, argv)] in one process -> [{'returncode', 'stderr'}]."""
    spec, out = osp.join(folder, 'cases.json'), osp.join(folder, 'results.json')
    with open(spec, 'w') as f:
        json.dump(cases, f)
    driver = osp.join(REPO, 'tests', 'tools', 'run_tool_cases.py')
    done = subprocess.run([sys.executable, driver, spec, out], cwd=REPO, env=ENV,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.load(open(out))


def test_every_tool_has_an_entry():
    lacking = [t for t in _tools() if t not in CASES]
    assert not lacking, '; '.join(f'add an entry for tools/{t} to CASES' for t in lacking)


@pytest.fixture(scope='module')
def results(tmp_path_factory):
    jobs = []
    for tool in _tools():
        for kind, argv in CASES.get(tool, {}).items():
            tmp = str(tmp_path_factory.mktemp(f'{tool.replace("/", "_")}_{kind[:3]}'))
            jobs.append(((tool, kind), (tool, _argv(argv, tmp))))
    for tool, case, argv, _ in MORE_CASES:
        tmp = str(tmp_path_factory.mktemp(f'{tool.replace("/", "_")}_more'))
        jobs.append(((tool, case), (tool, _argv(argv, tmp))))
    halves = [jobs[0::2], jobs[1::2]]
    folders = [str(tmp_path_factory.mktemp('batch')) for _ in halves]
    with ThreadPoolExecutor(2) as pool:
        done = list(pool.map(lambda h: _run_batch([case for _, case in h[0]], h[1]),
                             zip(halves, folders)))
    return {key: dict(result, stderr=result['stderr'])
            for half, results in zip(halves, done) for (key, _), result in zip(half, results)}


@pytest.mark.parametrize('kind', ['missing file', 'bad value'])
@pytest.mark.parametrize('tool', _tools())
def test_user_error_is_one_line_without_traceback(results, tool, kind):
    if (tool, kind) not in results:
        pytest.fail(f'add an entry for tools/{tool} to CASES')
    result = results[tool, kind]
    stderr = result['stderr'].strip()
    assert result['returncode'] == 2, (result['returncode'], stderr[-2000:])
    assert 'Traceback' not in stderr, stderr[-2000:]
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f'{osp.basename(tool)}: error: '), lines[0]
    assert any(word in lines[0] for word in EXPECTED[kind]), lines[0]


@pytest.mark.parametrize('tool, case, argv, words', MORE_CASES,
                         ids=[f'{t}-{c}' for t, c, _, _ in MORE_CASES])
def test_more_user_errors_are_one_line(results, tool, case, argv, words):
    result = results[tool, case]
    stderr = result['stderr'].strip()
    assert result['returncode'] == 2, (result['returncode'], stderr[-2000:])
    assert 'Traceback' not in stderr and len(stderr.splitlines()) == 1, stderr[-2000:]
    for word in words:
        assert word in stderr, (word, stderr)


def test_unknown_type_suggests_close_names_and_debug_shows_the_traceback(tmp_path):
    argv = [TINY, '--work-dir', str(tmp_path), '--cfg-options', 'model.type=VidDR']
    result = _run('train.py', argv, str(tmp_path))
    assert result.returncode == 2 and 'Traceback' not in result.stderr
    assert "unknown type 'VidDR'" in result.stderr and "did you mean 'VidRD'" in result.stderr
    debug = _run('train.py', argv + ['--debug'], str(tmp_path))
    assert debug.returncode != 0 and 'Traceback' in debug.stderr and 'KeyError' in debug.stderr

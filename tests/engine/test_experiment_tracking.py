"""Experiment tracking: 3 tiny iterations log loss / lr / grad norm scalars and a sample video to
TensorBoard event files (read back with TensorBoard's EventAccumulator), mmengine's json scalar
log draws to a PNG, and the test metric table round-trips through JSON."""
import glob
import io
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
from PIL import Image

from vidrd.apis.metric_table import format_metric_table, write_metrics_json
from vidrd.apis.run_config import build_runner, load_config
from vidrd.apis.training_curves import plot_curves, read_curves

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(REPO, 'configs', 'vidrd_tiny_shapes.py')
PROMPT = 'a red triangle moving up'


@pytest.fixture(scope='module')
def trained(tmp_path_factory, tiny_training_options):
    work_dir = tmp_path_factory.mktemp('tracking')
    options = dict(tiny_training_options)
    options.update({
        'train_cfg.max_iters': 3, 'default_hooks.checkpoint.interval': 3,
        'custom_hooks': [dict(type='TrainableCheckpointHook'),
                         dict(type='VideoVisualizationHook', interval=3, prompts=[PROMPT],
                              formats=('gif',))],
        'test_evaluator': [dict(type='ShapesAttributeAccuracy')],
    })
    cfg = load_config(TINY, options, work_dir=str(work_dir))
    cfg.dump(str(work_dir / 'config.py'))
    runner = build_runner(cfg)
    runner.train()
    metrics = runner.test()
    return work_dir, metrics


def _events(work_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    files = glob.glob(osp.join(str(work_dir), '*', 'vis_data', 'events.out.tfevents.*'))
    assert files, 'no TensorBoard event file'
    accumulators = []
    for path in files:
        acc = EventAccumulator(path, size_guidance={'images': 0, 'scalars': 0})
        acc.Reload()
        accumulators.append(acc)
    return accumulators


def test_scalars_and_a_video_reach_tensorboard(trained):
    work_dir, _ = trained
    scalars, images = {}, {}
    for acc in _events(work_dir):
        for tag in acc.Tags()['scalars']:
            scalars.setdefault(tag, []).extend(acc.Scalars(tag))
        for tag in acc.Tags()['images']:
            images.setdefault(tag, []).extend(acc.Images(tag))
    for key in ('loss', 'lr', 'grad_norm'):
        assert key in scalars, sorted(scalars)
        assert sorted(e.step for e in scalars[key]) == [1, 2, 3], key
    assert scalars['grad_norm'][0].value > 0
    tag = 'train/000_a_red_triangle_moving_up'
    assert tag in images, sorted(images)
    event = images[tag][-1]
    gif = Image.open(io.BytesIO(event.encoded_image_string))
    assert gif.format == 'GIF' and gif.n_frames == 4  # the tiny sampler's 4 frames
    assert (event.height, event.width) == (16, 16)


def test_curves_png_from_the_json_scalar_log(trained, tmp_path):
    work_dir, _ = trained
    curves = read_curves(str(work_dir))
    assert curves['loss'][0] == [1, 2, 3] and len(curves['lr'][1]) == 3
    out = plot_curves(str(work_dir), out=str(tmp_path / 'curves.png'))
    with Image.open(out) as png:
        assert png.format == 'PNG' and png.size[1] > 200


def test_metric_table_round_trips_through_json(trained, tmp_path):
    _, metrics = trained
    assert any(k.startswith('shapes/') for k in metrics)
    path = write_metrics_json(metrics, str(tmp_path / 'out' / 'metrics.json'), checkpoint='c')
    saved = json.load(open(path))
    assert saved['checkpoint'] == 'c'
    assert saved['metrics'] == pytest.approx({k: float(v) for k, v in metrics.items()})
    table = format_metric_table(metrics)
    assert all(key in table for key in metrics)


def test_tools_test_prints_the_runs_numbers_and_writes_them_to_json(trained, tmp_path):
    """tools/test.py on the run's checkpoint reproduces the metrics the run computed."""
    work_dir, metrics = trained
    out = tmp_path / 'metrics.json'
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    result = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'test.py'), str(work_dir / 'config.py'),
         str(work_dir / 'iter_3.pth'), '--work-dir', str(tmp_path / 'wd'), '--out', str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    saved = json.load(open(out))['metrics']
    assert saved == pytest.approx({k: float(v) for k, v in metrics.items()})
    for key in metrics:
        assert key in result.stdout

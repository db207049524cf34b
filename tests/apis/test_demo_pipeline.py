"""The demo's whole pipeline (tools/demo.py) on the tiny test sizes: every stage runs, and the
report names every long-video sampler with its figures, links the PNG strip and gives the
verdicts (the real run and its accuracy are tests/apis/test_demo_learns.py's)."""
import json
import os.path as osp

import pytest
from PIL import Image

from vidrd.apis.demo import app_command, run_demo
from vidrd.apis.long_video_ablation import ABLATIONS


@pytest.mark.slow
def test_every_stage_runs_and_the_report_shows_every_sampler(tmp_path, tiny_training_options):
    options = dict(tiny_training_options, **{'train_cfg.max_iters': 2,
                                             'test_dataloader.dataset.num_samples': 4})
    report = run_demo(str(tmp_path), options, classifier_iters=2, long_video_prompts=1,
                      long_video_clips=2, longer_clips=3, ablation_videos=1)
    # the model's own sampler (FIFO-Diffusion at the test's 4 frames and 2 steps) matches no
    # config of the folders: it gets a row of its own
    methods = ('fifo_diffusion', 'reconstruction_guidance', 'temporal_co_denoising',
               'model default')
    assert list(report['long_video_ablation']) == list(ABLATIONS) + list(methods)
    settings = report['long_video_settings']
    assert settings['default_sampler'] == 'model default'
    assert report['long_video_relative_cost']['vidrd_full'] == 1.0
    assert report['long_video_claims'][0].startswith('Long videos of model default continue')
    assert set(report['timings_s']) == {'train VidRD', 'train feature network', 'test',
                                        'long videos'}

    text = open(osp.join(tmp_path, 'report.md')).read()
    for name in list(ABLATIONS) + list(methods):
        assert f'| {name} |' in text or f'**{name}**' in text, name
    png = settings['side_by_side']['files']['png']
    assert '![long videos](long_videos/side_by_side.png)' in text and osp.isfile(png)
    width, height = Image.open(png).size
    assert height > 8 * 16 and width > 150  # a row per sampler
    saved = json.load(open(osp.join(tmp_path, 'report.json')))
    assert saved['long_video_settings']['default_sampler'] == 'model default'
    assert all(osp.isfile(f) for files in report['files']['long_videos'] for f in files.values())
    assert app_command(str(tmp_path)).startswith('python tools/app.py ')

"""The demo's long-video ablation: sampler configs, long videos with their layout, the
side-by-side file and the verdicts on the paper's claims."""
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

from vidrd.apis.long_video_ablation import (ABLATIONS, long_video_samples, load_sampler_configs,
                                            paper_claims, run_long_video_ablation,
                                            write_side_by_side)
from vidrd.apis.run_config import load_config
from vidrd.datasets.video_io import read_video
from vidrd.registry import MODELS

CONFIGS = osp.join(osp.dirname(__file__), '..', '..', 'configs')
STRATEGIES = dict(no_fnr='FrameNoiseReversion', no_pns='PastDependentNoiseSampling',
                  no_dsg='StagedGuidanceDenoising')


@pytest.mark.parametrize('folder', ['ablations', 'ablations/tiny_shapes'])
def test_each_ablation_drops_one_strategy_and_keeps_the_rest(folder):
    samplers = load_sampler_configs(osp.join(CONFIGS, folder))
    assert tuple(samplers) == ABLATIONS
    full = samplers['vidrd_full']
    full_types = [s['type'] for s in full['strategies']]
    assert full_types == list(STRATEGIES.values())
    for name, sampler in samplers.items():
        assert {k: v for k, v in sampler.items() if k != 'strategies'} == \
            {k: v for k, v in full.items() if k != 'strategies'}, name
        types = [s['type'] for s in sampler['strategies']]
        if name in STRATEGIES:
            assert types == [t for t in full_types if t != STRATEGIES[name]]
            assert all(s in full['strategies'] for s in sampler['strategies'])  # alpha, beta
    assert [s['type'] for s in samplers['independent_clips']['strategies']] == \
        ['IndependentClips']
    with pytest.raises(FileNotFoundError, match='no_such'):
        load_sampler_configs(osp.join(CONFIGS, folder), ['no_such'])


@pytest.fixture(scope='module')
def untrained_tiny_model():
    cfg = load_config(osp.join(CONFIGS, 'vidrd_tiny_shapes.py'))
    torch.manual_seed(0)
    return MODELS.build(cfg.model).eval()


def test_long_videos_carry_their_layout(untrained_tiny_model, tmp_path):
    samplers = load_sampler_configs(osp.join(CONFIGS, 'ablations', 'tiny_shapes'),
                                    ['vidrd_full', 'independent_clips'])
    for sampler in samplers.values():
        sampler['num_inference_steps'] = 2
    full = samplers['vidrd_full']
    n, m = full['num_frames'], full['num_prompt_frames']
    prompts = ['a red circle moving left', 'a blue square moving up', 'a green circle moving up']
    samples = long_video_samples(untrained_tiny_model, prompts, full, num_clips=2,
                                 batch_size=2)
    assert [s['caption'] for s in samples] == prompts
    expected_frames = n + (n - m if full['drop_prompt_frames'] else n)
    for sample in samples:
        assert sample['video'].shape == (3, expected_frames, 24, 24)
        assert sum(sample['clip_lengths']) == expected_frames
        assert sample['prompt_frames'] == (0 if full['drop_prompt_frames'] else m)
    # each batch is seeded with seed + its offset: the same batch again gives the same video
    again = long_video_samples(untrained_tiny_model, prompts[2:], full, num_clips=2, seed=2)
    torch.testing.assert_close(again[0]['video'], samples[2]['video'])

    comparison = run_long_video_ablation(untrained_tiny_model, prompts[:2], samplers,
                                         num_clips=2, strip=str(tmp_path / 'strip'),
                                         strip_prompt=1)
    assert list(comparison.scores) == ['vidrd_full', 'independent_clips']
    assert comparison.side_by_side.prompt == prompts[1]
    frames, _ = read_video(comparison.side_by_side.files['mp4'])
    assert frames.shape[0] == expected_frames and frames.shape[2] == 2 * 24 + 2
    assert comparison.scores['vidrd_full']['videos'] == 2
    # the strip: a labelled row per sampler, a column per frame, twice enlarged
    png = np.asarray(Image.open(comparison.side_by_side.files['png']).convert('RGB'))
    assert png.shape[1] == 150 + expected_frames * (2 * 24 + 2)
    assert png.shape[0] == 2 + 2 * (2 * 24 + 2 + 3)
    # compute: the U-Net sees N frames per step and clip, doubled by guidance
    cost = comparison.cost['vidrd_full']
    new_frames = expected_frames
    assert cost['frames_per_video'] == new_frames
    assert cost['unet_frames_per_frame'] == pytest.approx(
        2 * n * 2 * full['num_inference_steps'] / new_frames)
    assert comparison.relative_cost()['vidrd_full'] == 1.0


def test_side_by_side_pads_shorter_videos_with_their_last_frame(tmp_path):
    red = torch.full((3, 4, 8, 8), -1.0)
    red[0] = 1.0
    blue = torch.full((3, 2, 8, 8), -1.0)
    blue[2] = 1.0
    files = write_side_by_side(dict(red=red, blue=blue), str(tmp_path / 'pair'), gap=2)
    frames, _ = read_video(files['mp4'])
    assert frames.shape == (4, 8, 18, 3)
    gif = np.asarray(Image.open(files['gif']).convert('RGB'))
    assert gif.shape == (8, 18, 3)
    assert gif[4, 1, 0] > 200 and gif[4, 1, 2] < 50  # red on the left
    assert gif[4, 9, 0] > 200 and gif[4, 9, 1] > 200  # the white gap
    assert gif[4, 14, 2] > 200 and gif[4, 14, 0] < 50  # blue on the right
    assert frames[-1, 4, 14, 2] > 200  # the 2-frame video holds its last frame


def test_claims_name_what_the_table_supports():
    row = dict(boundary_ratio=1.2, repeated_clips=0, reversed_clips=0, direction_clip0=1.0,
               direction_clip1=0.95, color_clip0=1.0, color_clip1=1.0)
    table = dict(vidrd_full=row, independent_clips=dict(row, boundary_ratio=5.0),
                 no_dsg=dict(row, boundary_ratio=3.0), no_fnr=dict(row, boundary_ratio=1.1))
    claims = paper_claims(table)
    assert claims[0].startswith('Long videos go on smoothly') and ': supported.' in claims[0]
    assert ': supported.' in claims[1]
    dsg = next(c for c in claims if c.startswith('Denoising with Staged Guidance'))
    fnr = next(c for c in claims if c.startswith('Frame-level Noise Reversion'))
    assert 'supported: without it the ratio rises to 3.00' in dsg
    assert 'NOT supported' in fnr
    table['vidrd_full'] = dict(row, boundary_ratio=2.0, repeated_clips=2)
    claims = paper_claims(table)
    assert 'NOT supported' in claims[0] and 'NOT supported' in claims[1]

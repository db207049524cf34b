"""The FreeNoise plugin: noise rescheduling as a long-video strategy, enabled by custom_imports."""
import os.path as osp

import pytest
import torch

from vidrd.apis.run_config import load_config
from vidrd.models.long_video import LongVideoContext, LongVideoStrategy
from vidrd.registry import LONG_VIDEO_STRATEGIES, MODELS

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
                   'plugins', 'vidrd_freenoise', 'configs')


class RecordInitialNoise(LongVideoStrategy):
    """Last in the list: keeps every clip's final initial noise z^i_0."""

    def __init__(self):
        self.noise = []

    def initial_noise(self, ctx, clip_index, noise):
        self.noise.append(noise.clone())
        return noise


def _assert_freenoise_sequence(sequence: torch.Tensor, window: int, stride: int):
    """FreeNoise's rule on a (B, C, T, h, w) sequence: group [W+kS, W+(k+1)S) is a permutation
    of the frames [kS, (k+1)S), hence every frame is a frame of the first window."""
    total = sequence.shape[2]
    for first in range(window, total - stride + 1, stride):
        group = sequence[:, :, first:first + stride]
        source = sequence[:, :, first - window:first - window + stride]
        matches = [[torch.equal(group[:, :, a], source[:, :, b]) for b in range(stride)]
                   for a in range(stride)]
        assert all(sum(row) == 1 for row in matches), f'frames {first}..{first + stride - 1}'
        assert all(sum(col) == 1 for col in zip(*matches)), f'frames {first}..{first + stride - 1}'


def _run_strategy(strategies, num_frames, num_prompt_frames, num_clips, seed=0):
    ctx = LongVideoContext(num_frames=num_frames, num_prompt_frames=num_prompt_frames,
                           num_steps=1, num_clips=num_clips,
                           generator=torch.Generator().manual_seed(seed))
    out = []
    for i in range(num_clips):
        noise = torch.randn(2, 3, num_frames, 2, 2, generator=ctx.generator)
        for strategy in strategies:
            noise = strategy.initial_noise(ctx, i, noise)
        out.append(noise)
        ctx.prev_initial_noise = noise
    return out


def test_alone_each_clip_is_a_groupwise_shuffle_of_clip_0(plugins_on_path):
    from vidrd_freenoise import FreeNoiseRescheduling
    strategy = FreeNoiseRescheduling(window_stride=4)
    strategy.check(8, 0)
    clips = _run_strategy([strategy], num_frames=8, num_prompt_frames=0, num_clips=4)
    _assert_freenoise_sequence(torch.cat(clips, dim=2), window=8, stride=4)
    permuted = False
    for clip in clips[1:]:
        for j in range(8):  # frame j of clip i is a frame of clip 0 in group j // S
            group = range(4 * (j // 4), 4 * (j // 4) + 4)
            assert sum(torch.equal(clip[:, :, j], clips[0][:, :, k]) for k in group) == 1
        permuted |= not torch.equal(clip, clips[0])
    assert permuted, 'the groups were never shuffled'


def test_with_prompt_frames_new_frames_continue_the_sequence(plugins_on_path):
    """M = 2 with FNR: prompt frames are the previous clip's reversed tail, the N - M new frames
    of each clip continue one FreeNoise sequence (window N = 6, stride 4: groups straddle
    clips, and the order of FNR and FreeNoise in the list does not matter)."""
    from vidrd_freenoise import FreeNoiseRescheduling
    fnr = LONG_VIDEO_STRATEGIES.build(dict(type='FrameNoiseReversion'))
    runs = [_run_strategy(order, num_frames=6, num_prompt_frames=2, num_clips=5, seed=3)
            for order in ([fnr, FreeNoiseRescheduling(4)], [FreeNoiseRescheduling(4), fnr])]
    for a, b in zip(*runs):
        assert torch.equal(a, b)
    clips = runs[0]
    for prev, clip in zip(clips, clips[1:]):
        assert torch.equal(clip[:, :, :2], prev[:, :, 4:].flip(2))
    sequence = torch.cat([clips[0]] + [c[:, :, 2:] for c in clips[1:]], dim=2)
    assert sequence.shape[2] == 6 + 4 * 4
    _assert_freenoise_sequence(sequence, window=6, stride=4)


def test_state_is_reset_for_a_new_video_and_memory_stays_flat(plugins_on_path):
    from vidrd_freenoise import FreeNoiseRescheduling
    strategy = FreeNoiseRescheduling(window_stride=2)
    first = _run_strategy([strategy], 4, 1, num_clips=30, seed=1)
    assert strategy._sequence.shape[2] <= 4 + 2
    again = _run_strategy([strategy], 4, 1, num_clips=3, seed=1)
    assert all(torch.equal(a, b) for a, b in zip(first, again))


@pytest.mark.parametrize('kwargs, match', [
    (dict(window_stride=0), 'window_stride must be >= 1'),
    (dict(window_size=9), 'larger than a clip'),
    (dict(window_stride=5, window_size=4), 'larger than the window'),
])
def test_bad_settings_are_refused_when_the_sampler_is_built(plugins_on_path, kwargs, match):
    import vidrd_freenoise  # noqa: F401  (registers the strategy)
    with pytest.raises(ValueError, match=match):
        MODELS.build(dict(type='ReuseAndDiffuseSampler', num_frames=8, num_prompt_frames=0,
                          strategies=[dict(type='FreeNoiseRescheduling', **kwargs)]))


@pytest.mark.parametrize('config, num_prompt_frames', [
    ('freenoise_tiny_shapes.py', 0), ('vidrd_freenoise_tiny_shapes.py', 2)])
def test_tiny_model_generates_three_clips_from_the_plugin_config(plugins_on_path, small_options,
                                                                 config, num_prompt_frames):
    """The plugin's configs (custom_imports, base config by relative path) with a tiny random
    VidRD: ``model.generate`` makes a 3-clip video whose noise has FreeNoise's structure."""
    small_options.update({'model.num_frames': 8, 'model.long_video_sampler.num_frames': 8})
    cfg = load_config(osp.join(CONFIGS, config), small_options)
    assert cfg.custom_imports.imports == ['vidrd_freenoise']
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    sampler = model.sampler
    assert 'FreeNoiseRescheduling' in [type(s).__name__ for s in sampler.strategies]
    assert sampler.num_prompt_frames == num_prompt_frames
    recorder = RecordInitialNoise()
    sampler.strategies.append(recorder)

    video = model.generate(['a red circle moving left'], num_clips=3, seed=0)
    frames_per_clip = 8 - (num_prompt_frames if sampler.drop_prompt_frames else 0)
    assert video.shape == (1, 3, 8 + 2 * frames_per_clip, 16, 16)
    assert torch.isfinite(video).all()
    clips = recorder.noise
    assert len(clips) == 3
    m = num_prompt_frames
    sequence = torch.cat([clips[0]] + [c[:, :, m:] for c in clips[1:]], dim=2)
    _assert_freenoise_sequence(sequence, window=8, stride=4)
    if m:
        for prev, clip in zip(clips, clips[1:]):
            assert torch.equal(clip[:, :, :m], prev[:, :, 8 - m:].flip(2))

"""LongVideoContinuity on synthetic long videos whose paths, and so boundary jumps, are known."""
import numpy as np
import pytest
import torch

from vidrd.datasets.moving_shapes import PALETTE, render_clip
from vidrd.evaluation.metrics.long_video_continuity import (clip_lengths_of, measure_continuity,
                                                             summarize_continuity)
from vidrd.registry import METRICS

SIZE, N = 24, 8


def video_of(xs, y=12.0, color='red', shape='square'):
    """uint8 (T, H, W, 3) of an 8-px shape at x positions ``xs`` (the frame wraps)."""
    centres = np.stack([np.asarray(xs, float), np.full(len(xs), y)], axis=1)
    return render_clip(shape, PALETTE[color], (0, 0, 0), centres, 8, (SIZE, SIZE), wrap=True)


def as_tensor(frames):
    return torch.from_numpy(frames).permute(3, 0, 1, 2).float() / 127.5 - 1


def test_continuous_path_across_the_edge_has_ratio_one():
    xs = 12.0 - np.arange(3 * N)  # 1 px per frame to the left, through the left edge
    result = measure_continuity(video_of(xs), [N] * 3, color='red', direction='left')
    assert result['boundary_jumps'] == pytest.approx([1.0, 1.0])
    assert result['median_step'] == pytest.approx(1.0)
    assert result['clip_directions'] == ['left'] * 3 and all(result['color_correct'])
    assert result['repeats'] == [False, False] and result['backward_steps'] == 0
    assert result['reversals'] == [False, False]
    summary = summarize_continuity([result])
    assert summary['boundary_ratio'] == pytest.approx(1.0)
    assert summary['direction_min_over_clips'] == 1.0 and summary['repeated_clips'] == 0


def test_clips_restarting_from_the_centre_jump_and_repeat():
    xs = np.tile(12.0 - np.arange(N), 3)  # every clip starts again at the centre
    result = measure_continuity(as_tensor(video_of(xs)), [N] * 3, direction='left')
    assert result['boundary_jumps'] == pytest.approx([N - 1.0] * 2)
    assert summarize_continuity([result])['boundary_ratio'] == pytest.approx(N - 1.0)
    assert result['repeats'] == [True, True]
    assert result['backward_steps'] == 2  # the jumps back to the centre
    assert result['direction_correct'] == [True] * 3


def test_ping_pong_reverses():
    out = 12.0 - np.arange(N)
    result = measure_continuity(video_of(np.concatenate([out, out[::-1], out])), [N] * 3,
                                direction='left')
    assert result['clip_directions'] == ['left', 'right', 'left']
    assert result['reversals'] == [True, True] and result['repeats'] == [False, False]
    assert summarize_continuity([result])['reversed_clips'] == 2
    assert result['backward_steps'] == N - 1


def test_frozen_shape_fails_direction():
    result = measure_continuity(video_of([12.0] * (2 * N)), [N, N], color='blue',
                                direction='right')
    assert result['clip_directions'] == ['none', 'none']
    assert result['direction_correct'] == [False, False]
    assert result['color_correct'] == [False, False]  # it is red
    assert result['repeats'] == [True]
    summary = summarize_continuity([result])
    assert summary['direction_clip0'] == 0.0 and summary['color_min_over_clips'] == 0.0


def test_prompt_frames_kept_or_dropped():
    m = 4
    first = 12.0 + np.arange(N)  # moving right
    # kept: the next clip's M prompt frames replay the previous end backwards, then go on
    replay = first[::-1][:m]
    goes_on = np.concatenate([replay, replay[-1] + np.arange(1, N - m + 1)])
    kept = measure_continuity(video_of(np.concatenate([first, goes_on])), [N, N], m,
                              direction='right')
    assert kept['boundary_jumps'] == pytest.approx([1.0])  # largest step up to the new frames
    assert kept['backward_steps'] == m - 1
    # a clip that shows its prompt frames and then starts again from the centre still jumps
    restarts = np.concatenate([replay, 12.0 + np.arange(N - m)])
    jumped = measure_continuity(video_of(np.concatenate([first, restarts])), [N, N], m,
                                direction='right')
    assert jumped['boundary_jumps'] == pytest.approx([replay[-1] - 12.0])
    # dropped: only the new frames of the second clip are shown, and they continue
    dropped_xs = np.concatenate([first, first[-1] + np.arange(1, N - m + 1)])
    lengths = clip_lengths_of(2, N, m, drop_prompt_frames=True)
    assert lengths == [N, N - m]
    dropped = measure_continuity(video_of(dropped_xs), lengths, direction='right')
    assert dropped['boundary_jumps'] == pytest.approx([1.0])
    assert dropped['backward_steps'] == 0 and dropped['repeats'] == [False]
    with pytest.raises(ValueError, match='new frame'):
        measure_continuity(video_of(dropped_xs), lengths, prompt_frames=N - m)


def test_metric_reads_layout_from_samples_or_its_settings():
    xs = 12.0 - np.arange(N + N - 4)
    video = as_tensor(video_of(xs, color='green'))
    metric = METRICS.build(dict(type='LongVideoContinuity', num_frames=N, num_prompt_frames=4,
                                drop_prompt_frames=True))
    metric.process(None, [dict(video=video, caption='a green circle moving left'),
                          dict(video=video, caption='a green circle moving left',
                               clip_lengths=[N, N - 4], prompt_frames=0)])
    scores = metric.compute_metrics(metric.results)
    assert scores['boundary_ratio'] == pytest.approx(1.0)
    assert scores['direction_clip1'] == 1.0 and scores['color_clip1'] == 1.0
    assert scores['videos'] == 2
    with pytest.raises(ValueError, match='whole number of clips'):
        METRICS.build(dict(type='LongVideoContinuity', num_frames=5)).process(
            None, [dict(video=video, caption='a green circle moving left')])
    with pytest.raises(ValueError, match='caption_pattern'):
        metric.process(None, [dict(video=video, caption='something else')])
    with pytest.raises(ValueError, match='do not tile'):
        measure_continuity(video, [N, N])


def test_seams_of_a_video_without_clips_and_the_largest_step():
    """Co-denoising's seams replace the clip boundaries; a jump between seams still shows in
    the largest step over the median step."""
    xs = 12.0 - np.arange(3 * N)
    xs[13:] -= 5  # a jump of 6 px at frame 13, between the seams 12 and 16
    seams = [4, 8, 12, 16, 20]
    result = measure_continuity(video_of(xs), [N] * 3, direction='left', seams=seams)
    assert result['boundary_jumps'] == pytest.approx([1.0] * 5)
    assert result['largest_step_ratio'] == pytest.approx(6.0)
    assert measure_continuity(video_of(xs), [N] * 3)['boundary_jumps'] == pytest.approx([1, 1])
    summary = summarize_continuity([result])
    assert summary['boundary_ratio'] == pytest.approx(1.0)
    assert summary['largest_step_ratio'] == pytest.approx(6.0)
    with pytest.raises(ValueError, match='seams'):
        measure_continuity(video_of(xs), [N] * 3, seams=[0])


def test_shapes_per_frame_count_copies_and_empty_frames():
    one = video_of(12.0 - np.arange(N))
    ghost = video_of(np.full(N, 19.0), y=3.0)  # a second square apart from the first
    frames = one.copy()
    frames[2:4] = np.maximum(one[2:4], ghost[2:4])
    frames[5] = 0  # no shape
    across = video_of(np.full(N, 0.0))  # one square split by the left / right edge
    result = measure_continuity(frames, [N])
    assert result['shapes_per_frame'] == [1, 1, 2, 2, 1, 0, 1, 1]
    assert measure_continuity(across, [N])['shapes_per_frame'] == [1] * N
    summary = summarize_continuity([result])
    assert summary['one_shape_fraction'] == pytest.approx(5 / 8)
    assert summary['frames_with_copies'] == 2 and summary['frames_without_shape'] == 1


def test_a_storyline_scores_every_clip_against_its_own_caption():
    xs = np.concatenate([12.0 - np.arange(N), 12.0 - N + 1 + np.arange(N)])  # left, then right
    video = as_tensor(video_of(xs))
    metric = METRICS.build(dict(type='LongVideoContinuity'))
    metric.process(None, [dict(video=video, clip_lengths=[N, N],
                               captions=['a red square moving left',
                                         'a red square moving right'])])
    scores = metric.compute_metrics(metric.results)
    assert scores['direction_clip0'] == 1.0 and scores['direction_clip1'] == 1.0
    with pytest.raises(ValueError, match='storyline'):
        metric.process(None, [dict(video=video, clip_lengths=[N, N],
                                   captions=['a red square moving left'])])

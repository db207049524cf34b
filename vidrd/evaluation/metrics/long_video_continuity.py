"""Does a long video continue across its clip boundaries? (moving-shapes domain)

The paper's claim for Reuse and Diffuse (VidRD Sec. 3.3) is a long video that goes on smoothly
from clip to clip. On the moving-shapes domain that can be read off the shape's path: its
centroid in every frame (on the torus of the frame, so a shape crossing an edge is followed).

- **Boundary jump ratio**: the centroid displacement across each clip boundary over the median
  displacement between consecutive frames within a clip. 1.0 for a perfectly continuous
  constant-speed video; a clip that starts again from the centre gives the jump back over the
  speed. Where the video shows a clip's prompt frames (the first M frames, which re-render the
  end of the previous clip), the boundary runs from the previous clip's last frame to the
  clip's first new frame, and its jump is the largest step on the way: a clip that shows its
  prompt frames and then starts again still jumps.
- **Per-clip accuracy**: the direction and colour of every clip against its prompt, so that the
  motion goes on the named way in every clip and does not merely freeze (a frozen clip reads
  as direction ``'none'``).
- **Repeated clips**: a clip whose centroid path lies within ``repeat_steps`` median steps of
  the previous clip's, frame for frame (aligned at their ends): the video shows the same clip
  again instead of continuing.
- **Reversals**: boundaries after which a clip moves the opposite way to the clip before (the
  ping-pong of a clip replaying the previous one backwards).
- **Backward steps**: the share of frame-to-frame steps that move against the named direction
  by more than half a median step (prompt frames replayed backwards, jumps back).
- **Largest step ratio**: the largest frame-to-frame step anywhere in a video over its median
  step within clips: a jump the seams do not catch still shows here.
- **Shapes per frame**: blobs of the shape's size on the torus in every frame; the share of
  frames with exactly one, and the frames with none or with copies (ghosting, where windows
  of a co-denoising sampler disagree and their mean shows two faint shapes).

A video's layout is given per sample as ``clip_lengths`` (frames each clip contributes to the
video: all N, or N - M after the first when the repeated prompt frames are dropped) and
``prompt_frames`` (prompt frames shown at the start of each later clip: M, or 0 when dropped),
or by the metric's ``num_frames`` / ``num_prompt_frames`` / ``drop_prompt_frames``. A video
made without clips (co-denoising, FIFO-Diffusion) is read in stretches of N frames
(``clip_lengths``) and its ``seams`` (the frames where windows begin and end) take the place
of the clip boundaries (see ``LongVideoSampler.layout``).
"""
import re
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.evaluator import BaseMetric

from vidrd.registry import METRICS

from .sample_fields import get_field
from vidrd.utils.errors import InvalidValueError

#: Unit motion (x right, y down) of each direction word.
DIRECTION_VECTORS = {'left': (-1.0, 0.0), 'right': (1.0, 0.0), 'up': (0.0, -1.0),
                     'down': (0.0, 1.0)}
OPPOSITE = {'left': 'right', 'right': 'left', 'up': 'down', 'down': 'up'}


def clip_lengths_of(num_clips: int, num_frames: int, num_prompt_frames: int = 0,
                    drop_prompt_frames: bool = False) -> List[int]:
    """Frames each clip contributes to a long video of the Reuse-and-Diffuse sampler."""
    later = num_frames - num_prompt_frames if drop_prompt_frames else num_frames
    return [num_frames] + [later] * (num_clips - 1)


Attribute = Union[None, str, Sequence[Optional[str]]]


def _per_clip(value: Attribute, clips: int, name: str) -> List[Optional[str]]:
    if value is None or isinstance(value, str):
        return [value] * clips
    value = list(value)
    if len(value) != clips:
        raise InvalidValueError(f'{name}: {len(value)} values (a storyline) for {clips} clips')
    return value


def measure_continuity(video, clip_lengths: Sequence[int], prompt_frames: int = 0,
                       color: Attribute = None, direction: Attribute = None,
                       threshold: float = 0.25, min_motion: float = 1.0,
                       repeat_steps: float = 1.0, seams: Optional[Sequence[int]] = None,
                       min_blob_area: int = 4) -> Dict:
    """Path measurements of one long video.

    Args:
        video: (3, T, H, W) tensor in [-1, 1] or (T, H, W, 3) array (see
            ``moving_shapes_attributes.video_to_frames``), T = ``sum(clip_lengths)``.
        clip_lengths: frames of each clip in the video (or of each N-frame stretch of a video
            made without clips), in order.
        prompt_frames: prompt frames shown at the start of every clip after the first (M when
            the video keeps them, 0 when they were dropped).
        color / direction: what the prompt names (for the per-clip accuracy and the backward
            steps), or one per clip (a storyline); None to skip.
        threshold / min_motion: foreground threshold and smallest displacement counted as
            motion (``measure_attributes``).
        repeat_steps: a clip repeats the previous one when the mean distance between their
            aligned centroids is at most this many median within-clip steps.
        seams: frames t whose step t - 1 -> t crosses a seam of the sampler, measured instead
            of the clip boundaries (co-denoising's window edges); None: the clip boundaries.
        min_blob_area: smallest blob, in pixels, counted as a shape.

    Returns:
        dict with ``boundary_jumps`` (px, one per boundary or seam), ``within_steps`` (px),
        ``median_step``, ``largest_step_ratio``, ``clip_directions``, ``clip_colors``,
        ``direction_correct`` / ``color_correct`` (per clip, None without a prompt
        attribute), ``repeats`` and ``reversals`` (per boundary), ``backward_steps`` and
        ``steps`` (counts), ``shapes_per_frame``.
    """
    from vidrd.datasets.moving_shapes_attributes import (
        blob_counts, estimate_background, foreground_masks, measure_color, measure_direction,
        shape_centroids, video_to_frames, wrapped_difference)
    frames = video_to_frames(video)
    clip_lengths = [int(n) for n in clip_lengths]
    if sum(clip_lengths) != len(frames) or min(clip_lengths) < 1:
        raise InvalidValueError(
            f'clip_lengths {clip_lengths} (sum {sum(clip_lengths)}) do not tile '
            f'the video\'s {len(frames)} frames')
    if not 0 <= prompt_frames < min(clip_lengths[1:], default=prompt_frames + 1):
        raise InvalidValueError(
            f'prompt_frames={prompt_frames} must leave a new frame in every clip '
            f'after the first (clip_lengths {clip_lengths})')
    if seams is not None and not all(0 < int(t) < len(frames) for t in seams):
        raise InvalidValueError(f'seams {list(seams)} must be frames in (0, {len(frames)})')
    colors = _per_clip(color, len(clip_lengths), 'color')
    directions = _per_clip(direction, len(clip_lengths), 'direction')
    background = estimate_background(frames)
    masks = foreground_masks(frames, background, threshold=threshold)
    height, width = masks.shape[1:]
    centres = shape_centroids(masks)
    steps = np.stack([wrapped_difference(np.diff(centres[:, 0]), width),
                      wrapped_difference(np.diff(centres[:, 1]), height)], axis=1)  # (T-1, 2)
    distances = np.linalg.norm(steps, axis=1)
    starts = np.cumsum([0] + clip_lengths)
    # step t: frame t -> t + 1; a boundary runs from the last frame before a clip to its
    # first new frame
    if seams is None:
        transitions = [list(range(b - 1, b + prompt_frames)) for b in starts[1:-1]]
    else:
        transitions = [[int(t) - 1] for t in sorted(seams)]
    crossing = {t for window in transitions for t in window}
    within = [d for t, d in enumerate(distances) if t not in crossing and not np.isnan(d)]
    median_step = float(np.median(within)) if within else float('nan')
    jumps = []
    for window in transitions:
        found = distances[window][~np.isnan(distances[window])]
        jumps.append(float(found.max()) if len(found) else float('nan'))

    clips = [slice(a, b) for a, b in zip(starts[:-1], starts[1:])]
    clip_directions = [measure_direction(frames[c], min_motion, masks[c]) for c in clips]
    clip_colors = [measure_color(frames[c], masks=masks[c]) for c in clips]
    repeats = []
    for previous, current in zip(clips[:-1], clips[1:]):
        length = min(previous.stop - previous.start, current.stop - current.start)
        gap = np.stack([wrapped_difference(centres[current][-length:, 0] -
                                           centres[previous][-length:, 0], width),
                        wrapped_difference(centres[current][-length:, 1] -
                                           centres[previous][-length:, 1], height)], axis=1)
        gap = np.linalg.norm(gap, axis=1)
        gap = gap[~np.isnan(gap)]
        repeats.append(bool(len(gap)) and float(gap.mean()) <= repeat_steps * median_step)

    # step t (frame t -> t + 1) is judged by the direction named for the clip of frame t + 1
    backward = 0
    for clip, named in zip(clips, directions):
        if named in DIRECTION_VECTORS:
            along = steps[max(clip.start - 1, 0):clip.stop - 1] @ np.asarray(
                DIRECTION_VECTORS[named])
            backward += int(np.sum(along[~np.isnan(along)] < -0.5 * median_step))
    found = distances[~np.isnan(distances)]
    largest = float(found.max()) / median_step if len(found) and median_step > 0 else float('nan')
    return dict(
        boundary_jumps=jumps,
        within_steps=[float(d) for d in within], median_step=median_step,
        largest_step_ratio=largest,
        clip_directions=clip_directions, clip_colors=clip_colors,
        direction_correct=None if direction is None else [
            d == named for d, named in zip(clip_directions, directions)],
        color_correct=None if color is None else [
            c == named for c, named in zip(clip_colors, colors)],
        repeats=repeats,
        reversals=[OPPOSITE.get(a) == b for a, b in zip(clip_directions, clip_directions[1:])],
        backward_steps=backward, steps=int(np.sum(~np.isnan(distances))),
        shapes_per_frame=blob_counts(frames, background, threshold, min_blob_area).tolist())


def summarize_continuity(results: Sequence[Dict]) -> Dict[str, float]:
    """Pool :func:`measure_continuity` results of several videos into the metric's figures."""
    jumps = [j for r in results for j in r['boundary_jumps'] if not np.isnan(j)]
    within = [s for r in results for s in r['within_steps']]
    median_step = float(np.median(within)) if within else float('nan')
    summary = dict(
        boundary_ratio=float(np.mean(jumps)) / median_step if jumps and median_step > 0
        else float('nan'),
        boundary_jump_px=float(np.mean(jumps)) if jumps else float('nan'),
        within_step_px=median_step,
        repeated_clips=int(sum(sum(r['repeats']) for r in results)),
        reversed_clips=int(sum(sum(r['reversals']) for r in results)),
        backward_step_fraction=sum(r['backward_steps'] for r in results) /
        max(1, sum(r['steps'] for r in results)),
        videos=len(results))
    largest = [r['largest_step_ratio'] for r in results
               if not np.isnan(r.get('largest_step_ratio', float('nan')))]
    if largest:
        summary.update(largest_step_ratio=float(np.mean(largest)),
                       largest_step_ratio_max=float(np.max(largest)))
    shapes = [n for r in results for n in r.get('shapes_per_frame', ())]
    if shapes:
        shapes = np.asarray(shapes)
        summary.update(one_shape_fraction=float(np.mean(shapes == 1)),
                       frames_without_shape=int(np.sum(shapes == 0)),
                       frames_with_copies=int(np.sum(shapes > 1)))
    for key, name in (('direction_correct', 'direction'), ('color_correct', 'color')):
        per_clip = [r[key] for r in results if r[key] is not None]
        if not per_clip:
            continue
        clips = max(len(c) for c in per_clip)
        accuracy = [float(np.mean([c[i] for c in per_clip if i < len(c)])) for i in range(clips)]
        summary.update({f'{name}_clip{i}': a for i, a in enumerate(accuracy)})
        summary[f'{name}_min_over_clips'] = min(accuracy)
    return summary


@METRICS.register_module()
class LongVideoContinuity(BaseMetric):
    """Continuity of generated long moving-shapes videos: boundary jump ratio, per-clip
    direction / colour accuracy, repeated clips (see the module docstring).

    Each data sample has ``video`` ((3, T, H, W) in [-1, 1]), ``caption`` (or ``captions``,
    one per clip: a storyline, each clip scored against its own) and optionally
    ``clip_lengths``, ``prompt_frames`` and ``seams`` (a ``VideoLayout`` of the sampler);
    without them, the layout comes from ``num_frames`` (N), ``num_prompt_frames`` (M) and
    ``drop_prompt_frames``, and T must be a whole number of clips.

    Args:
        num_frames / num_prompt_frames / drop_prompt_frames: the sampler's N, M and whether it
            dropped the repeated prompt frames, for samples without ``clip_lengths``.
        caption_pattern: regex with named groups ``color`` and ``direction``.
        threshold / min_motion / repeat_steps / min_blob_area: see
            :func:`measure_continuity`.
    """
    default_prefix = 'long_video'

    def __init__(self, num_frames: Optional[int] = None, num_prompt_frames: int = 0,
                 drop_prompt_frames: bool = False,
                 caption_pattern: str = r'^a (?P<color>\w+) \w+ moving (?P<direction>\w+)$',
                 threshold: float = 0.25, min_motion: float = 1.0, repeat_steps: float = 1.0,
                 min_blob_area: int = 4, collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.num_frames, self.num_prompt_frames = num_frames, num_prompt_frames
        self.drop_prompt_frames = drop_prompt_frames
        self.pattern = re.compile(caption_pattern)
        self.kwargs = dict(threshold=threshold, min_motion=min_motion, repeat_steps=repeat_steps,
                           min_blob_area=min_blob_area)

    def _layout(self, sample, total: int):
        """(clip_lengths, prompt frames shown) of a sample's video."""
        lengths = get_field(sample, 'clip_lengths')
        if lengths is not None:
            return list(lengths), int(get_field(sample, 'prompt_frames', 0))
        if self.num_frames is None:
            raise InvalidValueError(
                'LongVideoContinuity: a data sample has no clip_lengths; give the '
                'metric num_frames (and num_prompt_frames, drop_prompt_frames)')
        n, m = self.num_frames, self.num_prompt_frames
        later = n - m if self.drop_prompt_frames else n
        if total < n or (total - n) % later:
            raise InvalidValueError(
                f'LongVideoContinuity: a {total}-frame video is not a whole number '
                f'of clips of N={n} (M={m}, drop_prompt_frames='
                f'{self.drop_prompt_frames})')
        return (clip_lengths_of(1 + (total - n) // later, n, m, self.drop_prompt_frames),
                0 if self.drop_prompt_frames else m)

    def process(self, data_batch, data_samples: Sequence) -> None:
        from vidrd.datasets.moving_shapes_attributes import video_to_frames
        for sample in data_samples:
            video = get_field(sample, 'video')
            lengths, prompt_frames = self._layout(sample, len(video_to_frames(video)))
            captions = get_field(sample, 'captions')
            if captions is None or get_field(sample, 'caption'):
                captions = [get_field(sample, 'caption')] * len(lengths)
            elif len(captions) != len(lengths):
                raise InvalidValueError(
                    f'LongVideoContinuity: {len(captions)} captions (a storyline) '
                    f'for a video of {len(lengths)} clips')
            matches = [self._match(caption) for caption in captions]
            self.results.append(measure_continuity(
                video, lengths, prompt_frames, color=[m.group('color') for m in matches],
                direction=[m.group('direction') for m in matches],
                seams=get_field(sample, 'seams'), **self.kwargs))

    def _match(self, caption: Optional[str]):
        match = self.pattern.match(caption or '')
        if match is None:
            raise InvalidValueError(f'LongVideoContinuity: caption {caption!r} does not match '
                                    f'caption_pattern {self.pattern.pattern!r}')
        return match

    def compute_metrics(self, results: List[Dict]) -> Dict[str, float]:
        return summarize_continuity(results)

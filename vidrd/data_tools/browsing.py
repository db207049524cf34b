"""Look at the data before training on it: samples of a config's dataset after its pipeline,
tiled into one grid video (GIF / MP4) with each clip's caption under it, as MMDetection /
MMagic's ``browse_dataset`` do for images."""
import math
import os
import os.path as osp
import textwrap
from typing import List, Optional, Sequence, Tuple

import numpy as np

from vidrd.datasets.transforms.resize import resize_frames
from vidrd.datasets.video_io import hold_last_frame, video_tensor_to_uint8, write_video
from vidrd.registry import DATASETS
from .appendable_files import write_text_atomic
from vidrd.utils.errors import DataError, InvalidValueError

#: pixels per character and per line of PIL's default bitmap font, with some room
CHAR_WIDTH, LINE_HEIGHT = 6, 12


def sample_clips(dataset_cfg, num: int = 16, shuffle: bool = False, seed: int = 0
                 ) -> Tuple[List[np.ndarray], List[str], List[str]]:
    """Packed samples of a dataset, as frames.

    Args:
        dataset_cfg (dict | Dataset): a dataset config, or a built dataset.
        num (int): samples wanted (fewer when the dataset is smaller). Defaults to 16.
        shuffle (bool): random samples, else the first ones. Defaults to False.
        seed (int): the seed of ``shuffle``. Defaults to 0.

    Returns:
        Tuple[List[np.ndarray], List[str], List[str]]: the clips, uint8 (F, H, W, 3); their
        captions; and where each comes from (``'dataset 1, sample 7'`` for a mix, else
        ``'sample 7'``).

    Raises:
        InvalidValueError: ``num`` < 1.
        DataError: the dataset is empty.
    """
    dataset = DATASETS.build(dict(dataset_cfg)) if isinstance(dataset_cfg, dict) else dataset_cfg
    if num < 1:
        raise InvalidValueError(f'num must be >= 1, got {num}', parameter='num')
    count = min(num, len(dataset))
    if count == 0:
        raise DataError('the dataset is empty: nothing to browse')
    indices = (np.random.default_rng(seed).choice(len(dataset), count, replace=False)
               if shuffle else np.arange(count))
    clips, captions, sources = [], [], []
    for index in indices.tolist():
        data = dataset[index]
        clips.append(video_tensor_to_uint8(data['inputs']))  # inputs: (3, F, H, W) in [-1, 1]
        captions.append(str(getattr(data['data_samples'], 'caption', '')))
        if hasattr(dataset, 'get_source'):
            source = 'dataset {}, sample {}'.format(*dataset.get_source(index))
        else:
            source = f'sample {index}'
        sources.append(source)
    return clips, captions, sources


def _caption_strip(caption: str, width: int, lines: int) -> np.ndarray:
    from PIL import Image, ImageDraw
    strip = Image.new('RGB', (width, lines * LINE_HEIGHT + 4), (0, 0, 0))
    wrapped = textwrap.wrap(caption, max(1, width // CHAR_WIDTH))[:lines] or ['']
    ImageDraw.Draw(strip).multiline_text((2, 2), '\n'.join(wrapped), fill=(255, 255, 255),
                                         spacing=0)
    return np.asarray(strip)


def grid_video(clips: Sequence[np.ndarray], captions: Sequence[str], cell_size: int = 128,
               ncols: Optional[int] = None, caption_lines: int = 3, gap: int = 2) -> np.ndarray:
    """Clips in a grid, each with its caption under it.

    Args:
        clips (Sequence[np.ndarray]): uint8 (F, H, W, 3) each; each is resized to fit a
            ``cell_size`` square (padded); clips shorter than the longest hold their last frame.
        captions (Sequence[str]): one per clip.
        cell_size (int): a cell's side in pixels. Defaults to 128.
        ncols (int, optional): columns. Defaults to None (a near-square grid).
        caption_lines (int): lines of caption text under a cell. Defaults to 3.
        gap (int): pixels between cells. Defaults to 2.

    Returns:
        np.ndarray: uint8 (F, H, W, 3), F the longest clip's length.
    """
    ncols = ncols or math.ceil(math.sqrt(len(clips)))
    nrows = math.ceil(len(clips) / ncols)
    num_frames = max(len(clip) for clip in clips)
    strip_height = caption_lines * LINE_HEIGHT + 4
    cell_h, cell_w = cell_size + strip_height, cell_size
    grid = np.full((num_frames, nrows * (cell_h + gap) - gap, ncols * (cell_w + gap) - gap, 3),
                   32, np.uint8)
    for k, (clip, caption) in enumerate(zip(clips, captions)):
        height, width = clip.shape[1:3]
        scale = cell_size / max(height, width)
        size = (max(1, round(height * scale)), max(1, round(width * scale)))
        clip = resize_frames(clip, size)
        clip = hold_last_frame(clip, num_frames)
        top, left = (k // ncols) * (cell_h + gap), (k % ncols) * (cell_w + gap)
        y, x = top + (cell_size - size[0]) // 2, left + (cell_size - size[1]) // 2
        grid[:, y:y + size[0], x:x + size[1]] = clip
        grid[:, top + cell_size:top + cell_h, left:left + cell_w] = _caption_strip(
            caption, cell_w, caption_lines)
    return grid


def browse_dataset(dataset_cfg, out_dir: str, num: int = 16, formats=('gif', 'mp4'),
                   fps: float = 4, cell_size: int = 128, shuffle: bool = False,
                   seed: int = 0) -> List[str]:
    """Write ``out_dir/samples.{gif,mp4}`` (the grid) and ``out_dir/captions.txt``.

    Args:
        dataset_cfg (dict | Dataset): a dataset config, or a built dataset.
        out_dir (str): the folder written to.
        num (int): samples shown. Defaults to 16.
        formats (Sequence[str]): video formats written. Defaults to ``('gif', 'mp4')``.
        fps (float): the grid video's frame rate. Defaults to 4.
        cell_size (int): a cell's side in pixels. Defaults to 128.
        shuffle (bool): random samples, else the first ones. Defaults to False.
        seed (int): the seed of ``shuffle``. Defaults to 0.

    Returns:
        List[str]: the files written.
    """
    clips, captions, sources = sample_clips(dataset_cfg, num, shuffle, seed)
    grid = grid_video(clips, captions, cell_size)
    os.makedirs(out_dir, exist_ok=True)
    written = [write_video(osp.join(out_dir, f'samples.{ext}'), grid, fps=fps)
               for ext in formats]
    lines = [f'{k}\t{source}\t{caption}'
             for k, (source, caption) in enumerate(zip(sources, captions))]
    written.append(write_text_atomic(osp.join(out_dir, 'captions.txt'), '\n'.join(lines) + '\n'))
    return written

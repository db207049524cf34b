"""Pack a pipeline's results into what mmengine's models take: ``inputs`` + ``data_samples``."""
from typing import Sequence

import numpy as np
import torch

from vidrd.registry import TRANSFORMS
from ..video_data_sample import VideoDataSample

DEFAULT_META_KEYS = (
    'sample_idx', 'video_path', 'img_path', 'video_id', 'fps', 'source_fps', 'frame_inds',
    'start', 'end', 'ori_shape', 'img_shape', 'flip', 'crop_box', 'zoom_pan_boxes', 'class_name',
    'color', 'shape', 'direction', 'split')


@TRANSFORMS.register_module()
class PackVideoInputs:
    """``results`` -> ``dict(inputs=Tensor (3, F, H, W) float32 in [-1, 1],
    data_samples=VideoDataSample)``.

    The frames must be normalised first (``NormalizeVideo``). The data sample gets ``caption``,
    ``class_label`` (when the results have ``class_label``), ``gt_video`` (a view of ``inputs``;
    only with ``with_gt_video=True``, for metrics that read real videos from the data samples) and
    the ``meta_keys`` present in the results as metainfo.
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS, with_gt_video: bool = False):
        self.meta_keys = tuple(meta_keys)
        self.with_gt_video = with_gt_video

    def __call__(self, results: dict) -> dict:
        frames = results['frames']
        if frames.dtype == np.uint8:
            raise TypeError('PackVideoInputs got uint8 frames: put NormalizeVideo before it so '
                            'inputs are float in [-1, 1]')
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f'expected frames of shape (F, H, W, 3), got {frames.shape}')
        if 'caption' not in results:
            raise KeyError('PackVideoInputs: the results have no "caption"; the dataset must '
                           'give each sample a caption')
        # (F, H, W, 3) -> (3, F, H, W): channels first, frames as the depth axis of the 3D U-Net.
        inputs = torch.from_numpy(np.ascontiguousarray(frames, dtype=np.float32))
        inputs = inputs.permute(3, 0, 1, 2).contiguous()
        metainfo = {key: results[key] for key in self.meta_keys if key in results}
        sample = VideoDataSample(metainfo=metainfo)
        sample.caption = str(results['caption'])
        if results.get('class_label') is not None:
            sample.class_label = int(results['class_label'])
        if self.with_gt_video:
            sample.gt_video = inputs
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(meta_keys={self.meta_keys}, '
                f'with_gt_video={self.with_gt_video})')

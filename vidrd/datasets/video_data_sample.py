"""The data sample that travels with a video through the pipeline, the model and the metrics."""
from typing import Optional, Union

import torch
from mmengine.structures import BaseDataElement


class VideoDataSample(BaseDataElement):
    """One video-text sample (mmengine ``BaseDataElement``).

    Data fields:
        caption (str): the text prompt.
        video (Tensor): a generated video, (3, F, H, W) in [-1, 1].
        gt_video (Tensor): the real video, (3, F, H, W) in [-1, 1] (packed only on request;
            training reads it from ``inputs``).
        class_label (int): class index for action-recognition data (UCF-101, Kinetics), used by
            class-conditional evaluation.

    Metainfo (read-only once set): ``video_path`` or ``img_path``, ``fps``, ``frame_inds``,
    ``ori_shape``, ``img_shape``, ``flip``, ``skipped_samples`` (unreadable samples the dataset
    skipped before producing this one), dataset-specific attributes (``color``, ``shape``, ...).

    Batching: mmengine's ``default_collate`` stacks ``inputs`` into (B, 3, F, H, W) and keeps the
    data samples as a list (use it when all clips share one size, as the configs do);
    ``pseudo_collate`` keeps both as lists.

    Example:
        >>> sample = VideoDataSample(caption='a red circle moving left',
        ...                          metainfo=dict(fps=8))
        >>> sample.caption
        'a red circle moving left'
    """

    @property
    def caption(self) -> str:
        return self._caption

    @caption.setter
    def caption(self, value: str) -> None:
        self.set_field(value, '_caption', dtype=str)

    @caption.deleter
    def caption(self) -> None:
        del self._caption

    @property
    def video(self) -> torch.Tensor:
        return self._video

    @video.setter
    def video(self, value: torch.Tensor) -> None:
        _check_video(value, 'video')
        self.set_field(value, '_video', dtype=torch.Tensor)

    @video.deleter
    def video(self) -> None:
        del self._video

    @property
    def gt_video(self) -> torch.Tensor:
        return self._gt_video

    @gt_video.setter
    def gt_video(self, value: torch.Tensor) -> None:
        _check_video(value, 'gt_video')
        self.set_field(value, '_gt_video', dtype=torch.Tensor)

    @gt_video.deleter
    def gt_video(self) -> None:
        del self._gt_video

    @property
    def class_label(self) -> int:
        return self._class_label

    @class_label.setter
    def class_label(self, value: Union[int, torch.Tensor]) -> None:
        if isinstance(value, torch.Tensor):
            value = int(value.item())
        self.set_field(int(value), '_class_label', dtype=int)

    @class_label.deleter
    def class_label(self) -> None:
        del self._class_label


def _check_video(value, name: str) -> Optional[torch.Tensor]:
    if isinstance(value, torch.Tensor) and value.dim() != 4:
        raise ValueError(f'{name} must be a (3, F, H, W) tensor, got shape {tuple(value.shape)}')
    return value

"""Reconstruction quality of videos: PSNR, SSIM and a temporal-consistency error.

Used to validate the temporal VAE decoder (paper Sec. 3.4): PSNR / SSIM measure each frame,
``temporal_diff_l1`` measures whether the reconstruction changes from frame to frame the way
the real video does (flicker raises it; a perfect reconstruction scores 0).
All values are computed on frames mapped to [0, 1] and clamped (data range 1).
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric

from vidrd.registry import METRICS
from vidrd.utils.errors import InvalidValueError

# PSNR of identical frames is infinite; report this cap instead (MSE floored at 1e-10)
MAX_PSNR = 100.0
METRIC_NAMES = ('PSNR', 'SSIM', 'temporal_diff_l1')


def frame_psnr(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """PSNR of each frame, 10 log10(1 / MSE). (C, F, H, W) in [0, 1] -> (F,)."""
    mse = ((pred.double() - gt.double()) ** 2).mean(dim=(0, 2, 3))
    return (10.0 * torch.log10(1.0 / mse.clamp_min(10 ** (-MAX_PSNR / 10)))).float()


def _gaussian_window(size: int, sigma: float, device, dtype) -> torch.Tensor:
    x = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-x ** 2 / (2 * sigma ** 2))
    return g / g.sum()


def frame_ssim(pred: torch.Tensor, gt: torch.Tensor, window_size: int = 11,
               sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03) -> torch.Tensor:
    """SSIM of each frame (Wang et al. 2004): Gaussian window 11 / sigma 1.5, statistics over
    valid positions only, per channel, averaged over channels and positions.
    (C, F, H, W) in [0, 1] -> (F,). Frames smaller than the window use the largest odd window
    that fits."""
    c, f, h, w = pred.shape
    size = min(window_size, h, w)
    size -= 1 - size % 2
    x = pred.double().transpose(0, 1)  # (F, C, H, W)
    y = gt.double().transpose(0, 1)
    g = _gaussian_window(size, sigma, x.device, x.dtype)
    kernel_h = g.view(1, 1, size, 1).expand(c, 1, size, 1)
    kernel_w = g.view(1, 1, 1, size).expand(c, 1, 1, size)

    def blur(t: torch.Tensor) -> torch.Tensor:  # separable Gaussian, valid positions
        return F.conv2d(F.conv2d(t, kernel_h, groups=c), kernel_w, groups=c)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x ** 2
    var_y = blur(y * y) - mu_y ** 2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = k1 ** 2, k2 ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)
                / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2)))
    return ssim_map.mean(dim=(1, 2, 3)).float()


def temporal_diff_l1(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Mean |(p_{t+1} - p_t) - (g_{t+1} - g_t)| over t and pixels. (C, F, H, W), F >= 2."""
    if pred.shape[1] < 2:
        raise ValueError('temporal_diff_l1 needs at least 2 frames')
    return ((pred[:, 1:] - pred[:, :-1]) - (gt[:, 1:] - gt[:, :-1])).abs().mean()


def _field(sample, key: str):
    if isinstance(sample, dict):
        return sample.get(key)
    return getattr(sample, key, None)


@METRICS.register_module()
class VideoReconstructionMetric(BaseMetric):
    """PSNR, SSIM (per frame, averaged over frames, then videos) and ``temporal_diff_l1``
    (per video, averaged over videos with >= 2 frames) of reconstructed videos.

    Reads, from each output data element (or dict) of ``val_step`` / ``test_step``, the
    reconstruction ``pred_key`` and the real video ``gt_key``, both (3, F, H, W) in
    ``value_range``; when a sample has no ``gt_key``, ``data_batch['inputs'][i]`` is used.
    Per-video numbers are gathered across processes by mmengine (``collect_device``).

    Args:
        metrics: any of 'PSNR', 'SSIM', 'temporal_diff_l1'.
        value_range: range of the videos (default [-1, 1]); mapped to [0, 1] and clamped.
    """
    default_prefix: Optional[str] = 'recon'

    def __init__(self, metrics: Sequence[str] = METRIC_NAMES, pred_key: str = 'video',
                 gt_key: str = 'gt_video', value_range: Tuple[float, float] = (-1.0, 1.0),
                 collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        unknown = [m for m in metrics if m not in METRIC_NAMES]
        if unknown or not metrics:
            raise InvalidValueError(f'unknown metrics {unknown}; choose from {METRIC_NAMES}')
        self.metrics = tuple(metrics)
        self.pred_key, self.gt_key = pred_key, gt_key
        self.value_range = (float(value_range[0]), float(value_range[1]))

    def _unit(self, video: torch.Tensor, what: str) -> torch.Tensor:
        if not isinstance(video, torch.Tensor) or video.dim() != 4:
            shape = tuple(video.shape) if isinstance(video, torch.Tensor) else type(video)
            raise ValueError(f'{what}: expected a video (C, F, H, W), got {shape}')
        low, high = self.value_range
        return ((video.detach().float().cpu() - low) / (high - low)).clamp(0.0, 1.0)

    def process(self, data_batch, data_samples: Sequence) -> None:
        inputs = data_batch.get('inputs') if isinstance(data_batch, dict) else None
        if isinstance(inputs, dict):
            inputs = inputs.get('video')
        for i, sample in enumerate(data_samples):
            pred = _field(sample, self.pred_key)
            gt = _field(sample, self.gt_key)
            if gt is None and inputs is not None:
                gt = inputs[i]
            if pred is None or gt is None:
                raise KeyError(f'VideoReconstructionMetric: sample {i} lacks '
                               f'{self.pred_key!r} or {self.gt_key!r} (and no data_batch inputs)')
            pred, gt = self._unit(pred, self.pred_key), self._unit(gt, self.gt_key)
            if pred.shape != gt.shape:
                raise ValueError(f'reconstruction {tuple(pred.shape)} and real video '
                                 f'{tuple(gt.shape)} differ in shape')
            result: Dict[str, float] = {}
            if 'PSNR' in self.metrics:
                result['PSNR'] = frame_psnr(pred, gt).mean().item()
            if 'SSIM' in self.metrics:
                result['SSIM'] = frame_ssim(pred, gt).mean().item()
            if 'temporal_diff_l1' in self.metrics and pred.shape[1] >= 2:
                result['temporal_diff_l1'] = temporal_diff_l1(pred, gt).item()
            self.results.append(result)

    def compute_metrics(self, results: List[Dict[str, float]]) -> Dict[str, float]:
        out = {}
        for name in self.metrics:
            values = [r[name] for r in results if name in r]
            if values:
                out[name] = float(sum(values) / len(values))
        return out

"""PSNR / SSIM / temporal consistency of reconstructed videos, and the mmengine metric."""
import numpy as np
import pytest
import torch
from mmengine.structures import BaseDataElement
from scipy.ndimage import gaussian_filter

from vidrd.evaluation.metrics.reconstruction import (MAX_PSNR, VideoReconstructionMetric,
                                                     frame_psnr, frame_ssim, temporal_diff_l1)


def reference_ssim(x: np.ndarray, y: np.ndarray) -> float:
    """SSIM of one (C, H, W) image pair in [0, 1] with scipy's Gaussian filter (truncate 3.5:
    an 11-tap window for sigma 1.5), cropping the 5-pixel border like scikit-image."""
    values = []
    for a, b in zip(x.astype(np.float64), y.astype(np.float64)):
        def blur(t):
            return gaussian_filter(t, sigma=1.5, truncate=3.5)[5:-5, 5:-5]
        mu_a, mu_b = blur(a), blur(b)
        va, vb = blur(a * a) - mu_a ** 2, blur(b * b) - mu_b ** 2
        cov = blur(a * b) - mu_a * mu_b
        c1, c2 = 0.01 ** 2, 0.03 ** 2
        s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)
             / ((mu_a ** 2 + mu_b ** 2 + c1) * (va + vb + c2)))
        values.append(s.mean())
    return float(np.mean(values))


def test_psnr_of_a_known_error():
    gt = torch.rand(3, 2, 16, 16) * 0.5
    assert torch.allclose(frame_psnr(gt + 0.1, gt), torch.full((2,), 20.0), atol=1e-4)
    assert torch.equal(frame_psnr(gt, gt), torch.full((2,), MAX_PSNR))


def test_ssim_matches_scipy_reference():
    gen = torch.Generator().manual_seed(0)
    gt = torch.rand(3, 2, 24, 20, generator=gen)
    pred = (gt + 0.1 * torch.randn(3, 2, 24, 20, generator=gen)).clamp(0, 1)
    got = frame_ssim(pred, gt)
    for f in range(2):
        expected = reference_ssim(pred[:, f].numpy(), gt[:, f].numpy())
        assert got[f].item() == pytest.approx(expected, abs=1e-5)
    assert torch.allclose(frame_ssim(gt, gt), torch.ones(2))


def test_temporal_diff_l1_sees_flicker_not_a_constant_offset():
    gt = torch.rand(3, 4, 8, 8) * 0.5
    assert temporal_diff_l1(gt + 0.2, gt).item() == pytest.approx(0.0, abs=1e-6)
    flicker = gt.clone()
    flicker[:, 1::2] += 0.1  # every other frame brighter: each difference off by 0.1
    assert temporal_diff_l1(flicker, gt).item() == pytest.approx(0.1, abs=1e-5)
    with pytest.raises(ValueError, match='2 frames'):
        temporal_diff_l1(gt[:, :1], gt[:, :1])


def test_metric_over_batches_in_minus_one_one():
    metric = VideoReconstructionMetric()
    gt = torch.rand(2, 3, 4, 16, 16) - 0.5        # [-0.5, 0.5] -> [0.25, 0.75]
    samples = [BaseDataElement(video=gt[0] + 0.2, gt_video=gt[0]),  # 0.1 off in [0, 1]
               dict(video=gt[1])]                  # gt from data_batch['inputs']
    metric.process(dict(inputs=gt), samples)
    one_frame = gt[0][:, :1]
    metric.process(dict(inputs=gt[:1]), [BaseDataElement(video=one_frame + 0.2,
                                                         gt_video=one_frame)])
    results = metric.evaluate(size=3)
    assert results['recon/PSNR'] == pytest.approx((20.0 + MAX_PSNR + 20.0) / 3, abs=1e-3)
    # single-frame videos do not count for the temporal error
    assert results['recon/temporal_diff_l1'] == pytest.approx(0.0, abs=1e-6)
    assert 0.0 < results['recon/SSIM'] <= 1.0


def test_metric_errors_and_selection():
    with pytest.raises(ValueError, match='FVD'):
        VideoReconstructionMetric(metrics=('FVD',))
    metric = VideoReconstructionMetric(metrics=('PSNR',), prefix='vae')
    with pytest.raises(KeyError, match='gt_video'):
        metric.process({}, [BaseDataElement(video=torch.zeros(3, 2, 8, 8))])
    metric.process({}, [dict(video=torch.zeros(3, 2, 8, 8), gt_video=torch.zeros(3, 2, 8, 8))])
    assert metric.evaluate(1) == {'vae/PSNR': MAX_PSNR}

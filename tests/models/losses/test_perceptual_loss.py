"""LPIPSLoss: the LPIPS(VGG-16) formula, loading from local files only, clear errors."""
import pytest
import torch
import torch.nn.functional as F

from vidrd.models.losses import LPIPSLoss
from vidrd.models.losses.perceptual_loss import _vgg16_features
from vidrd.utils.checkpoint import CheckpointMismatchError, WeightsNotFoundError

CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
POOL_AFTER = (2, 7, 14, 21)     # a 2x2 max-pool follows the ReLU of these convs
TAP_AFTER = (2, 7, 14, 21, 28)  # LPIPS reads relu1_2, relu2_2, relu3_3, relu4_3, relu5_3


@pytest.fixture(scope='module')
def lpips_files(tmp_path_factory):
    """Random (untrained) weights in the two published layouts."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp('lpips')
    vgg = {f'features.{k}': v for k, v in _vgg16_features().state_dict().items()}
    vgg['classifier.0.weight'] = torch.zeros(2, 2)  # torchvision's file has a classifier
    lins = {f'lin{i}.model.1.weight': torch.rand(1, c, 1, 1)
            for i, c in enumerate((64, 128, 256, 512, 512))}
    torch.save(vgg, folder / 'vgg16.pth')
    torch.save(lins, folder / 'vgg.pth')
    return str(folder / 'vgg.pth'), str(folder / 'vgg16.pth'), vgg, lins


@pytest.fixture(scope='module')
def lpips(lpips_files):
    lin_path, vgg_path, _, _ = lpips_files
    return LPIPSLoss(lin_path, vgg_path, reduction='none')


def reference_lpips(x, y, vgg, lins):
    """LPIPS written out layer by layer from the weights."""
    shift = torch.tensor([-.030, -.088, -.188]).view(1, 3, 1, 1)
    scale = torch.tensor([.458, .448, .450]).view(1, 3, 1, 1)
    hx, hy = (x - shift) / scale, (y - shift) / scale
    total, tap = 0.0, 0
    for idx in CONV_INDICES:
        w, b = vgg[f'features.{idx}.weight'], vgg[f'features.{idx}.bias']
        hx, hy = F.relu(F.conv2d(hx, w, b, padding=1)), F.relu(F.conv2d(hy, w, b, padding=1))
        if idx in TAP_AFTER:
            nx = hx / (hx.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            ny = hy / (hy.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            total = total + F.conv2d((nx - ny) ** 2, lins[f'lin{tap}.model.1.weight']).mean(
                dim=(1, 2, 3))
            tap += 1
        if idx in POOL_AFTER:
            hx, hy = F.max_pool2d(hx, 2), F.max_pool2d(hy, 2)
    return total


def test_lpips_matches_the_formula(lpips_files, lpips):
    _, _, vgg, lins = lpips_files
    loss = lpips
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(2, 3, 16, 16, generator=gen) * 2 - 1
    y = torch.rand(2, 3, 16, 16, generator=gen) * 2 - 1
    with torch.no_grad():
        got = loss(x, y)
        torch.testing.assert_close(got, reference_lpips(x, y, vgg, lins), rtol=1e-4, atol=1e-6)
        assert (got > 0).all()
        assert torch.equal(loss(x, x), torch.zeros(2))
        # videos are compared frame by frame
        video_x = x.view(1, 2, 3, 16, 16).transpose(1, 2)
        video_y = y.view(1, 2, 3, 16, 16).transpose(1, 2)
        torch.testing.assert_close(loss(video_x, video_y), got)


def test_lpips_is_frozen_and_passes_gradients(lpips):
    loss = lpips
    loss.train()
    assert not loss.training and not any(p.requires_grad for p in loss.parameters())
    x = torch.zeros(1, 3, 16, 16, requires_grad=True)
    loss(x, torch.rand(1, 3, 16, 16)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_lpips_single_file_with_backbone(lpips_files, tmp_path):
    _, _, vgg, lins = lpips_files
    torch.save({**vgg, **lins}, tmp_path / 'lpips_full.pth')
    LPIPSLoss(str(tmp_path / 'lpips_full.pth'))


def test_lpips_missing_files_are_clear_errors(lpips_files, tmp_path):
    lin_path, _, _, _ = lpips_files
    with pytest.raises(WeightsNotFoundError, match='vgg16-397923af.pth'):
        LPIPSLoss(str(tmp_path / 'nope.pth'))
    # linear weights without a backbone: the missing VGG keys are named, with the hint
    with pytest.raises(CheckpointMismatchError, match='features.0.weight'):
        LPIPSLoss(lin_path)

"""I3D: the pytorch_i3d key layout loads strictly, preprocessing, TorchScript weights = state dict."""
from collections import OrderedDict

import pytest
import torch
from torch import nn

from vidrd.evaluation.feature_extractors import I3DFeatureExtractor
from vidrd.registry import FEATURE_EXTRACTORS
from vidrd.utils.checkpoint import WeightsNotFoundError

# piergiaj/pytorch-i3d InceptionI3d: (block, input channels, branch widths b0, b1a, b1b, b2a, b2b, b3b)
PUBLISHED_BLOCKS = [
    ('Mixed_3b', 192, (64, 96, 128, 16, 32, 32)), ('Mixed_3c', 256, (128, 128, 192, 32, 96, 64)),
    ('Mixed_4b', 480, (192, 96, 208, 16, 48, 64)), ('Mixed_4c', 512, (160, 112, 224, 24, 64, 64)),
    ('Mixed_4d', 512, (128, 128, 256, 24, 64, 64)), ('Mixed_4e', 512, (112, 144, 288, 32, 64, 64)),
    ('Mixed_4f', 528, (256, 160, 320, 32, 128, 128)), ('Mixed_5b', 832, (256, 160, 320, 32, 128, 128)),
    ('Mixed_5c', 832, (384, 192, 384, 48, 128, 128))]


def published_i3d_state_dict(generator=None):
    """A state dict in the pytorch_i3d layout (logits registered first, no num_batches_tracked)."""
    sd = OrderedDict()

    def unit(name, cin, cout, k, bn=True, bias=False):
        sd[f'{name}.conv3d.weight'] = torch.randn(cout, cin, k, k, k, generator=generator) * 0.05
        if bias:
            sd[f'{name}.conv3d.bias'] = torch.randn(cout, generator=generator)
        if bn:
            sd[f'{name}.bn.weight'] = torch.rand(cout, generator=generator) + 0.5
            sd[f'{name}.bn.bias'] = torch.randn(cout, generator=generator) * 0.1
            sd[f'{name}.bn.running_mean'] = torch.randn(cout, generator=generator) * 0.1
            sd[f'{name}.bn.running_var'] = torch.rand(cout, generator=generator) + 0.5

    unit('logits', 1024, 400, 1, bn=False, bias=True)
    unit('Conv3d_1a_7x7', 3, 64, 7)
    unit('Conv3d_2b_1x1', 64, 64, 1)
    unit('Conv3d_2c_3x3', 64, 192, 3)
    for name, cin, w in PUBLISHED_BLOCKS:
        unit(f'{name}.b0', cin, w[0], 1)
        unit(f'{name}.b1a', cin, w[1], 1)
        unit(f'{name}.b1b', w[1], w[2], 3)
        unit(f'{name}.b2a', cin, w[3], 1)
        unit(f'{name}.b2b', w[3], w[4], 3)
        unit(f'{name}.b3b', cin, w[5], 1)
    return sd


@pytest.fixture(scope='module')
def published(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('i3d') / 'i3d_pretrained_400.pt')
    sd = published_i3d_state_dict(torch.Generator().manual_seed(0))
    torch.save(sd, path)
    return path, sd


def test_published_layout_loads_strictly(published):
    path, sd = published
    extractor = I3DFeatureExtractor(weights=path)
    own = extractor.network.state_dict()
    assert {k for k in own if not k.endswith('num_batches_tracked')} == set(sd)
    for key, value in sd.items():
        assert torch.equal(own[key], value), key
    assert not extractor.random_weights and 'pretrained' in extractor.identity


def test_dataparallel_prefix_is_accepted(tmp_path, published):
    _, sd = published
    path = str(tmp_path / 'dp.pt')
    torch.save({f'module.{k}': v for k, v in sd.items()}, path)
    I3DFeatureExtractor(weights=path)


def test_output_shape_and_registry():
    extractor = FEATURE_EXTRACTORS.build(dict(type='I3D', weights=None, allow_random_weights=True))
    features = extractor.extract_features(torch.rand(2, 3, 16, 40, 48))
    assert features.shape == (2, 400) and torch.isfinite(features).all()
    assert extractor.class_probabilities(torch.rand(1, 3, 16, 32, 32)).sum().item() == pytest.approx(1)


def test_preprocessing_frames_resize_crop_range():
    extractor = I3DFeatureExtractor(weights=None, allow_random_weights=True)
    frames, height, width = 20, 40, 80
    column = torch.arange(width, dtype=torch.float32) / (width - 1)   # a horizontal ramp 0..1
    video = column.expand(1, 3, frames, height, width).clone()
    video[:, 1] = torch.arange(frames, dtype=torch.float32).view(1, frames, 1, 1) / 100  # frame id
    x = extractor.preprocess(video)
    assert x.shape == (1, 3, 16, 224, 224)
    # frames: the first 16, values mapped [0, 1] -> [-1, 1]
    assert torch.allclose(x[0, 1, :, 100, 100], torch.arange(16) / 100 * 2 - 1, atol=1e-6)
    # crop: shorter side 40 -> 224 makes the width 448; the centre 224 columns are original
    # columns 20..60, so the ramp runs from about 0.25 to 0.75 (in [-1, 1]: -0.5 .. 0.5)
    ramp = x[0, 0, 0, 112]
    assert ramp[0].item() == pytest.approx(-0.5, abs=0.03)
    assert ramp[-1].item() == pytest.approx(0.5, abs=0.03)
    assert x.min() >= -1 and x.max() <= 1
    # uint8 input is read as [0, 255]
    constant = torch.full((1, 3, 16, 32, 32), 255, dtype=torch.uint8)
    assert torch.allclose(extractor.preprocess(constant), torch.ones(1))


def test_too_few_frames_is_a_clear_error():
    extractor = I3DFeatureExtractor(weights=None, allow_random_weights=True)
    with pytest.raises(ValueError, match='16 frames'):
        extractor.preprocess(torch.rand(1, 3, 8, 32, 32))
    uniform = I3DFeatureExtractor(weights=None, allow_random_weights=True, frame_sampling='uniform')
    assert uniform.preprocess(torch.rand(1, 3, 8, 32, 32)).shape[2] == 16


def test_missing_weights_are_clear_errors(tmp_path):
    with pytest.raises(WeightsNotFoundError, match='i3d_torchscript.pt'):
        I3DFeatureExtractor(weights=str(tmp_path / 'i3d_torchscript.pt'))
    with pytest.raises(WeightsNotFoundError, match='allow_random_weights'):
        I3DFeatureExtractor()


class ReorderedI3D(nn.Module):
    """Our network's layers under other names, the classifier registered first (as in
    pytorch_i3d), to exercise the by-order reading of a foreign TorchScript archive."""

    def __init__(self, network):
        super().__init__()
        self.head = network.logits
        self.trunk = nn.ModuleList([m for m in network.children()
                                    if m is not network.logits and m is not network.dropout])

    def forward(self, x):
        for module in self.trunk:
            x = module(x)
        kernel = (min(2, x.shape[2]), min(7, x.shape[3]), min(7, x.shape[4]))
        return self.head(nn.functional.avg_pool3d(x, kernel, stride=1)).mean(dim=(2, 3, 4))


@pytest.mark.filterwarnings('ignore::torch.jit.TracerWarning')
def test_torchscript_weights_equal_state_dict_path(tmp_path, published):
    path, _ = published
    from_state_dict = I3DFeatureExtractor(weights=path)
    x = torch.rand(1, 3, 8, 32, 32) * 2 - 1
    traced = torch.jit.trace(from_state_dict.network, x, check_trace=False)
    ts_path = str(tmp_path / 'i3d_torchscript.pt')
    traced.save(ts_path)
    from_torchscript = I3DFeatureExtractor(weights=ts_path)
    expected = from_state_dict.network(x)
    assert torch.equal(from_torchscript.network(x), expected)
    assert torch.allclose(torch.jit.load(ts_path)(x), expected, atol=1e-5)
    video = torch.rand(1, 3, 16, 24, 32)
    assert torch.equal(from_torchscript.extract_features(video), from_state_dict.extract_features(video))

    reordered_path = str(tmp_path / 'reordered.pt')
    torch.jit.trace(ReorderedI3D(from_state_dict.network), x, check_trace=False).save(reordered_path)
    from_reordered = I3DFeatureExtractor(weights=reordered_path)
    assert torch.equal(from_reordered.network(x), expected)

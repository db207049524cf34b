"""C3D (UCF-101): the published key layout loads strictly, preprocessing, TorchScript path."""
from collections import OrderedDict

import numpy as np
import pytest
import torch

from vidrd.evaluation.feature_extractors import C3DFeatureExtractor
from vidrd.evaluation.feature_extractors.c3d import C3D_CHANNEL_MEAN_BGR
from vidrd.utils.checkpoint import WeightsNotFoundError

# the common PyTorch C3D layout: (name, weight shape); every layer also has a bias
PUBLISHED_LAYERS = [
    ('conv1', (64, 3, 3, 3, 3)), ('conv2', (128, 64, 3, 3, 3)), ('conv3a', (256, 128, 3, 3, 3)),
    ('conv3b', (256, 256, 3, 3, 3)), ('conv4a', (512, 256, 3, 3, 3)), ('conv4b', (512, 512, 3, 3, 3)),
    ('conv5a', (512, 512, 3, 3, 3)), ('conv5b', (512, 512, 3, 3, 3)), ('fc6', (4096, 8192)),
    ('fc7', (4096, 4096)), ('fc8', (101, 4096))]


def published_c3d_state_dict(generator, names=None):
    sd = OrderedDict()
    for name, shape in PUBLISHED_LAYERS:
        fan_in = int(np.prod(shape[1:]))
        key = (names or {}).get(name, name)
        sd[f'{key}.weight'] = torch.randn(*shape, generator=generator) * (2 / fan_in) ** 0.5
        sd[f'{key}.bias'] = torch.randn(shape[0], generator=generator) * 0.01
    return sd


@pytest.fixture(scope='module')
def published(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('c3d') / 'c3d_ucf101.pth')
    sd = published_c3d_state_dict(torch.Generator().manual_seed(0))
    torch.save(sd, path)
    return path, sd


def test_published_layout_loads_strictly(published):
    path, sd = published
    extractor = C3DFeatureExtractor(weights=path)
    own = extractor.network.state_dict()
    assert set(own) == set(sd)
    assert all(torch.equal(own[k], v) for k, v in sd.items())


def test_tgan_v2_chainer_names_load(tmp_path):
    sd = published_c3d_state_dict(torch.Generator().manual_seed(1), {'conv1': 'conv1a', 'conv2': 'conv2a'})
    sd = {k.replace('.weight', '.W').replace('.bias', '.b'): v for k, v in sd.items()}
    path = str(tmp_path / 'c3d_chainer_names.pt')
    torch.save(sd, path)
    extractor = C3DFeatureExtractor(weights=path)
    assert torch.equal(extractor.network.conv1.weight, sd['conv1a.W'])


def test_shapes_and_softmax():
    extractor = C3DFeatureExtractor(weights=None, allow_random_weights=True)
    video = torch.rand(2, 3, 16, 64, 80)
    probs = extractor.class_probabilities(video)
    assert probs.shape == (2, 101)
    assert torch.allclose(probs.sum(-1), torch.ones(2), atol=1e-5)
    assert extractor.extract_features(video).shape == (2, 4096)


def test_preprocessing_bgr_scale_mean_resize():
    extractor = C3DFeatureExtractor(weights=None, allow_random_weights=True)
    video = torch.zeros(1, 3, 18, 64, 64)
    video[:, 0] = 1.0   # pure red
    video[:, 2] = 0.5   # half blue
    x = extractor.preprocess(video)
    assert x.shape == (1, 3, 16, 112, 112)
    mean_b, mean_g, mean_r = C3D_CHANNEL_MEAN_BGR
    # channel order B, G, R; TGAN-v2's value scale 128 * (2v - 1) + 128 = 256 v; minus the mean
    assert torch.allclose(x[0, 0], torch.full((16, 112, 112), 128 - mean_b))
    assert torch.allclose(x[0, 1], torch.full((16, 112, 112), 0 - mean_g))
    assert torch.allclose(x[0, 2], torch.full((16, 112, 112), 256 - mean_r))


def test_mean_file_is_cropped_like_tgan_v2(tmp_path):
    mean = np.random.default_rng(0).uniform(80, 120, size=(3, 16, 128, 171)).astype(np.float32)
    np.savez(str(tmp_path / 'mean2.npz'), mean=mean)
    extractor = C3DFeatureExtractor(weights=None, allow_random_weights=True,
                                    mean_file=str(tmp_path / 'mean2.npz'))
    assert torch.equal(extractor.mean, torch.from_numpy(mean[:, :, 8:120, 8:120]))
    x = extractor.preprocess(torch.zeros(1, 3, 16, 112, 112))
    assert torch.allclose(x[0], -torch.from_numpy(mean[:, :, 8:120, 8:120]))


def test_missing_weights_name_the_source(tmp_path):
    with pytest.raises(WeightsNotFoundError, match='c3d_ucf101.pt'):
        C3DFeatureExtractor(weights=str(tmp_path / 'c3d_ucf101.pt'))
    with pytest.raises(WeightsNotFoundError, match='allow_random_weights'):
        C3DFeatureExtractor()


@pytest.mark.slow
@pytest.mark.filterwarnings('ignore::torch.jit.TracerWarning')
def test_torchscript_weights_equal_state_dict_path(tmp_path, published):
    path, _ = published
    from_state_dict = C3DFeatureExtractor(weights=path)
    video = torch.rand(1, 3, 16, 56, 56)
    x = from_state_dict.preprocess(video)
    ts_path = str(tmp_path / 'c3d_ucf101.pt')
    torch.jit.trace(from_state_dict.network, x).save(ts_path)
    from_torchscript = C3DFeatureExtractor(weights=ts_path)
    expected = from_state_dict.class_probabilities(video)
    assert torch.equal(from_torchscript.class_probabilities(video), expected)
    assert torch.allclose(torch.jit.load(ts_path)(x).softmax(-1), expected, atol=1e-6)

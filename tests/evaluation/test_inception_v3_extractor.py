"""Frame-FID InceptionV3: built from pytorch-fid's classes, weights only from the named file."""
from unittest import mock

import pytest
import torch

from vidrd.evaluation.feature_extractors import InceptionV3FrameExtractor
from vidrd.utils.checkpoint import WeightsNotFoundError


@pytest.mark.slow
def test_loads_local_file_without_download_and_gives_frame_features(tmp_path):
    import pytorch_fid.inception as fid_inception
    random = InceptionV3FrameExtractor(weights=None, allow_random_weights=True)
    # the state dict of pytorch-fid's FID Inception (torchvision Inception3 names), as in the
    # released pt_inception-2015-12-05-6726825d.pth
    blocks = random.network.blocks
    inception_sd = {}
    names = ['Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3', None, 'Conv2d_3b_1x1', 'Conv2d_4a_3x3',
             None, 'Mixed_5b', 'Mixed_5c', 'Mixed_5d', 'Mixed_6a', 'Mixed_6b', 'Mixed_6c', 'Mixed_6d',
             'Mixed_6e', 'Mixed_7a', 'Mixed_7b', 'Mixed_7c', None]
    modules = [m for block in blocks for m in block]
    for name, module in zip(names, modules):
        if name:
            for key, value in module.state_dict().items():
                inception_sd[f'{name}.{key}'] = value + 0.01
    inception_sd['fc.weight'] = torch.zeros(1008, 2048)
    inception_sd['fc.bias'] = torch.zeros(1008)
    path = str(tmp_path / 'pt_inception-2015-12-05-6726825d.pth')
    torch.save(inception_sd, path)

    def refuse(*args, **kwargs):
        raise AssertionError('tried to download')

    with mock.patch('torch.hub.load_state_dict_from_url', refuse), \
            mock.patch.object(fid_inception, 'load_state_dict_from_url', refuse):
        extractor = InceptionV3FrameExtractor(weights=path, frame_stride=2)
    loaded = extractor.network.blocks[0][0].conv.weight
    assert torch.equal(loaded, inception_sd['Conv2d_1a_3x3.conv.weight'])
    features = extractor.extract_features(torch.rand(2, 3, 3, 32, 40))
    assert features.shape == (2, 2, 2048)  # frames 0 and 2
    assert extractor.frame_level


def test_missing_file_names_the_standard_copy(tmp_path):
    with pytest.raises(WeightsNotFoundError, match='pt_inception-2015-12-05-6726825d.pth'):
        InceptionV3FrameExtractor(weights=str(tmp_path / 'nope.pth'))
    with pytest.raises(WeightsNotFoundError, match='allow_random_weights'):
        InceptionV3FrameExtractor()

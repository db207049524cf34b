"""Reading TorchScript tensors into our modules: by name, by alias, by order."""
from collections import OrderedDict

import pytest
import torch
from torch import nn

from vidrd.evaluation.feature_extractors.torchscript_weights import (
    is_torchscript_archive, map_tensors_to_module, read_torchscript_tensors, rename_to_ours)
from vidrd.utils.checkpoint import CheckpointMismatchError


class Ours(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(self.bn(self.conv(x)).mean(dim=(2, 3)))


class Foreign(nn.Module):
    """Same computation, other names, the head registered first (like pytorch_i3d's logits)."""

    def __init__(self):
        super().__init__()
        self.classifier = nn.Linear(4, 2)
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))

    def forward(self, x):
        return self.classifier(self.features(x).mean(dim=(2, 3)))


def _randomise(module):
    torch.manual_seed(0)
    for tensor in module.state_dict().values():
        if tensor.is_floating_point():
            tensor.copy_(torch.rand_like(tensor) + 0.5)
    return module.eval()


def test_by_name_with_wrapper_prefix_and_leaf_aliases():
    ours = Ours()
    source = OrderedDict()
    for key, value in _randomise(Ours()).state_dict().items():
        module, leaf = key.rsplit('.', 1)
        leaf = {'weight': 'W', 'bias': 'b', 'running_mean': 'moving_mean'}.get(leaf, leaf)
        source[f'module.{module}.{leaf}'] = value
    mapped, how = map_tensors_to_module(source, ours, 'test')
    assert how == 'name'
    ours.load_state_dict(mapped, strict=False)
    assert torch.equal(ours.bn.running_mean, source['module.bn.moving_mean'])


def test_by_order_through_a_traced_foreign_module(tmp_path):
    foreign = _randomise(Foreign())
    x = torch.rand(2, 3, 8, 8)
    path = str(tmp_path / 'foreign.pt')
    torch.jit.trace(foreign, x).save(path)
    assert is_torchscript_archive(path)
    tensors = read_torchscript_tensors(path)
    ours = Ours().eval()
    mapped, how = map_tensors_to_module(tensors, ours, path)
    assert how == 'order'
    ours.load_state_dict(mapped, strict=False)
    assert torch.allclose(ours(x), foreign(x), atol=1e-6)


def test_plain_state_dict_is_not_torchscript(tmp_path):
    path = str(tmp_path / 'sd.pt')
    torch.save(Ours().state_dict(), path)
    assert not is_torchscript_archive(path)


def test_mismatch_names_the_tensor():
    class Other(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 5, 3)

    with pytest.raises(CheckpointMismatchError, match='shapes'):
        map_tensors_to_module(Other().state_dict(), Ours(), 'other.pt')


def test_extra_archive_tensors_are_ignored_by_name():
    source = dict(_randomise(Ours()).state_dict(), **{'mean.b': torch.zeros(3, 16, 4, 4)})
    mapped, how = map_tensors_to_module(source, Ours(), 'with_mean.pt')
    assert how == 'name' and 'mean.b' not in mapped


def test_rename_to_ours_handles_chainer_keys():
    renamed = rename_to_ours({'conv1a/W': torch.zeros(1), 'fc8/b': torch.zeros(1)}, {'conv1a': 'conv1'})
    assert set(renamed) == {'conv1.weight', 'fc8.bias'}

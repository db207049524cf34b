"""--device: auto by default in every tool that has it; CUDA when present, else the CPU; the
choice is logged; a device that is not there is a one-line error."""
import glob
import os.path as osp
import re

import pytest
import torch

import vidrd.utils.device as device_module
from vidrd.utils.cli import InvalidValueError, user_error_message
from vidrd.utils.device import resolve_device

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture
def logged(monkeypatch):
    lines = []

    class Logger:
        def info(self, message):
            lines.append(message)

    monkeypatch.setattr(device_module, 'get_logger', lambda: Logger())
    return lines


@pytest.fixture
def fake_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 2)
    monkeypatch.setattr(torch.cuda, 'current_device', lambda: 0)
    monkeypatch.setattr(torch.cuda, 'get_device_name', lambda index=0: f'Fake GPU {index}')


def test_auto_is_the_cpu_without_a_gpu_and_says_why(monkeypatch, logged):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert resolve_device() == resolve_device('auto') == 'cpu'
    assert logged[0].startswith('device: cpu (auto: no CUDA device is available')


def test_auto_is_cuda_with_a_gpu_and_the_local_rank_under_torchrun(monkeypatch, logged,
                                                                   fake_gpu):
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    assert resolve_device('auto') == 'cuda' and logged[-1] == 'device: cuda (auto: Fake GPU 0)'
    monkeypatch.setenv('LOCAL_RANK', '1')
    assert resolve_device('AUTO') == 'cuda:1' and 'Fake GPU 1' in logged[-1]
    assert resolve_device('cuda:1') == 'cuda:1' and resolve_device('cpu') == 'cpu'


@pytest.mark.parametrize('name,message', [
    ('gpu', "--device 'gpu' is not a device: use auto, cpu, cuda or cuda:N"),
    ('mps', "--device 'mps' is not a device"),
    ('cuda:7', 'there are only 2 CUDA device(s)'),
])
def test_unknown_or_absent_devices_are_one_line_errors(name, message, fake_gpu):
    with pytest.raises(InvalidValueError) as err:
        resolve_device(name)
    assert message in user_error_message(err.value) and '\n' not in str(err.value)


def test_cuda_without_a_gpu_is_a_one_line_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(InvalidValueError, match='--device cuda: no CUDA device is available.*'
                                                'use --device auto or cpu'):
        resolve_device('cuda')


def test_every_tool_with_a_device_argument_defaults_to_auto():
    tools = sorted(glob.glob(osp.join(REPO, 'tools', '**', '*.py'), recursive=True))
    with_device = {}
    for path in tools:
        source = open(path, encoding='utf-8').read()
        if "'--device'" in source or 'add_device_argument' in source:
            with_device[osp.relpath(path, osp.join(REPO, 'tools'))] = source
    assert {'generate.py', 'compute_reference_stats.py', 'cache_latents.py'} <= set(with_device)
    for tool, source in with_device.items():
        assert 'add_device_argument(parser)' in source, tool
        assert re.search(r'resolve_device\(args\.device\)', source), tool
        assert "'--device'" not in source, f'{tool}: use add_device_argument'

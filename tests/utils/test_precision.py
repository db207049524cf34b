"""One set of precision names for --amp, autocast_dtype and frozen_dtype: every name is accepted
or refused the same way wherever it enters, refusals in one line naming the value and the
accepted names."""
import argparse
import os.path as osp

import pytest
import torch

from vidrd.apis.run_config import add_sampling_amp_argument, load_config, with_sampling_amp
from vidrd.models.long_video.base_sampler import resolve_autocast_dtype
from vidrd.utils.cli import InvalidValueError, user_error_message
from vidrd.utils.precision import (PRECISIONS, resolve_autocast, resolve_precision, short_name,
                                   torch_name)

ACCEPTED = {'bf16': torch.bfloat16, 'bfloat16': torch.bfloat16, 'BF16': torch.bfloat16,
            'fp16': torch.float16, 'float16': torch.float16, 'fp32': torch.float32,
            'float32': torch.float32, torch.bfloat16: torch.bfloat16,
            torch.float16: torch.float16, torch.float32: torch.float32}
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
REFUSED = ['bf8', 'half', 'int8', 'auto', 'torch.bfloat16', torch.int8, torch.float64, 16]


@pytest.mark.parametrize('value', list(ACCEPTED), ids=str)
def test_every_name_is_accepted_by_every_setting(value):
    dtype = ACCEPTED[value]
    assert resolve_precision(value) is dtype
    no_autocast = dtype is torch.float32  # fp32 autocast = no autocast
    assert resolve_autocast(value) is (None if no_autocast else dtype)
    assert resolve_autocast_dtype(value, 'Sampler') is (None if no_autocast else dtype)
    assert short_name(value) in ('bf16', 'fp16', 'fp32')
    assert torch_name(value) == str(dtype).replace('torch.', '')
    assert with_sampling_amp(None, value) == {
        'model.long_video_sampler.autocast_dtype': None if no_autocast else short_name(value)}


@pytest.mark.parametrize('value', REFUSED, ids=str)
def test_every_other_value_is_refused_in_one_line_naming_it_and_the_names(value):
    for call, setting in ((lambda v: resolve_precision(v, 'VidRD: frozen_dtype'),
                           'VidRD: frozen_dtype'),
                          (lambda v: resolve_autocast_dtype(v, 'Sampler'),
                           'Sampler: autocast_dtype'),
                          (lambda v: with_sampling_amp({}, v), '--amp')):
        with pytest.raises(InvalidValueError) as err:
            call(value)
        message = user_error_message(err.value)
        assert '\n' not in message and f'{setting}={value!r} is not one of' in message
        assert all(name in message for name in PRECISIONS)


def test_none_means_not_set():
    assert resolve_precision(None) is None and resolve_autocast(None) is None
    assert resolve_autocast_dtype(None) is None and with_sampling_amp({'a': 1}, None) == {'a': 1}


def test_amp_of_the_tools_takes_the_names_and_leaves_the_check_to_the_resolver(tmp_path):
    parser = argparse.ArgumentParser()
    add_sampling_amp_argument(parser)
    assert parser.parse_args(['--amp']).amp == 'bf16'
    assert parser.parse_args(['--amp', 'float16']).amp == 'float16'
    config = str(tmp_path / 'c.py')
    with open(config, 'w') as f:
        f.write("optim_wrapper = dict(type='OptimWrapper')\n")
    # training: fp32 keeps the wrapper; a bad name stops before the config is read
    assert load_config(config, amp='fp32').optim_wrapper.type == 'OptimWrapper'
    if not torch.cuda.is_available():
        assert load_config(config, amp='bfloat16').optim_wrapper.dtype == 'bfloat16'
    with pytest.raises(InvalidValueError, match="--amp='bf8' is not one of"):
        load_config(str(tmp_path / 'absent.py'), amp='bf8')


def test_frozen_dtype_takes_the_short_names():
    from mmengine.config import Config

    from vidrd.registry import MODELS
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'vidrd_tiny_shapes.py'))
    model = MODELS.build(dict(cfg.model, frozen_dtype='bf16'))
    assert next(model.text_encoder.parameters()).dtype == torch.bfloat16
    with pytest.raises(InvalidValueError, match="frozen_dtype='bf8' is not one of bf16"):
        MODELS.build(dict(cfg.model, frozen_dtype='bf8'))
    with pytest.raises(InvalidValueError, match="autocast_dtype='f16' is not one of"):
        MODELS.build(dict(cfg.model, long_video_sampler=dict(cfg.model.long_video_sampler,
                                                              autocast_dtype='f16')))

"""One set of precision names for --amp, autocast_dtype and frozen_dtype: every name is accepted
or refused the same way wherever it enters, refusals in one line naming the value and the
accepted names."""
import argparse
import os.path as osp
import re

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
# 'auto' is an autocast setting (see the tests of auto below), refused where a dtype is needed
REFUSED = ['bf8', 'half', 'int8', 'torch.bfloat16', torch.int8, torch.float64, 16]


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
                          (lambda v: with_sampling_amp({}, v), 'amp')):
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
    with pytest.raises(InvalidValueError, match="amp='bf8' is not one of") as err:
        load_config(str(tmp_path / 'absent.py'), amp='bf8')
    # the library names its parameter; a tool the user gave --amp to shows the flag
    assert "--amp='bf8' is not one of" in user_error_message(err.value, argv=['--amp', 'bf8'])


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


@pytest.mark.parametrize('device,flags,cuda_bf16,expected', [
    ('cpu', {'avx512f', 'avx512_bf16'}, None, None),          # this machine: AMD EPYC, no AMX
    ('cpu', {'avx2'}, None, None),
    ('cpu', {'avx512_bf16', 'amx_tile', 'amx_bf16'}, None, torch.bfloat16),  # Sapphire Rapids
    ('cuda', set(), True, torch.bfloat16),                     # Ampere and later
    ('cuda:1', set(), False, None),                            # e.g. a V100
    ('mps', {'amx_bf16'}, None, None)])
def test_auto_picks_bf16_or_fp32_from_the_device_and_cpu_flags(device, flags, cuda_bf16,
                                                                expected):
    from vidrd.utils.precision import choose_autocast
    dtype, reason = choose_autocast(device, flags=flags, cuda_bf16=cuda_bf16)
    assert dtype is expected and reason
    if device == 'cpu':
        assert ('AMX' in reason) and (('no AMX' in reason) == (expected is None))


def test_this_machines_cpu_flags_are_read():
    from vidrd.utils.precision import choose_autocast, cpu_flags
    flags = cpu_flags()
    if osp.isfile('/proc/cpuinfo'):
        assert 'fpu' in flags or 'sse2' in flags
    expected = torch.bfloat16 if 'amx_bf16' in flags else None
    assert choose_autocast('cpu')[0] is expected


def test_auto_is_an_autocast_setting_not_a_dtype():
    from vidrd.utils import precision
    assert precision.is_auto('auto') and precision.is_auto(' AUTO ')
    assert resolve_autocast('auto', device='cpu') is precision.choose_autocast('cpu')[0]
    assert resolve_autocast_dtype('auto', 'Sampler') is precision.choose_autocast()[0]
    # --amp auto reaches the sampler, which decides on the device of its run
    assert with_sampling_amp(None, 'auto') == {'model.long_video_sampler.autocast_dtype': 'auto'}
    with pytest.raises(InvalidValueError, match="frozen_dtype='auto' is not one of"):
        resolve_precision('auto', 'VidRD: frozen_dtype')
    with pytest.raises(InvalidValueError, match="--amp='auto' is not one of"):
        torch_name('auto', '--amp')  # training's --amp needs a precision
    with pytest.raises(InvalidValueError, match=r"amp='half' is not one of .*, auto \(or") as err:
        with_sampling_amp({}, 'half')
    assert re.search(r"--amp='half' is not one of .*, auto \(or",
                     user_error_message(err.value, argv=['--amp', 'half']))


@pytest.mark.parametrize('flags,expected', [({'avx512_bf16'}, None),
                                            ({'amx_bf16'}, torch.bfloat16)])
def test_a_sampler_with_auto_decides_on_its_runs_device_and_logs_why(monkeypatch, flags,
                                                                      expected):
    from vidrd.models.long_video import ReuseAndDiffuseSampler
    from vidrd.utils import precision
    messages = []

    class Logger:
        def info(self, message):
            messages.append(message)

    monkeypatch.setattr(precision, 'cpu_flags', lambda path=precision.CPUINFO: frozenset(flags))
    monkeypatch.setattr(precision, 'get_logger', Logger)
    monkeypatch.setattr(precision, '_LOGGED', set())
    sampler = ReuseAndDiffuseSampler(num_frames=2, num_prompt_frames=1, num_inference_steps=1,
                                     guidance_scale=1.0, progress=False, autocast_dtype='auto')
    assert not messages  # provisional until a run names its device
    seen = []

    def unet(x, t, embeds):
        seen.append(torch.get_autocast_dtype('cpu') if torch.is_autocast_enabled('cpu')
                    else None)
        return torch.zeros_like(x)

    class Scheduler:
        init_noise_sigma = 1.0

        def set_timesteps(self, n):
            self.timesteps = torch.tensor([500])

        def step(self, out, t, x):
            return x

    sampler.sample(unet, Scheduler(), torch.zeros(1, 2, 3), latent_shape=(1, 2, 2), seed=0)
    assert sampler.autocast_dtype is expected and seen == [expected]
    chosen = 'bf16' if expected is torch.bfloat16 else 'fp32'
    assert messages == [f'ReuseAndDiffuseSampler: autocast_dtype=auto: {chosen} on cpu, as '
                        + precision.choose_autocast('cpu', flags=flags)[1]]

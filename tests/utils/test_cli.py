"""vidrd.utils.cli (one-line user errors) and the checkpoint checks it reports."""
import pickle

import pytest
import torch
from safetensors.torch import save_file

from vidrd.utils.checkpoint import (UnsafeCheckpointError, checkpoint_format, load_state_dict)
from vidrd.utils.cli import (InvalidValueError, NotACheckpointError, UserError, run_cli,
                             user_error_message)
from vidrd.utils.errors import DataError


class _Payload:  # a class the weights-only unpickler refuses
    pass


def test_checkpoint_formats_and_what_is_not_one(tmp_path):
    tensors = {'w': torch.ones(2, 3)}
    torch.save(tensors, tmp_path / 'a.pth')
    torch.save(tensors, tmp_path / 'legacy.pth', _use_new_zipfile_serialization=False)
    save_file(tensors, tmp_path / 'a.safetensors')
    save_file(tensors, tmp_path / 'no_suffix')
    (tmp_path / 'notes.pth').write_text('not weights at all\n')
    (tmp_path / 'empty.pth').write_bytes(b'')
    data = (tmp_path / 'a.pth').read_bytes()
    (tmp_path / 'cut.pth').write_bytes(data[:len(data) // 2])
    assert checkpoint_format(str(tmp_path / 'a.pth')) == 'torch_zip'
    assert checkpoint_format(str(tmp_path / 'legacy.pth')) == 'pickle'
    assert checkpoint_format(str(tmp_path / 'a.safetensors')) == 'safetensors'
    for name in ('a.pth', 'legacy.pth', 'a.safetensors', 'no_suffix'):
        assert torch.equal(load_state_dict(str(tmp_path / name))['w'], tensors['w']), name
    for name in ('notes.pth', 'empty.pth'):
        with pytest.raises(NotACheckpointError, match='is not a checkpoint'):
            load_state_dict(str(tmp_path / name))
    with pytest.raises(NotACheckpointError, match='damaged'):
        load_state_dict(str(tmp_path / 'cut.pth'))


def test_an_unsafe_pickle_is_still_called_unsafe(tmp_path):
    torch.save({'x': _Payload()}, tmp_path / 'evil.pth')
    with pytest.raises(UnsafeCheckpointError, match='needs more than tensors.*_Payload'):
        load_state_dict(str(tmp_path / 'evil.pth'))
    with open(tmp_path / 'plain.pkl', 'wb') as f:
        pickle.dump({'x': _Payload()}, f, protocol=2)
    with pytest.raises(UnsafeCheckpointError):
        load_state_dict(str(tmp_path / 'plain.pkl'))


def _main_raising(err):
    def main():
        raise err
    return main


@pytest.mark.parametrize('err', [
    FileNotFoundError('config file not found: x.py'),
    InvalidValueError('num_clips must be >= 1, got 0'),
    DataError('line one\nline two'),  # a plain ValueError is a bug: test_errors.py
    UserError('no prompts'),
])
def test_user_errors_are_one_line_and_exit_2(err, capsys):
    with pytest.raises(SystemExit) as exit_:
        run_cli(_main_raising(err), argv=['tools/x.py'])
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('x.py: error: ')
    assert str(err).splitlines()[0] in lines[0] and '--debug' in lines[0]


def test_debug_and_programming_errors_keep_the_exception(monkeypatch):
    argv = ['tools/x.py', '--debug', 'config.py']
    with pytest.raises(FileNotFoundError):
        run_cli(_main_raising(FileNotFoundError('missing')), argv=argv)
    assert argv == ['tools/x.py', 'config.py']  # the tool's parser never sees --debug
    monkeypatch.delenv('VIDRD_DEBUG', raising=False)
    with pytest.raises(TypeError):
        run_cli(_main_raising(TypeError('a bug')), argv=['tools/x.py'])
    assert user_error_message(AttributeError('x')) is None
    assert user_error_message(KeyError('some key')) is None  # only registry misses are users'


def test_unknown_registry_type_suggests_close_names():
    from vidrd.registry import LONG_VIDEO_STRATEGIES, MODELS
    with pytest.raises(KeyError) as err:
        MODELS.build(dict(type='ReuseAndDifuseSampler'))
    message = user_error_message(err.value)
    assert "unknown type 'ReuseAndDifuseSampler'" in message
    assert "did you mean 'ReuseAndDiffuseSampler'" in message
    with pytest.raises(KeyError) as err:
        LONG_VIDEO_STRATEGIES.build(dict(type='FrameNoiseReverson'))
    assert "'FrameNoiseReversion'" in user_error_message(err.value)


def test_values_are_checked_where_they_enter():
    from vidrd.registry import MODELS
    with pytest.raises(InvalidValueError, match='guidance_scale must be >= 1'):
        MODELS.build(dict(type='ReuseAndDiffuseSampler', guidance_scale=-1.0))
    sampler = MODELS.build(dict(type='ReuseAndDiffuseSampler', num_frames=2, num_prompt_frames=0,
                                guidance_scale=1.0))
    with pytest.raises(InvalidValueError, match='num_clips must be >= 1'):
        sampler.sample(None, None, torch.zeros(1, 2, 3), latent_shape=(1, 2, 2), num_clips=0)
    with pytest.raises(InvalidValueError, match='guidance_scale'):
        sampler.sample(None, None, torch.zeros(1, 2, 3), latent_shape=(1, 2, 2),
                       guidance_scale=0.5)

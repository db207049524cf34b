"""vidrd.utils.errors: one UserError root; the tools show it in one line naming their flags,
while any other exception (a plain ValueError from a bug included) keeps its traceback."""
import os.path as osp
import pickle
import subprocess
import sys

import pytest

from vidrd.utils import checkpoint, cli, errors
from vidrd.utils.cli import flag_names, run_cli, user_error_message
from vidrd.utils.errors import (CheckpointError, CheckpointMismatchError, ConfigError, DataError,
                                InputNotFoundError, InvalidValueError, NotACheckpointError,
                                UnsafeCheckpointError, UserError, WeightsNotFoundError)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _raising(err):
    def main():
        raise err
    return main


def test_every_domain_error_is_a_user_error_and_keeps_its_builtin_base():
    for cls, base in ((InvalidValueError, ValueError), (ConfigError, ValueError),
                      (DataError, ValueError), (InputNotFoundError, FileNotFoundError),
                      (WeightsNotFoundError, FileNotFoundError),
                      (NotACheckpointError, ValueError), (UnsafeCheckpointError, RuntimeError),
                      (CheckpointMismatchError, RuntimeError)):
        assert issubclass(cls, UserError) and issubclass(cls, base), cls
    for cls in (WeightsNotFoundError, NotACheckpointError, UnsafeCheckpointError,
                CheckpointMismatchError):
        assert issubclass(cls, CheckpointError)
    # the old homes still export the same classes
    assert checkpoint.WeightsNotFoundError is WeightsNotFoundError
    assert checkpoint.CheckpointMismatchError is CheckpointMismatchError
    assert cli.UserError is UserError and cli.InvalidValueError is InvalidValueError
    assert cli.NotACheckpointError is NotACheckpointError and cli.check_value is errors.check_value
    # the parameter survives a trip to another process (DataLoader workers)
    err = pickle.loads(pickle.dumps(InvalidValueError('num must be >= 1', parameter='num')))
    assert err.parameters == ('num', ) and str(err) == 'num must be >= 1'


def test_checkpoint_and_cli_do_not_import_each_other_for_errors():
    for module in (checkpoint, cli):
        source = open(module.__file__).read()
        other = 'cli' if module is checkpoint else 'checkpoint'
        assert f'from .{other} import' not in source and f'vidrd.utils.{other} import' \
            not in source, module.__name__


@pytest.mark.parametrize('err', [
    ValueError('a bug: int() of a bad internal value'),
    RuntimeError('a bug'),
    TypeError('a bug'),
])
def test_anything_but_a_user_error_keeps_its_traceback(err, monkeypatch):
    monkeypatch.delenv('VIDRD_DEBUG', raising=False)
    assert user_error_message(err) is None
    with pytest.raises(type(err)):
        run_cli(_raising(err), argv=['tools/x.py'])


def test_a_user_error_is_one_line_with_the_tools_flags(capsys):
    err = InvalidValueError('num_frames and batch_size must be >= 1, got 0, 8',
                            parameter=('num_frames', 'batch_size'))
    with pytest.raises(SystemExit) as exit_:
        run_cli(_raising(err), argv=['tools/x.py', '--frames', '0'],
                flags={'num_frames': '--frames'})
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    # a mapped name and a name the user did not type (batch_size: no --batch-size in argv)
    assert lines == ['x.py: error: --frames and batch_size must be >= 1, got 0, 8 '
                     '(add --debug for the traceback)']


def test_flag_names_replace_whole_names_only():
    message = "min_score needs a score column in /data/min_score.csv (min_scores: none)"
    assert flag_names(message, ['min_score'], {'min_score': '--min-score'}) == \
        "--min-score needs a score column in /data/min_score.csv (min_scores: none)"
    # without a mapping: the option the user typed, else the parameter name stays
    assert flag_names("amp='x' is not one of", ['amp'], argv=['--amp', 'x']) == \
        "--amp='x' is not one of"
    assert flag_names("amp='x' is not one of", ['amp'], argv=['--amp=x']) == \
        "--amp='x' is not one of"
    assert flag_names("amp='x' is not one of", ['amp'], argv=['cfg.py']) == \
        "amp='x' is not one of"


def test_library_message_names_the_parameter_and_the_tool_the_flag(tmp_path):
    from vidrd.data_tools.browsing import sample_clips
    dataset = [dict(inputs=None)]
    with pytest.raises(InvalidValueError) as err:
        sample_clips(dataset, num=0)
    assert str(err.value).startswith('num must be >= 1') and '--num' not in str(err.value)
    assert user_error_message(err.value, argv=['cfg.py', '--num', '0']).startswith(
        '--num must be >= 1')


def _tool_with_main(tmp_path, body):
    """A tools/-style script whose main() runs ``body``, run as its own process."""
    script = tmp_path / 'fake_tool.py'
    script.write_text('from vidrd.utils.cli import run_cli\n'
                      'from vidrd.utils.errors import InvalidValueError\n\n\n'
                      f'def main():\n    {body}\n\n\n'
                      "if __name__ == '__main__':\n"
                      "    run_cli(main, flags={'num_clips': '--num-clips'})\n")
    env = dict(__import__('os').environ, PYTHONPATH=REPO)
    env.pop('VIDRD_DEBUG', None)
    return subprocess.run([sys.executable, str(script), '--num-clips', '0'], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_tool_shows_a_bugs_traceback_and_a_user_error_in_one_line(tmp_path):
    bug = _tool_with_main(tmp_path, "int('not a number')  # a bug: a plain ValueError")
    assert bug.returncode == 1 and 'Traceback' in bug.stderr and 'ValueError' in bug.stderr
    user = _tool_with_main(tmp_path, "raise InvalidValueError('num_clips must be >= 1, got 0', "
                                     "parameter='num_clips')")
    assert user.returncode == 2 and 'Traceback' not in user.stderr
    assert user.stderr.strip() == ('fake_tool.py: error: --num-clips must be >= 1, got 0 '
                                   '(add --debug for the traceback)')

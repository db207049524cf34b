"""A wheel install finds its configs: setup.py ships ``configs/`` as ``vidrd/.mim/configs`` and
:func:`vidrd.apis.config_files.find_configs_dir` finds that copy when there is no checkout, so
``tools/demo.py`` runs (``--help``) and the demo's config, its sampler folders and the
``--strategy`` configs load from the installed package alone.

The wheel is built from a copy of the sources (no ``build/`` in the checkout) without network
or build isolation, installed with ``pip install --target`` and run by this Python from a folder
outside the checkout, with the install first on ``PYTHONPATH``: torch and the other dependencies
come from this environment, ``vidrd`` from the wheel (checked).
"""
import glob
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

from vidrd.apis.config_files import find_configs_dir, shipped_config
from vidrd.apis.run_config import load_config, strategy_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SOURCES = ('setup.py', 'MANIFEST.in', 'README.md', 'CHANGELOG.md', 'configs', 'vidrd')

#: run by the installed package: where vidrd and its configs come from, the demo's plan and
#: config, a strategy config
CHECK = '''
import json, os.path as osp, sys
import vidrd
from mmengine.config import Config
from vidrd.apis.config_files import find_configs_dir
from vidrd.apis.demo import plan_demo
from vidrd.apis.run_config import load_config, strategy_config
plan = plan_demo(sys.argv[1])
cfg = load_config(plan.config, work_dir=sys.argv[1])
json.dump(dict(
    vidrd=vidrd.__file__, configs=find_configs_dir(), config=plan.config,
    samplers=[plan.paper_samplers, plan.method_samplers],
    samplers_exist=[osp.isdir(plan.paper_samplers), osp.isdir(plan.method_samplers)],
    model=cfg.model.type, unet=cfg.model.unet.type, dataset=cfg.train_dataloader.dataset.type,
    strategy=strategy_config('fsdp2'),
    strategy_type=Config.fromfile(strategy_config('fsdp2')).strategy.type), sys.stdout)
'''


def _run(args, cwd, env=None):
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f'{args}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}'
    return result.stdout


@pytest.fixture(scope='module')
def wheel_site(tmp_path_factory):
    """A folder holding vidrd installed from a freshly built wheel (``pip install --target``,
    no byte-compiling, so the folder holds what the wheel holds)."""
    tmp = tmp_path_factory.mktemp('wheel')
    src = tmp / 'src'
    for name in SOURCES:
        path = osp.join(REPO, name)
        if osp.isdir(path):
            shutil.copytree(path, src / name,
                            ignore=shutil.ignore_patterns('__pycache__', '*.pyc', '*.egg-info'))
        else:
            os.makedirs(src, exist_ok=True)
            shutil.copy(path, src / name)
    pip = [sys.executable, '-m', 'pip', '--disable-pip-version-check', '--no-input']
    _run(pip + ['wheel', '--no-deps', '--no-build-isolation', '--no-index', '-q', '-w',
                str(tmp / 'wheels'), str(src)], cwd=tmp)
    (wheel,) = glob.glob(str(tmp / 'wheels' / 'vidrd-*.whl'))
    site = tmp / 'site'
    _run(pip + ['install', '--no-deps', '--no-index', '-q', '--no-compile', '--target',
                str(site), wheel], cwd=tmp)
    return site


def _env(site):
    """This Python's environment with the installed wheel first on the path."""
    env = dict(os.environ, PYTHONPATH=str(site), PYTHONNOUSERSITE='1', PYTHONDONTWRITEBYTECODE='1')
    return env


def test_wheel_carries_the_configs(wheel_site):
    packaged = wheel_site / 'vidrd' / '.mim' / 'configs'
    for name in ('vidrd_tiny_shapes.py', '_base_/strategies/fsdp2.py',
                 'ablations/tiny_shapes', 'long_video/tiny_shapes', 'README.md'):
        assert osp.exists(packaged / name), name
    assert not glob.glob(str(packaged / '**' / '__pycache__'), recursive=True)


def test_demo_runs_from_a_wheel_install(wheel_site, tmp_path):
    tools = tmp_path / 'tools'
    tools.mkdir()
    shutil.copy(osp.join(REPO, 'tools', 'demo.py'), tools / 'demo.py')
    env = _env(wheel_site)
    text = _run([sys.executable, str(tools / 'demo.py'), '--help'], cwd=tmp_path, env=env)
    assert '--work-dir' in text and '--configs-dir' in text

    import json
    report = json.loads(_run([sys.executable, '-c', CHECK, str(tmp_path / 'demo')],
                             cwd=tmp_path, env=env))
    site = str(wheel_site) + os.sep
    # the wheel's vidrd, not the checkout's
    assert report['vidrd'].startswith(site), report['vidrd']
    assert report['configs'] == osp.join(str(wheel_site), 'vidrd', '.mim', 'configs')
    for path in [report['config'], report['strategy']] + report['samplers']:
        assert path.startswith(site), path
    assert report['samplers_exist'] == [True, True]
    assert (report['model'], report['unet']) == ('VidRD', 'UNet3DConditionModel')
    assert report['dataset'] == 'MovingShapesDataset'
    assert report['strategy_type'] == 'vidrd.FSDP2Strategy'


def test_checkout_reads_its_own_configs():
    assert find_configs_dir() == osp.join(REPO, 'configs')
    assert shipped_config('vidrd_tiny_shapes.py') == osp.join(REPO, 'configs',
                                                              'vidrd_tiny_shapes.py')


def test_explicit_configs_dir(tmp_path):
    """``configs_dir`` (the tools' ``--configs-dir``) replaces the shipped configs."""
    with pytest.raises(FileNotFoundError, match='no _base_/ folder'):
        find_configs_dir(str(tmp_path))
    strategies = tmp_path / '_base_' / 'strategies'
    strategies.mkdir(parents=True)
    (strategies / 'mine.py').write_text("strategy = dict(type='DDPStrategy')\n"
                                        "runner_type = 'FlexibleRunner'\n")
    assert find_configs_dir(str(tmp_path)) == str(tmp_path)
    assert strategy_config('mine', str(tmp_path)) == str(strategies / 'mine.py')
    with pytest.raises(FileNotFoundError, match='mine'):
        strategy_config('fsdp2', str(tmp_path))  # only the folder's own are known
    cfg = load_config(osp.join(REPO, 'configs', 'vidrd_tiny_shapes.py'), strategy='mine',
                      configs_dir=str(tmp_path))
    assert cfg.strategy.type == 'DDPStrategy'

"""Installing vidrd into an existing environment keeps its torch build: setup.py states ranges,
never pins; the tested versions come from requirements/constraints.txt, which .ci/run and
tools/demo.sh pass to pip. No network: pip resolves against the installed packages only
(``--no-index``), with a fake CPU-only torch / torchvision build first on the path."""
import json
import os
import os.path as osp
import re
import runpy
import subprocess
import sys

import pytest

try:
    from packaging.requirements import Requirement
    from packaging.version import Version
except ImportError:  # pip's copy
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.version import Version

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONSTRAINTS = osp.join(REPO, 'requirements', 'constraints.txt')
#: builds an existing environment may hold: CPU-only and CUDA wheels, an older release
OTHER_BUILDS = {'torch': ['2.1.0', '2.4.1+cpu', '2.14.1+cu128'],
                'torchvision': ['0.16.0', '0.19.1+cpu'], 'mmengine': ['0.10.7']}


@pytest.fixture(scope='module')
def setup_kwargs():
    """The keyword arguments setup.py passes to setuptools.setup (nothing is built)."""
    import setuptools
    captured = {}
    original, cwd = setuptools.setup, os.getcwd()
    setuptools.setup = lambda **kwargs: captured.update(kwargs)
    try:
        os.chdir(REPO)
        runpy.run_path(osp.join(REPO, 'setup.py'))
    finally:
        setuptools.setup = original
        os.chdir(cwd)
    return captured


def _requirements(kwargs):
    reqs = [Requirement(r) for r in kwargs['install_requires']]
    reqs += [Requirement(r) for extra in kwargs['extras_require'].values() for r in extra]
    return reqs


def _constraints():
    lines = [line.split('#')[0].strip() for line in open(CONSTRAINTS, encoding='utf-8')]
    return [Requirement(line) for line in lines if line]


def test_setup_states_ranges_never_pins(setup_kwargs):
    reqs = _requirements(setup_kwargs)
    pinned = [str(r) for r in reqs if any(s.operator in ('==', '===') for s in r.specifier)]
    assert not pinned, f'exact pins in setup.py: {pinned}'
    by_name = {r.name: r for r in reqs}
    for name, versions in OTHER_BUILDS.items():
        for version in versions:
            assert by_name[name].specifier.contains(version, prereleases=True), (name, version)
    assert not by_name['mmengine'].specifier.contains('0.11.0')  # its internals change
    assert set(setup_kwargs['extras_require']) >= {'app', 'tests', 'benchmarks', 'eval',
                                                   'deepspeed'}


def test_constraints_pin_the_tested_versions_inside_the_ranges(setup_kwargs):
    by_name = {r.name: r for r in _requirements(setup_kwargs)}
    pins = {r.name: r for r in _constraints()}
    assert set(pins) >= {'torch', 'torchvision', 'mmengine'}
    for name, pin in pins.items():
        (spec,) = pin.specifier
        assert spec.operator == '==' and by_name[name].specifier.contains(Version(spec.version))
    for script, extra in (('.ci/run', 'tests'), ('tools/demo.sh', 'app')):
        text = open(osp.join(REPO, script), encoding='utf-8').read()
        assert re.search(r"pip install .*-c requirements/constraints\.txt .*-e '\.\[" + extra,
                         text), script


def _fake_distribution(site, name, version, requires=()):
    info = osp.join(site, f'{name}-{version}.dist-info')
    os.makedirs(info)
    with open(osp.join(info, 'METADATA'), 'w') as f:
        f.write(f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n')
        f.writelines(f'Requires-Dist: {r}\n' for r in requires)
    with open(osp.join(info, 'RECORD'), 'w') as f:
        f.write(f'{name}-{version}.dist-info/METADATA,,\n')


def test_pip_keeps_an_installed_cpu_torch_build(tmp_path):
    """``pip install --dry-run --report`` of vidrd where torch 2.4.1+cpu and torchvision
    0.19.1+cpu are installed: vidrd is the only package to install (offline: an exact pin on
    another version would be a resolution error)."""
    pytest.importorskip('pip')
    site = str(tmp_path / 'site')
    _fake_distribution(site, 'torch', '2.4.1+cpu')
    _fake_distribution(site, 'torchvision', '0.19.1+cpu', ['torch==2.4.1'])
    report = str(tmp_path / 'report.json')
    env = dict(os.environ, PYTHONPATH=site, PIP_DISABLE_PIP_VERSION_CHECK='1')
    done = subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '--dry-run', '--report', report, '--quiet',
         '--no-index', '--no-build-isolation', '-e', REPO],
        env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    install = [(item['metadata']['name'], item['metadata']['version'])
               for item in json.load(open(report))['install']]
    assert [name for name, _ in install] == ['vidrd'], install

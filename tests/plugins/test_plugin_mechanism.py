"""The plugin mechanism: custom_imports, duplicate names, force=True, listing, one-way imports,
and the complete example of docs/user_guides/writing_a_plugin.md."""
import ast
import os
import os.path as osp
import re
import runpy
import sys
import textwrap

import pytest
import torch

from vidrd.apis.run_config import load_config
from vidrd.models.long_video import FrameNoiseReversion, LongVideoStrategy
from vidrd.registry import LONG_VIDEO_STRATEGIES, MODELS, DuplicateRegistrationError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PLUGIN_PACKAGES = ('vidrd_freenoise', 'vidrd_animatediff')


@pytest.fixture
def plugin_module(tmp_path, monkeypatch):
    """Write a throwaway plugin module ``name`` with ``source``; forgotten afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    written = []

    def write(name, source):
        (tmp_path / f'{name}.py').write_text(textwrap.dedent(source))
        written.append(name)
        return name

    yield write
    for name in written:
        sys.modules.pop(name, None)


def _causes(error: BaseException) -> str:
    """The messages of an exception and of every error chained below it."""
    messages = []
    while error is not None:
        messages.append(f'{type(error).__name__}: {error}')
        error = error.__cause__ or error.__context__
    return '\n'.join(messages)


def _config(tmp_path, imports) -> str:
    path = tmp_path / 'plugin_config.py'
    path.write_text(f'custom_imports = dict(imports={imports!r}, allow_failed_imports=False)\n'
                    "long_video_sampler = dict(type='ReuseAndDiffuseSampler', num_frames=4)\n")
    return str(path)


def test_a_missing_plugin_stops_the_config_with_its_name(tmp_path):
    with pytest.raises(ImportError, match=r"Failed to import custom modules from .*"
                                          r"vidrd_plugin_that_is_not_installed") as info:
        load_config(_config(tmp_path, ['vidrd_plugin_that_is_not_installed']))
    assert 'PYTHONPATH' in str(info.value)
    assert "No module named 'vidrd_plugin_that_is_not_installed'" in _causes(info.value)


def test_a_plugin_failing_inside_reports_its_own_error(tmp_path, plugin_module):
    plugin_module('vidrd_broken_plugin', 'import a_dependency_the_plugin_forgot\n')
    with pytest.raises(ImportError, match='vidrd_broken_plugin') as info:
        load_config(_config(tmp_path, ['vidrd_broken_plugin']))
    assert "No module named 'a_dependency_the_plugin_forgot'" in _causes(info.value)


def test_registering_a_taken_name_names_both_places(plugins_on_path, tmp_path, plugin_module):
    import vidrd_freenoise  # noqa: F401
    plugin_module('vidrd_clashing_plugin', '''
        from vidrd.models.long_video import LongVideoStrategy
        from vidrd.registry import LONG_VIDEO_STRATEGIES

        @LONG_VIDEO_STRATEGIES.register_module()
        class FreeNoiseRescheduling(LongVideoStrategy):
            pass
    ''')
    with pytest.raises(DuplicateRegistrationError) as info:
        load_config(_config(tmp_path, ['vidrd_clashing_plugin']))
    message = str(info.value)
    assert isinstance(info.value, KeyError)
    assert "'FreeNoiseRescheduling' is already registered" in message
    assert 'vidrd_freenoise.noise_rescheduling.FreeNoiseRescheduling' in message
    assert 'vidrd_clashing_plugin.FreeNoiseRescheduling' in message
    assert '@LONG_VIDEO_STRATEGIES.register_module(force=True)' in message
    # the registered class is unchanged
    registered = LONG_VIDEO_STRATEGIES.get('FreeNoiseRescheduling')
    assert registered is vidrd_freenoise.FreeNoiseRescheduling


def test_a_clash_with_vidrd_is_reported_whatever_the_import_order():
    class FrameNoiseReversion(LongVideoStrategy):  # noqa: F811  (the point of the test)
        pass

    with pytest.raises(KeyError, match=r'frame_noise_reversion\.FrameNoiseReversion.*'
                                       r'test_plugin_mechanism\..*FrameNoiseReversion.*force=True'):
        LONG_VIDEO_STRATEGIES.register_module(module=FrameNoiseReversion)
    # the same class again is not a clash
    LONG_VIDEO_STRATEGIES.register_module(module=LONG_VIDEO_STRATEGIES.get('FrameNoiseReversion'))


def test_force_true_overrides_vidrd_component_for_configs(tmp_path, plugin_module):
    plugin_module('vidrd_overriding_plugin', '''
        from vidrd.models.long_video import FrameNoiseReversion
        from vidrd.registry import LONG_VIDEO_STRATEGIES

        @LONG_VIDEO_STRATEGIES.register_module(name='FrameNoiseReversion', force=True)
        class CountingFrameNoiseReversion(FrameNoiseReversion):
            pass
    ''')
    try:
        cfg = load_config(_config(tmp_path, ['vidrd_overriding_plugin']))
        cfg.long_video_sampler.update(num_prompt_frames=1,
                                      strategies=[dict(type='FrameNoiseReversion')])
        sampler = MODELS.build(cfg.long_video_sampler)
        assert type(sampler.strategies[0]).__name__ == 'CountingFrameNoiseReversion'
    finally:
        LONG_VIDEO_STRATEGIES.register_module(module=FrameNoiseReversion, force=True)
    assert LONG_VIDEO_STRATEGIES.get('FrameNoiseReversion') is FrameNoiseReversion


@pytest.mark.filterwarnings('ignore:.*found in sys.modules:RuntimeWarning')
def test_registry_listing_shows_plugin_components(plugins_on_path, capsys):
    import vidrd_animatediff  # noqa: F401
    import vidrd_freenoise  # noqa: F401
    with pytest.raises(SystemExit) as info:
        runpy.run_module('vidrd.registry', run_name='__main__')
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert re.search(r'FreeNoiseRescheduling\s+vidrd_freenoise\.noise_rescheduling', out)
    assert re.search(r'AnimateDiffMotionModule\s+vidrd_animatediff\.motion_module', out)
    assert re.search(r'FrameNoiseReversion\s+vidrd\.models\.long_video', out)


def test_nothing_in_vidrd_imports_from_plugins():
    offenders = []
    for root, _, files in os.walk(osp.join(REPO, 'vidrd')):
        for name in files:
            if not name.endswith('.py'):
                continue
            path = osp.join(root, name)
            with open(path, encoding='utf-8') as f:
                source = f.read()
            for node in ast.walk(ast.parse(source, path)):
                modules = []
                if isinstance(node, ast.Import):
                    modules = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    modules = [node.module]
                offenders += [f'{path}:{node.lineno} imports {m}' for m in modules
                              if m.split('.')[0] in PLUGIN_PACKAGES + ('plugins',)]
            # nor dynamically (import_module('vidrd_freenoise'), sys.path tricks)
            offenders += [f'{path} names {p}' for p in PLUGIN_PACKAGES if p in source]
            offenders += [f'{path} names the plugins/ folder' for _ in
                          re.findall(r"""['"/]plugins['"/]""", source)]
    assert not offenders, '\n'.join(offenders)


def _doc_files():
    """The ``# file: PATH`` code blocks of docs/user_guides/writing_a_plugin.md."""
    path = osp.join(REPO, 'docs', 'user_guides', 'writing_a_plugin.md')
    with open(path, encoding='utf-8') as f:
        doc = f.read()
    blocks = re.findall(r'```\w*\n# file: (\S+)\n(.*?)```', doc, flags=re.S)
    return {path: body for path, body in blocks}


def test_the_documented_example_plugin_works(tmp_path, monkeypatch, small_options):
    files = _doc_files()
    assert set(files) == {'plugins/vidrd_constant_noise/pyproject.toml',
                          'plugins/vidrd_constant_noise/vidrd_constant_noise/__init__.py',
                          'plugins/vidrd_constant_noise/configs/constant_noise_tiny_shapes.py'}
    for path, body in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(body)
    os.symlink(osp.join(REPO, 'configs'), tmp_path / 'configs')  # the checkout's configs
    monkeypatch.syspath_prepend(str(tmp_path / 'plugins' / 'vidrd_constant_noise'))
    try:
        cfg = load_config(str(tmp_path / 'plugins/vidrd_constant_noise/configs/'
                                         'constant_noise_tiny_shapes.py'), small_options)
        torch.manual_seed(0)
        model = MODELS.build(cfg.model).eval()
        names = [type(s).__name__ for s in model.sampler.strategies]
        assert names == ['FrameNoiseReversion', 'AddConstantToNoise']

        class Record(LongVideoStrategy):
            def __init__(self):
                self.noise = []

            def initial_noise(self, ctx, clip_index, noise):
                self.noise.append(noise)
                return noise

        shifted, plain = Record(), Record()
        model.sampler.strategies.append(shifted)
        video = model.generate(['a red circle moving left'], seed=0)
        assert video.shape == (1, 3, 2 * 4, 16, 16)
        model.sampler.strategies = [model.sampler.strategies[0], plain]
        model.generate(['a red circle moving left'], seed=0)
        # clip 0: fresh noise + 0.1; clip 1: prompt frames reversed from the shifted clip 0,
        # shifted once more, the new frames shifted once
        assert torch.allclose(shifted.noise[0], plain.noise[0] + 0.1)
        assert torch.allclose(shifted.noise[1][:, :, 2:], plain.noise[1][:, :, 2:] + 0.1)
        assert torch.allclose(shifted.noise[1][:, :, :2], plain.noise[1][:, :, :2] + 0.2)
    finally:
        sys.modules.pop('vidrd_constant_noise', None)
        LONG_VIDEO_STRATEGIES._module_dict.pop('AddConstantToNoise', None)

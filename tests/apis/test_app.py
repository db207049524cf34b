"""The web app's logic without a browser (vidrd.apis.app.GenerationApp): the inputs a page
offers (every registered long-video method and strategy, a plugin's included), validation
messages, progress per step (and clip), the video each method writes, and the status line after
an error."""
import os.path as osp
import uuid
from types import SimpleNamespace

import pytest
import torch

from vidrd.apis import load_generation_model
from vidrd.apis.app import GenerationApp, registered_methods, registered_strategies
from vidrd.datasets.video_io import read_video
from vidrd.utils.cli import UserError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(REPO, 'configs', 'vidrd_tiny_shapes.py')


#: the paper's clip sampler as the model's own (the tiny config's default is FIFO-Diffusion):
#: most tests here exercise its strategies, M and per-clip progress
CLIP_SAMPLER = dict(_delete_=True, type='ReuseAndDiffuseSampler', num_frames=4,
                    num_prompt_frames=0, num_inference_steps=2, guidance_scale=1.5,
                    strategies=[], progress=False)


@pytest.fixture(scope='module')
def model_options(tiny_training_options):
    options = {k: v for k, v in tiny_training_options.items() if k.startswith('model.')}
    return dict(options, **{'model.long_video_sampler': CLIP_SAMPLER})


@pytest.fixture(scope='module')
def app(tmp_path_factory, model_options):
    model = load_generation_model(TINY, cfg_options=dict(model_options))
    return GenerationApp(model, out_dir=str(tmp_path_factory.mktemp('app')))


def _request(app, prompt='a red circle moving left', clips=2, seed=0, guidance=1.5, steps=2,
             m=1, enabled=('FrameNoiseReversion', 'StagedGuidanceDenoising'), values=None,
             method=None, method_values=None):
    return app.parse_request(prompt, clips, seed, guidance, steps, m, list(enabled),
                             values or {('StagedGuidanceDenoising', 'beta'): 0.5},
                             method=method, method_values=method_values)


@pytest.fixture
def plugin_sampler():
    """A plugin's method, registered in MODELS under a unique name for one test: co-denoising
    with an editable argument of its own, one the page cannot edit, and the parent's arguments
    passed on through ``**kwargs``."""
    from vidrd.models.long_video import TemporalCoDenoisingSampler
    from vidrd.registry import MODELS
    name = f'AppTestSampler{uuid.uuid4().hex[:8]}'

    class PluginSampler(TemporalCoDenoisingSampler):
        def __init__(self, blend: float = 0.25, taper: tuple = (1.0,), **kwargs):
            super().__init__(**kwargs)
            self.blend, self.taper = blend, taper

    PluginSampler.__name__ = PluginSampler.__qualname__ = name
    MODELS.register_module(name=name, module=PluginSampler)
    yield name, PluginSampler
    MODELS.module_dict.pop(name)


def test_strategies_and_their_parameters_include_a_plugins(monkeypatch):
    monkeypatch.syspath_prepend(osp.join(REPO, 'plugins', 'vidrd_freenoise'))
    import vidrd_freenoise  # noqa: F401  (registers NoiseRescheduling, as custom_imports would)
    strategies = registered_strategies()
    assert {'FrameNoiseReversion', 'PastDependentNoiseSampling',
            'StagedGuidanceDenoising'} <= set(strategies)
    params = {(p.strategy, p.name): p.default for plist in strategies.values() for p in plist}
    assert params[('PastDependentNoiseSampling', 'alpha')] == 1.0
    assert params[('StagedGuidanceDenoising', 'beta')] == 0.2
    from vidrd.registry import LONG_VIDEO_STRATEGIES
    plugin = [name for name in strategies if LONG_VIDEO_STRATEGIES.get(name).__module__
              .startswith('vidrd_freenoise')]
    assert plugin and 'window_stride' in [p.name for p in strategies[plugin[0]]]


def test_progress_every_ddim_step_of_every_clip_and_the_video(app, model_options):
    request = _request(app)
    calls = []
    path, frames = app.generate(request, lambda fraction, text: calls.append((fraction, text)))
    assert len(calls) == 2 * 2  # clips x steps
    assert calls[0][1] == 'clip 1/2, DDIM step 1/2'
    assert calls[-1] == (1.0, 'clip 2/2, DDIM step 2/2')
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)
    video, fps = read_video(path)
    assert fps == app.fps
    assert len(video) == frames == 2 * model_options['model.long_video_sampler.num_frames']
    sampler = app.build_request_sampler(request)
    assert [type(s).__name__ for s in sampler.strategies] == ['FrameNoiseReversion',
                                                              'StagedGuidanceDenoising']
    assert sampler.strategies[1].beta == 0.5 and sampler.num_prompt_frames == 1


def test_unknown_words_are_named(app):
    assert _request(app, prompt='a purple circle moving sideways').unknown_words == [
        'purple', 'sideways']


@pytest.mark.parametrize('changes, message', [
    (dict(prompt='   '), 'Enter a prompt'),
    (dict(prompt='purple hexagon'), 'No word of "purple hexagon" is known'),
    (dict(clips=0), 'Clips must be a whole number from 1'),
    (dict(clips=1.5), 'Clips must be a whole number'),
    (dict(guidance=-1), 'Guidance scale must be >= 1'),
    (dict(steps=0), 'Steps must be'),
    (dict(seed=-3), 'Seed must be'),
    (dict(m=4), 'Prompt frames M must be'),
    (dict(prompt='a red circle\na blue square', clips=3), 'storyline has 2 lines but clips is 3'),
    (dict(clips=None), 'Give a value for clips'),
])
def test_bad_inputs_get_a_message(app, changes, message):
    with pytest.raises(UserError, match=message):
        _request(app, **changes)


def test_a_strategy_that_does_not_fit_is_a_message_not_a_crash(app):
    request = _request(app, m=0)  # FNR needs prompt frames
    with pytest.raises(ValueError, match='num_prompt_frames|M'):
        app.build_request_sampler(request)


def test_the_page_queues_one_request_at_a_time(app):
    page = app.build()
    (generate,) = [fn for fn in page.fns.values() if fn.name == 'run']
    assert generate.queue and generate.concurrency_limit == 1
    labels = {block.label for block in page.blocks.values() if getattr(block, 'label', None)}
    assert {'Clips', 'Seed', 'DDIM steps', 'PastDependentNoiseSampling: alpha',
            'StagedGuidanceDenoising: beta', 'Method', 'TemporalCoDenoisingSampler: stride',
            'TemporalCoDenoisingSampler: weighting', 'FIFODiffusionSampler: lookahead',
            'ReuseAndDiffuseSampler: drop_prompt_frames'} <= labels


# -- every long-video method --------------------------------------------------------------------
def test_every_registered_method_with_its_arguments_a_plugins_too(app, plugin_sampler, tmp_path):
    name, _ = plugin_sampler
    methods = registered_methods()
    assert {'ReuseAndDiffuseSampler', 'TemporalCoDenoisingSampler', 'FIFODiffusionSampler',
            name} <= set(methods)
    params = {(p.method, p.name): p for plist in methods.values() for p in plist}
    assert params[('TemporalCoDenoisingSampler', 'eta')].default == 0.0
    assert params[('TemporalCoDenoisingSampler', 'weighting')].default == 'flat'
    stride = params[('TemporalCoDenoisingSampler', 'stride')]
    assert stride.optional and stride.kind is int
    assert params[('FIFODiffusionSampler', 'lookahead')].default is True
    # the page's shared fields are not offered twice; FIFO's steps replace its partitions
    assert not {('FIFODiffusionSampler', 'num_partitions'),
                ('TemporalCoDenoisingSampler', 'num_inference_steps'),
                ('ReuseAndDiffuseSampler', 'num_prompt_frames')} & set(params)
    assert params[(name, 'blend')].kind is float and (name, 'taper') not in params
    assert (name, 'stride') in params  # passed on to the parent through **kwargs
    page = GenerationApp(app.model, out_dir=str(tmp_path)).build()
    (dropdown,) = [b for b in page.blocks.values() if getattr(b, 'elem_id', None) == 'method']
    assert name in [choice[1] for choice in dropdown.choices]
    assert dropdown.value == type(app.model.sampler).__name__ == 'ReuseAndDiffuseSampler'


@pytest.mark.parametrize('method, clips, steps', [
    ('ReuseAndDiffuseSampler', 2, 2),
    ('TemporalCoDenoisingSampler', 2, 2),
    ('FIFODiffusionSampler', 2, 4),  # a queue of 4 frames (1 partition of 4)
])
def test_every_method_generates_with_progress(app, method, clips, steps):
    request = _request(app, clips=clips, steps=steps, method=method, enabled=(),
                       method_values={('FIFODiffusionSampler', 'windows_per_call'): 1})
    calls = []
    path, frames = app.generate(request, lambda fraction, text: calls.append((fraction, text)))
    sampler = app.build_request_sampler(request)
    assert type(sampler).__name__ == method and sampler.num_inference_steps == steps
    n = sampler.num_frames
    expected = {'ReuseAndDiffuseSampler': clips * steps, 'TemporalCoDenoisingSampler': steps,
                'FIFODiffusionSampler': steps + clips * n}[method]  # warm-up + one per frame
    assert len(calls) == expected and calls[-1][0] == 1.0
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)
    if method == 'ReuseAndDiffuseSampler':
        assert calls[-1][1] == f'clip {clips}/{clips}, DDIM step {steps}/{steps}'
    else:  # one "clip" of all its steps
        assert calls[-1][1] == f'step {expected}/{expected}'
    video, _ = read_video(path)
    assert len(video) == frames == sampler.layout(clips).num_frames


def test_method_settings_are_validated_per_method(app):
    # FIFO takes any number of steps: the queue's length L (f x partitions by default)
    request = _request(app, method='FIFODiffusionSampler', steps=6)
    assert app.build_request_sampler(request).num_inference_steps == 6
    with pytest.raises(UserError, match='Steps must be a whole number from 1'):
        _request(app, method='FIFODiffusionSampler', steps=0)
    # M and the strategies belong to the clip sampler only
    request = _request(app, method='TemporalCoDenoisingSampler', m=99,
                       method_values={('TemporalCoDenoisingSampler', 'stride'): None,
                                      ('TemporalCoDenoisingSampler', 'weighting'): 'pyramid'})
    assert request.num_prompt_frames == 0 and request.strategies == []
    sampler = app.build_request_sampler(request)
    assert sampler.stride == 1 and sampler.weighting == 'pyramid'  # None: N // 4
    for values, message in [({'eta': None}, 'Give a value for TemporalCoDenoisingSampler: eta'),
                            ({'stride': 1.5}, 'TemporalCoDenoisingSampler: stride must be a '
                                              'whole number'),
                            ({'weighting': ' '}, 'Give a value for .*weighting')]:
        with pytest.raises(UserError, match=message):
            _request(app, method='TemporalCoDenoisingSampler', method_values={
                ('TemporalCoDenoisingSampler', k): v for k, v in values.items()})
    with pytest.raises(UserError, match="Unknown method 'Nope'"):
        _request(app, method='Nope')
    # what only the constructor can check is a ValueError: a message in the page
    request = _request(app, method='TemporalCoDenoisingSampler',
                       method_values={('TemporalCoDenoisingSampler', 'stride'): 9})
    with pytest.raises(ValueError, match='stride must be in'):
        app.build_request_sampler(request)


def test_a_request_keeps_the_model_samplers_other_settings():
    from vidrd.models.long_video import ReuseAndDiffuseSampler
    sampler = ReuseAndDiffuseSampler(num_frames=6, num_prompt_frames=2, num_inference_steps=3,
                                     strategies=[dict(type='FrameNoiseReversion')],
                                     seed_compatible=False, drop_prompt_frames=True,
                                     progress=False, autocast_dtype='bf16')
    app = GenerationApp(SimpleNamespace(sampler=sampler, num_clips=1))
    request = _request(app, m=3, enabled=['StagedGuidanceDenoising'])
    assert request.method == 'ReuseAndDiffuseSampler'
    built = app.build_request_sampler(request)
    assert built is not sampler and built.num_frames == 6 and built.num_prompt_frames == 3
    assert (built.seed_compatible, built.drop_prompt_frames) == (False, True)
    assert built.autocast_dtype == torch.bfloat16 and built.progress is False
    assert [type(s).__name__ for s in built.strategies] == ['StagedGuidanceDenoising']
    # another method: its own defaults with the model's N and autocast (--amp)
    other = app.build_request_sampler(_request(app, method='TemporalCoDenoisingSampler'))
    assert (other.num_frames, other.autocast_dtype, other.eta) == (6, torch.bfloat16, 0.0)


def test_a_plugin_samplers_setting_the_page_cannot_edit_is_kept(plugin_sampler):
    name, cls = plugin_sampler
    sampler = cls(blend=0.5, taper=(0.5, 1.0), num_frames=4, stride=2, num_inference_steps=3,
                  progress=False)
    app = GenerationApp(SimpleNamespace(sampler=sampler, num_clips=1))
    request = _request(app, method=name, enabled=())
    assert request.method_args == dict(blend=0.5, stride=2, weighting='flat', eta=0.0,
                                       windows_per_call=None)
    built = app.build_request_sampler(request)
    assert type(built) is cls and built.taper == (0.5, 1.0) and built.stride == 2
    assert built.num_inference_steps == 2 and built.num_frames == 4


def test_the_config_the_model_was_built_with_is_kept():
    from vidrd.models.long_video import FIFODiffusionSampler
    sampler = FIFODiffusionSampler(num_frames=4, num_partitions=2, eta=0.5, progress=False)
    app = GenerationApp(SimpleNamespace(sampler=sampler, num_clips=1), sampler_cfg=dict(
        type='FIFODiffusionSampler', num_frames=4, num_partitions=2, eta=0.5,
        autocast_dtype='bf16'))
    assert app.sampler_cfg['autocast_dtype'] == 'bf16'
    (eta,) = [p for p in app.methods['FIFODiffusionSampler'] if p.name == 'eta']
    assert app.default_method_value(eta) == 0.5
    request = _request(app, steps=12, enabled=())
    built = app.build_request_sampler(request)
    assert (built.num_inference_steps, built.num_partitions) == (12, 2)
    assert (built.eta, built.autocast_dtype) == (0.5, torch.bfloat16)


def test_the_status_line_is_cleared_before_every_run(app):
    import gradio as gr
    page = app.build()
    fns = {fn.name: fn for fn in page.fns.values()}
    clear, run = fns['clear_status'], fns['run']
    (status,) = [b for b in page.blocks.values() if getattr(b, 'elem_id', None) == 'status']
    (button,) = [b for b in page.blocks.values() if getattr(b, 'elem_id', None) == 'generate']
    # the click clears the status, then runs whatever happened before
    assert [o._id for o in clear.outputs] == [status._id]
    assert (button._id, 'click') in clear.targets and clear.fn() == ''
    assert run.trigger_after == clear._id and not run.trigger_only_on_success
    # an error is raised as the page's message, leaving the cleared status as it is
    with pytest.raises(gr.Error, match='Enter a prompt'):
        run.fn('', 1, 0, 1.5, 2, 'ReuseAndDiffuseSampler', 0, [],
               *[None] * (len(run.inputs) - 8))


def test_the_page_starts_on_the_tiny_configs_own_method(tiny_training_options, tmp_path):
    options = {k: v for k, v in tiny_training_options.items() if k.startswith('model.')}
    app = GenerationApp(load_generation_model(TINY, cfg_options=options), out_dir=str(tmp_path))
    request = _request(app, clips=2)
    assert request.method == 'FIFODiffusionSampler'
    path, frames = app.generate(request)
    assert frames == len(read_video(path)[0]) == 2 * options['model.long_video_sampler.num_frames']


def test_methods_and_strategies_are_matched_by_class_not_by_name():
    """The model's sampler and strategies are found by their class in the registries: a class
    registered under another name than its own is preselected under that name, with its
    settings, and a subclass does not lend its settings to its parent's fields."""
    from vidrd.models.long_video import ReuseAndDiffuseSampler, StagedGuidanceDenoising
    from vidrd.registry import LONG_VIDEO_STRATEGIES, MODELS
    suffix = uuid.uuid4().hex[:8]
    method, strategy = f'AppTestClipSampler{suffix}', f'AppTestGuidance{suffix}'

    class Sampler(ReuseAndDiffuseSampler):
        pass

    class Guidance(StagedGuidanceDenoising):
        pass

    MODELS.register_module(name=method, module=Sampler)
    LONG_VIDEO_STRATEGIES.register_module(name=strategy, module=Guidance)
    try:
        sampler = Sampler(num_frames=4, num_prompt_frames=1, num_inference_steps=2,
                          strategies=[Guidance(beta=0.3)], progress=False)
        app = GenerationApp(SimpleNamespace(sampler=sampler, num_clips=1))
        assert app.default_method == method and app.sampler_cfg['type'] == method
        assert app.default_strategies() == [strategy]
        beta = {p.strategy: p for params in app.strategies.values() for p in params
                if p.name == 'beta'}
        assert app.default_value(beta[strategy]) == 0.3
        assert app.default_value(beta['StagedGuidanceDenoising']) == 0.2  # its own default
        built = app.build_request_sampler(_request(app, enabled=[strategy],
                                                   values={(strategy, 'beta'): 0.4}))
        assert type(built) is Sampler and built.num_frames == 4
        assert [(type(s), s.beta) for s in built.strategies] == [(Guidance, 0.4)]
    finally:
        MODELS.module_dict.pop(method)
        LONG_VIDEO_STRATEGIES.module_dict.pop(strategy)

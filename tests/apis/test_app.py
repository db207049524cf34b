"""The web app's logic without a browser (vidrd.apis.app.GenerationApp): the inputs a page
offers (a plugin's strategy included), validation messages, progress per DDIM step and clip,
and the video it writes."""
import os.path as osp

import pytest

from vidrd.apis import load_generation_model
from vidrd.apis.app import GenerationApp, registered_strategies
from vidrd.datasets.video_io import read_video
from vidrd.utils.cli import UserError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(REPO, 'configs', 'vidrd_tiny_shapes.py')


@pytest.fixture(scope='module')
def model_options(tiny_training_options):
    return {k: v for k, v in tiny_training_options.items() if k.startswith('model.')}


@pytest.fixture(scope='module')
def app(tmp_path_factory, model_options):
    model = load_generation_model(TINY, cfg_options=dict(model_options))
    return GenerationApp(model, out_dir=str(tmp_path_factory.mktemp('app')))


def _request(app, prompt='a red circle moving left', clips=2, seed=0, guidance=1.5, steps=2,
             m=1, enabled=('FrameNoiseReversion', 'StagedGuidanceDenoising'), values=None):
    return app.parse_request(prompt, clips, seed, guidance, steps, m, list(enabled),
                             values or {('StagedGuidanceDenoising', 'beta'): 0.5})


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
            'StagedGuidanceDenoising: beta'} <= labels

"""A third-party strategy: defined outside vidrd/, registered, and named in a config."""
import sys
import textwrap

import torch
from mmengine.config import Config
from mmengine.utils import import_modules_from_strings

from vidrd.models.long_video import LongVideoStrategy
from vidrd.registry import LONG_VIDEO_STRATEGIES, MODELS


@LONG_VIDEO_STRATEGIES.register_module(force=True)
class DampFirstFrameForTest(LongVideoStrategy):
    """Scales frame 0 of every clip's initial noise (a made-up strategy)."""

    def __init__(self, factor: float = 0.5):
        self.factor = factor
        self.clips_seen = []

    def initial_noise(self, ctx, clip_index, noise):
        noise = noise.clone()
        noise[:, :, 0] *= self.factor
        return noise

    def end_of_clip(self, ctx, clip_index):
        self.clips_seen.append(clip_index)


CONFIG = '''
long_video_sampler = dict(
    type='ReuseAndDiffuseSampler', num_frames=4, num_prompt_frames=1, num_inference_steps=3,
    guidance_scale=1.0, progress=False,
    strategies=[dict(type='FrameNoiseReversion'), dict(type='DampFirstFrameForTest', factor=0.0)])
'''


def test_strategy_from_test_module_used_from_config(toy_unet, toy_scheduler, embeds):
    cfg = Config.fromstring(CONFIG, file_format='.py')
    sampler = MODELS.build(cfg.long_video_sampler)
    plugin = sampler.strategies[1]
    assert isinstance(plugin, DampFirstFrameForTest) and plugin.factor == 0.0
    seen = []
    sampler.strategies.append(type('Spy', (LongVideoStrategy,), dict(
        initial_noise=lambda self, ctx, i, noise: seen.append(noise.clone()) or noise))())
    sampler.sample(toy_unet, toy_scheduler, embeds[0], latent_shape=(4, 2, 2), num_clips=2, seed=0)
    assert plugin.clips_seen == [0, 1]
    assert all(torch.equal(n[:, :, 0], torch.zeros_like(n[:, :, 0])) for n in seen)


def test_plugin_package_loaded_with_custom_imports(tmp_path, monkeypatch, toy_unet,
                                                    toy_scheduler, embeds):
    """As a user would: their own package, named in ``custom_imports``, nothing in vidrd/."""
    (tmp_path / 'my_vidrd_plugin.py').write_text(textwrap.dedent('''
        from vidrd.models.long_video import LongVideoStrategy
        from vidrd.registry import LONG_VIDEO_STRATEGIES

        @LONG_VIDEO_STRATEGIES.register_module(force=True)
        class ZeroNoiseForTest(LongVideoStrategy):
            def initial_noise(self, ctx, clip_index, noise):
                return noise * 0
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = Config.fromstring(textwrap.dedent('''
        custom_imports = dict(imports=['my_vidrd_plugin'], allow_failed_imports=False)
        long_video_sampler = dict(type='ReuseAndDiffuseSampler', num_frames=4,
                                  num_prompt_frames=1, guidance_scale=1.0, progress=False,
                                  num_inference_steps=2, strategies=[dict(type='ZeroNoiseForTest')])
    '''), file_format='.py')
    import_modules_from_strings(**cfg.custom_imports)
    try:
        sampler = MODELS.build(cfg.long_video_sampler)
        out = sampler.sample(toy_unet, toy_scheduler, embeds[0], latent_shape=(4, 2, 2), seed=0)
        assert type(sampler.strategies[0]).__name__ == 'ZeroNoiseForTest'
        # from zero noise the toy model's trajectory is the same for every seed
        again = sampler.sample(toy_unet, toy_scheduler, embeds[0], latent_shape=(4, 2, 2), seed=9)
        assert torch.equal(out.clip_latents, again.clip_latents)
    finally:
        sys.modules.pop('my_vidrd_plugin', None)

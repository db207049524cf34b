"""Step caching (DeepCache) in the long-video samplers: off (or every step full) is
bit-identical, each clip / window group is its own stream, FIFO-Diffusion refuses it."""
import pytest
import torch

from long_video_toys import FrameWiseToyUNet
from vidrd.models.long_video import (FIFODiffusionSampler, ReuseAndDiffuseSampler,
                                     TemporalCoDenoisingSampler)
from vidrd.models.schedulers import DDIMScheduler, DPMSolverMultistepScheduler
from vidrd.models.unets import UNet3DConditionModel

LATENT = (4, 8, 8)
STRATEGIES = [dict(type='FrameNoiseReversion'), dict(type='PastDependentNoiseSampling'),
              dict(type='StagedGuidanceDenoising', beta=0.5)]


@pytest.fixture(scope='module')
def unet():
    torch.manual_seed(0)
    model = UNet3DConditionModel(
        block_out_channels=(32, 32), down_block_types=('CrossAttnDownBlock2D', 'DownBlock2D'),
        up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D'), layers_per_block=1,
        num_attention_heads=2, cross_attention_dim=4, norm_num_groups=8)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape))
    return model.eval()


class CacheLog:
    """Keeps the U-Net's cache log at the end of the run (the session drops the cache)."""

    def __init__(self, unet):
        self.unet, self.log = unet, None
        self._session = unet.step_cache_session

    def __enter__(self):
        def session(**kwargs):
            import contextlib

            @contextlib.contextmanager
            def kept():
                with self._session(**kwargs) as cache:
                    yield cache
                    self.log = list(cache.log)
            return kept()
        self.unet.step_cache_session = session
        return self

    def __exit__(self, *exc):
        del self.unet.step_cache_session


def _clip_sampler(step_cache=None, steps=4, **kwargs):
    return ReuseAndDiffuseSampler(num_frames=4, num_prompt_frames=2, num_inference_steps=steps,
                                  guidance_scale=2.0, strategies=STRATEGIES, progress=False,
                                  step_cache=step_cache, **kwargs)


@pytest.mark.parametrize('scheduler', [DDIMScheduler, DPMSolverMultistepScheduler])
def test_every_step_full_is_bit_identical_to_no_caching(unet, embeds, scheduler):
    plain = _clip_sampler().sample(unet, scheduler(), *embeds, latent_shape=LATENT,
                                   num_clips=2, seed=0)
    full = _clip_sampler(dict(interval=1, branch=2)).sample(
        unet, scheduler(), *embeds, latent_shape=LATENT, num_clips=2, seed=0)
    assert torch.equal(plain.clip_latents, full.clip_latents)
    assert unet.step_cache is None


def test_each_clip_starts_in_full_and_reuses_only_its_own_features(unet, embeds):
    """interval 2, 5 steps, 3 clips: full at steps 0, 2, 4 of every clip, in the clip's own
    stream; clip 0 equals the same run of one clip (nothing of later clips leaks back) and
    later clips differ from the uncached run by a small amount only."""
    with CacheLog(unet) as probe:
        out = _clip_sampler(dict(interval=2, branch=2), steps=5).sample(
            unet, DDIMScheduler(), *embeds, latent_shape=LATENT, num_clips=3, seed=0)
    assert probe.log == [(('clip', i), s % 2 == 0) for i in range(3) for s in range(5)]
    one = _clip_sampler(dict(interval=2, branch=2), steps=5).sample(
        unet, DDIMScheduler(), *embeds, latent_shape=LATENT, num_clips=1, seed=0)
    assert torch.equal(out.clip_latents[0], one.clip_latents[0])
    plain = _clip_sampler(steps=5).sample(unet, DDIMScheduler(), *embeds, latent_shape=LATENT,
                                          num_clips=3, seed=0)
    change = (out.clip_latents - plain.clip_latents).norm() / plain.clip_latents.norm()
    assert 0 < change < 0.2


def test_reconstruction_guidance_caches_the_unconditional_branch_only(unet, embeds):
    """Its conditional branch runs in grad mode (the reconstruction gradient): always full."""
    sampler = ReuseAndDiffuseSampler(
        num_frames=4, num_prompt_frames=2, num_inference_steps=4, guidance_scale=2.0,
        progress=False, drop_prompt_frames=True, step_cache=dict(interval=2, branch=2),
        strategies=[dict(type='ReconstructionGuidance', weight=1.0)])
    with CacheLog(unet) as probe:
        out = sampler.sample(unet, DDIMScheduler(), *embeds, latent_shape=LATENT, num_clips=2,
                             seed=0)
    assert torch.isfinite(out.clip_latents).all()
    # clip 0: the guided 2B call; clip 1: the unconditional B call (the conditional one
    # bypasses the cache)
    assert probe.log == [(('clip', 0), s % 2 == 0) for s in range(4)] + [
        (('clip', 1), s % 2 == 0) for s in range(4)]


def test_co_denoising_window_groups_are_streams_of_their_own(unet, embeds):
    """With one window per call, each window reuses only its own features: the same video as
    all windows in one call (one stream). Reusing one group's features for another (one
    stream for all groups) would not be."""
    def run(windows_per_call, cache=dict(interval=2, branch=2)):
        sampler = TemporalCoDenoisingSampler(num_frames=4, stride=2, num_inference_steps=4,
                                             guidance_scale=2.0, progress=False,
                                             windows_per_call=windows_per_call, step_cache=cache)
        out = sampler.sample(unet, DDIMScheduler(), *embeds, latent_shape=LATENT, num_clips=2,
                             seed=0)
        return torch.cat(list(out.clip_latents), dim=2)

    with CacheLog(unet) as probe:
        one_by_one = run(1)
    groups = [(('windows', (a,)), s % 2 == 0) for s in range(4) for a in (0, 2, 4)]
    assert probe.log == groups
    batched = run(None)
    torch.testing.assert_close(one_by_one, batched, atol=1e-5, rtol=1e-5)
    plain = run(1, cache=None)
    assert (one_by_one - plain).abs().max() > 1e-4  # caching did change the numbers

    # what a shared stream would do: group 2 takes group 1's features
    sampler = TemporalCoDenoisingSampler(num_frames=4, stride=2, num_inference_steps=4,
                                         guidance_scale=2.0, progress=False, windows_per_call=1,
                                         step_cache=dict(interval=2, branch=2))
    sampler._cache_stream = lambda run, stream: (
        run.step_cache.use('one stream') if run.step_cache is not None else None)
    out = sampler.sample(unet, DDIMScheduler(), *embeds, latent_shape=LATENT, num_clips=2,
                         seed=0)
    wrong = torch.cat(list(out.clip_latents), dim=2)
    assert (wrong - batched).abs().max() > 100 * (one_by_one - batched).abs().max() + 1e-4


def test_refusals_in_one_line(embeds):
    with pytest.raises(ValueError, match='FIFODiffusionSampler: step_cache=.* does not apply'):
        FIFODiffusionSampler(num_frames=4, step_cache=dict(interval=2))
    with pytest.raises(ValueError, match=r'step_cache must be None \(off\) or dict'):
        _clip_sampler(dict(interval=2, layer=1))
    with pytest.raises(ValueError, match='step_cache interval must be an int >= 1'):
        _clip_sampler(dict(interval=0))
    with pytest.raises(ValueError) as err:
        _clip_sampler(dict(interval=2)).sample(FrameWiseToyUNet(), DDIMScheduler(), *embeds,
                                               latent_shape=(3, 2, 2), num_clips=1, seed=0)
    assert '\n' not in str(err.value)
    assert 'step_cache needs a U-Net with skip branches' in str(err.value)
    assert 'FrameWiseToyUNet has none' in str(err.value)
    assert 'step_cache' in repr(_clip_sampler(dict(interval=2)))

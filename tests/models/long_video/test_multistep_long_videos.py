"""Multistep solvers (DPM-Solver++, UniPC) in the long-video methods: one trajectory per clip,
replaced frames restart theirs, co-denoising steps the whole video, FIFO-Diffusion refuses."""
import pytest
import torch

from long_video_toys import FrameWiseToyUNet, Recorder
from test_temporal_co_denoising import LATENT, reference
from vidrd.models.long_video import (FIFODiffusionSampler, ReuseAndDiffuseSampler,
                                     StagedGuidanceDenoising, TemporalCoDenoisingSampler)
from vidrd.models.long_video.temporal_co_denoising import window_weights
from vidrd.models.schedulers import (DDIMScheduler, DPMSolverMultistepScheduler,
                                     UniPCMultistepScheduler)

SOLVERS = [DPMSolverMultistepScheduler, UniPCMultistepScheduler]
N, M, STEPS = 4, 2, 5


class RecordingSolver:
    """Wraps a solver; records each step's restart mask and the state it starts from."""

    def __init__(self, solver):
        self.solver, self.calls = solver, []

    def __getattr__(self, name):
        return getattr(self.solver, name)

    def step(self, model_output, timestep, sample, restart=None):
        self.calls.append(dict(t=int(timestep), restart=restart,
                               fresh=self.solver.state.step_index is None))
        return self.solver.step(model_output, timestep, sample, restart=restart)


def _sampler(strategies, steps=STEPS, **kwargs):
    return ReuseAndDiffuseSampler(num_frames=N, num_prompt_frames=M, num_inference_steps=steps,
                                  guidance_scale=2.0, strategies=strategies, progress=False,
                                  seed_compatible=False, **kwargs)


@pytest.mark.parametrize('solver', SOLVERS)
def test_each_clip_is_its_own_trajectory(embeds, solver):
    """Without strategies, clip i equals a fresh solver run from clip i's noise: the state is
    reset at every clip's start, and nothing restarts."""
    recorder = Recorder()
    scheduler = RecordingSolver(solver())
    unet = FrameWiseToyUNet()
    out = _sampler([recorder]).sample(unet, scheduler, *embeds, latent_shape=(3, 2, 2),
                                      num_clips=3, seed=0)
    assert [c['fresh'] for c in scheduler.calls] == ([True] + [False] * (STEPS - 1)) * 3
    assert all(c['restart'] is None for c in scheduler.calls)
    alone, sampler = solver(), _sampler([])
    timesteps = alone.set_timesteps(STEPS)
    embeds_2b = torch.cat([embeds[1], embeds[0]])
    for i in range(3):
        latents = recorder.initial[i]
        for t in timesteps:
            eps = sampler._guided_eps(unet, latents, t, embeds_2b, 2.0)
            latents = alone.step(eps, int(t), latents)
        alone.reset_state()
        assert torch.equal(out.clip_latents[i], latents), i


@pytest.mark.parametrize('solver', SOLVERS)
def test_dsg_replaced_frames_restart_exactly_at_their_guided_steps(embeds, solver):
    """DSG replaces prompt frame j before step s < (M - j) (S / M) beta: the solver restarts
    exactly those frames at exactly those steps (from step 1 on; step 0 starts the clip)."""
    beta = 0.8
    dsg = StagedGuidanceDenoising(beta)
    scheduler = RecordingSolver(solver())
    out = _sampler([dict(type='FrameNoiseReversion'), dsg]).sample(
        FrameWiseToyUNet(), scheduler, *embeds, latent_shape=(3, 2, 2), num_clips=3, seed=0)
    assert torch.isfinite(out.clip_latents).all()
    for k, call in enumerate(scheduler.calls):
        clip, s = divmod(k, STEPS)
        guided = dsg.guided_frames(M, STEPS, s) if clip > 0 and s > 0 else []
        if not guided:
            assert call['restart'] is None, (clip, s)
            continue
        expected = torch.zeros(2, N, dtype=torch.bool)
        expected[:, guided] = True
        assert torch.equal(call['restart'], expected), (clip, s)


@pytest.mark.parametrize('solver', SOLVERS)
def test_strategy_invariants_hold_with_the_solver(embeds, solver):
    """FNR / PNS / DSG equations on what the strategies produced, with the solver's steps in
    between (the toy-model version of tiny_backbones.check_strategy_invariants, S = 5)."""
    fresh, edited = Recorder(), Recorder()
    alpha, beta = 1.0, 0.8
    out = _sampler([fresh, dict(type='FrameNoiseReversion'),
                    dict(type='PastDependentNoiseSampling', alpha=alpha),
                    dict(type='StagedGuidanceDenoising', beta=beta), edited]).sample(
        FrameWiseToyUNet(), solver(), *embeds, latent_shape=(3, 2, 2), num_clips=3, seed=0)
    assert torch.isfinite(out.clip_latents).all()
    weight, std = alpha / (1 + alpha ** 2) ** 0.5, 1 / (1 + alpha ** 2) ** 0.5
    for i in range(1, 3):
        prev, now = edited.initial[i - 1], edited.initial[i]
        for j in range(N):
            if j < M:
                assert torch.equal(now[:, :, j], prev[:, :, N - 1 - j])
            else:
                torch.testing.assert_close(now[:, :, j], weight * prev[:, :, N - 1 - j]
                                           + std * fresh.initial[i][:, :, j])
        for s in range(STEPS):
            for j in range(M):
                copied = torch.equal(edited.steps[i, s][:, :, j],
                                     edited.steps[i - 1, s][:, :, N - 1 - j])
                assert copied == (s < (M - j) * (STEPS / M) * beta), (i, s, j)


def test_ddim_steps_are_untouched_by_the_restart_rule(embeds):
    """DDIM keeps no history: the sampler calls its step exactly as before (no restart
    argument), so DSG with DDIM is bit-exact (the parity tests with the original release)."""
    calls = []

    class PlainDDIM(DDIMScheduler):
        def step(self, model_output, timestep, sample, **kwargs):
            calls.append(kwargs)
            return super().step(model_output, timestep, sample, **kwargs)

    _sampler([dict(type='FrameNoiseReversion'), dict(type='StagedGuidanceDenoising', beta=1)]
             ).sample(FrameWiseToyUNet(), PlainDDIM(), *embeds, latent_shape=(3, 2, 2),
                      num_clips=2, seed=0)
    assert calls == [{}] * (2 * STEPS)


@pytest.mark.parametrize('solver', SOLVERS)
def test_reconstruction_guidance_restarts_the_prompt_frames_at_every_step(embeds, solver):
    scheduler = RecordingSolver(solver())
    out = _sampler([dict(type='ReconstructionGuidance', weight=1.0)], steps=4,
                   drop_prompt_frames=True).sample(
        FrameWiseToyUNet(), scheduler, *embeds, latent_shape=(3, 2, 2), num_clips=2, seed=0)
    assert torch.isfinite(out.clip_latents).all()
    prompt = torch.zeros(2, N, dtype=torch.bool)
    prompt[:, :M] = True
    masks = [c['restart'] for c in scheduler.calls]
    assert all(m is None for m in masks[:5])  # clip 0, and clip 1's first step
    assert all(torch.equal(m, prompt) for m in masks[5:])


def test_a_diffusers_solver_is_refused_where_strategies_replace_latents(embeds):
    diffusers = pytest.importorskip('diffusers')
    scheduler = diffusers.DPMSolverMultistepScheduler()
    with pytest.raises(ValueError, match='StagedGuidanceDenoising replace latents between steps'
                       ".*DPMSolverMultistepScheduler cannot follow"):
        _sampler([dict(type='StagedGuidanceDenoising', beta=0.5)]).sample(
            FrameWiseToyUNet(), scheduler, *embeds, latent_shape=(3, 2, 2), num_clips=2, seed=0)


@pytest.mark.parametrize('solver', SOLVERS)
def test_co_denoising_is_one_trajectory_of_the_whole_video(embeds, solver):
    unet = FrameWiseToyUNet()
    clips, n, stride = 3, 4, 2
    cond, uncond = [embeds[0]] * clips, [embeds[1]] * clips
    sampler = TemporalCoDenoisingSampler(num_frames=n, stride=stride, num_inference_steps=4,
                                         guidance_scale=2.0, progress=False)
    out = sampler.sample(unet, solver(), cond, uncond, latent_shape=LATENT, seed=7)
    expected = reference(unet, solver(), cond, uncond, 2.0, clips, n, stride,
                         window_weights(n, 'flat'), 4, seed=7)
    torch.testing.assert_close(torch.cat(list(out.clip_latents), dim=2), expected,
                               atol=1e-6, rtol=1e-6)
    eta = TemporalCoDenoisingSampler(num_frames=n, eta=0.5, progress=False)
    with pytest.raises(ValueError, match=rf'eta=0.5 .*\({solver.__name__} is a deterministic'):
        eta.sample(unet, solver(), cond, uncond, latent_shape=LATENT, seed=7)


@pytest.mark.parametrize('solver', SOLVERS)
def test_fifo_diffusion_refuses_a_multistep_solver_in_one_line(embeds, solver):
    sampler = FIFODiffusionSampler(num_frames=4, num_partitions=1, progress=False)
    with pytest.raises(ValueError) as err:
        sampler.sample(FrameWiseToyUNet(), solver(), *embeds, latent_shape=LATENT,
                       num_clips=1, seed=0)
    message = str(err.value)
    assert '\n' not in message
    assert message.startswith(f'FIFODiffusionSampler cannot use {solver.__name__}: ')
    assert 'per-frame timesteps' in message and 'use DDIMScheduler' in message


@pytest.mark.parametrize('solver', ['DPMSolverMultistepScheduler', 'UniPCMultistepScheduler'])
def test_any_config_selects_a_solver_by_type(tiny_config_options, solver):
    """``model.sampling_scheduler.type`` switches the tiny config's DDIM (its DDIM-only keys
    stay and are accepted); the model generates a storyline with FNR + DSG; its own
    FIFO-Diffusion sampler refuses the solver."""
    import os.path as osp
    from vidrd.apis.run_config import load_config
    from vidrd.registry import MODELS
    config = osp.join(osp.dirname(__file__), '..', '..', '..', 'configs', 'vidrd_tiny_shapes.py')
    cfg = load_config(config, dict(tiny_config_options,
                                   **{'model.sampling_scheduler.type': solver}))
    model = MODELS.build(cfg.model).eval()
    scheduler = model.sampling_scheduler
    assert type(scheduler).__name__ == solver and scheduler.clip_sample
    assert scheduler.prediction_type == model.noise_schedule.prediction_type == 'sample'
    sampler = ReuseAndDiffuseSampler(
        num_frames=4, num_prompt_frames=2, num_inference_steps=4, guidance_scale=2.0,
        progress=False, strategies=[dict(type='FrameNoiseReversion'),
                                    dict(type='StagedGuidanceDenoising', beta=1.0)])
    video = model.generate(['a red circle moving left'], num_clips=2, seed=0, sampler=sampler)
    assert video.shape[2] == 8 and torch.isfinite(video).all()
    with pytest.raises(ValueError, match=f'FIFODiffusionSampler cannot use {solver}'):
        model.generate(['a red circle moving left'], num_clips=1, seed=0)


@pytest.mark.parametrize('solver', SOLVERS)
def test_a_samplers_own_scheduler_solves_over_the_models_noise_schedule(embeds, solver):
    """``scheduler=dict(type=...)`` given the model's DDIM scheduler equals that solver built
    by hand with the DDIM scheduler's betas, prediction type and clipping."""
    model_scheduler = DDIMScheduler(beta_schedule='squaredcos_cap_v2', prediction_type='sample',
                                    clip_sample=True, steps_offset=0)
    own = _sampler([StagedGuidanceDenoising(beta=1.0)],
                   scheduler=dict(type=solver.__name__, solver_order=2))
    by_hand = solver(beta_schedule='squaredcos_cap_v2', prediction_type='sample',
                     clip_sample=True)
    unet = FrameWiseToyUNet()
    kwargs = dict(latent_shape=(3, 2, 2), num_clips=2, seed=0)
    out = own.sample(unet, model_scheduler, *embeds, **kwargs)
    expected = _sampler([StagedGuidanceDenoising(beta=1.0)]).sample(unet, by_hand, *embeds,
                                                                    **kwargs)
    assert torch.allclose(out.clip_latents, expected.clip_latents, rtol=1e-6, atol=1e-7)
    # and the model's scheduler itself is left as it was (no solver state on it)
    assert not hasattr(model_scheduler, 'state')
    # without its own scheduler, a sampler uses the given one (DDIM here): another result
    ddim = _sampler([StagedGuidanceDenoising(beta=1.0)]).sample(unet, model_scheduler, *embeds,
                                                                **kwargs)
    assert not torch.allclose(ddim.clip_latents, out.clip_latents)


def test_a_samplers_own_scheduler_is_checked(embeds):
    with pytest.raises(ValueError, match=r"scheduler must be None .* registered type"):
        _sampler([], scheduler=dict(type='NoSuchScheduler'))
    with pytest.raises(ValueError, match='scheduler must be None'):
        _sampler([], scheduler='DPMSolverMultistepScheduler')
    # FIFO-Diffusion takes its own DDIM, and refuses a solver as it refuses the model's
    fifo = FIFODiffusionSampler(num_frames=4, num_partitions=1, progress=False,
                                scheduler=dict(type='UniPCMultistepScheduler'))
    with pytest.raises(ValueError, match='cannot use UniPCMultistepScheduler'):
        fifo.sample(FrameWiseToyUNet(), DDIMScheduler(), *embeds, latent_shape=(3, 2, 2),
                    num_clips=2, seed=0)

    class ForeignScheduler:  # e.g. a diffusers scheduler: no noise schedule to read
        pass

    with pytest.raises(ValueError, match="ForeignScheduler is not: set the model's"):
        _sampler([], scheduler=dict(type='DDIMScheduler')).sample(
            FrameWiseToyUNet(), ForeignScheduler(), *embeds, latent_shape=(3, 2, 2),
            num_clips=1, seed=0)

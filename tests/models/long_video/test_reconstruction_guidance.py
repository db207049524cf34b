"""ReconstructionGuidance (Ho et al. 2022, Sec. 3.1): on a U-Net that is linear in its input
the guidance gradient has a closed form, which the strategy's output must equal."""
import pytest
import torch
from torch import nn

from vidrd.models.long_video import ReconstructionGuidance, ReuseAndDiffuseSampler
from vidrd.models.schedulers import DDIMScheduler

N, M, STEPS, LATENT = 4, 2, 3, (3, 2, 2)


class LinearToyUNet(nn.Module):
    """out[:, :, f] = sum_g W[f, g] x[:, :, g] + mean of the prompt embedding: linear in x, and
    mixing frames, so the prompt frames' reconstruction depends on the new frames."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.weight = nn.Parameter(0.3 * torch.randn(N, N, generator=g) + torch.eye(N) * 0.5)

    def forward(self, sample, timestep, encoder_hidden_states):
        bias = encoder_hidden_states.mean(dim=(1, 2)).view(-1, 1, 1, 1, 1)
        return torch.einsum('fg,bcghw->bcfhw', self.weight, sample) + bias


class Recording(ReconstructionGuidance):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.calls = []

    def denoise(self, ctx, clip_index, step_index, latents, denoiser):
        out = super().denoise(ctx, clip_index, step_index, latents, denoiser)
        self.calls.append(dict(clip=clip_index, step=step_index, latents=latents.clone(),
                               out=out.clone(), t=int(denoiser.timestep),
                               prompt=None if clip_index == 0 else
                               ctx.prev_final_latents[:, :, N - M:].clone()))
        return out


def _sample(strategies, embeds, clips=2, scale=2.0):
    sampler = ReuseAndDiffuseSampler(num_frames=N, num_prompt_frames=M,
                                     num_inference_steps=STEPS, guidance_scale=scale,
                                     drop_prompt_frames=True, strategies=strategies,
                                     progress=False)
    unet = LinearToyUNet()
    scheduler = DDIMScheduler(prediction_type='sample')
    out = sampler.sample(unet, scheduler, *embeds, latent_shape=LATENT, num_clips=clips, seed=0)
    return out, unet, scheduler


def test_the_correction_equals_the_closed_form_gradient(embeds):
    weight_r, scale = 1.5, 2.0
    strategy = Recording(weight=weight_r, max_correction_rms=None)
    _, unet, scheduler = _sample([strategy], embeds, scale=scale)
    cond, uncond = embeds
    W = unet.weight.detach()
    later = [c for c in strategy.calls if c['clip'] == 1]
    assert len(later) == STEPS
    for call in later:
        z, x_a = call['latents'], call['prompt']
        mix = torch.einsum('fg,bcghw->bcfhw', W, z)
        out_c = mix + cond.mean(dim=(1, 2)).view(-1, 1, 1, 1, 1)
        out_u = mix + uncond.mean(dim=(1, 2)).view(-1, 1, 1, 1, 1)
        guided = out_u + scale * (out_c - out_u)
        # d/dz ||x^a - (W z + b)^a||^2 = -2 W[a, :]^T (x^a - x0_c^a); its b columns
        residual = x_a - out_c[:, :, :M]
        grad_b = -2 * torch.einsum('fg,bcfhw->bcghw', W[:M, M:], residual)
        signal = scheduler.alphas_cumprod[call['t']] ** 0.5
        expected_b = guided[:, :, M:] - weight_r * signal / 2 * grad_b
        torch.testing.assert_close(call['out'][:, :, M:], expected_b, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(call['out'][:, :, :M], guided[:, :, :M], atol=1e-6, rtol=0)


def test_prompt_frames_are_the_previous_clip_in_playing_order(embeds):
    strategy = Recording(weight=0.0)
    out, _, scheduler = _sample([strategy], embeds)
    first = out.clip_latents[0]
    for call in strategy.calls:
        if call['clip'] == 0:
            continue
        assert torch.equal(call['prompt'], first[:, :, N - M:])  # frames N-M.., not mirrored
        a = scheduler.alphas_cumprod[call['t']]
        eps = (call['latents'][:, :, :M] - a ** 0.5 * call['prompt']) / (1 - a) ** 0.5
        assert 0.5 < eps.std() < 1.5  # re-noised with fresh unit noise at every step
    noises = [(c['latents'][:, :, :M] - scheduler.alphas_cumprod[c['t']] ** 0.5 * c['prompt'])
              for c in strategy.calls if c['clip'] == 1]
    assert not torch.allclose(noises[0], noises[1])


def test_first_clip_and_zero_weight_change_nothing(embeds):
    plain, _, _ = _sample([], embeds, clips=1)
    guided, _, _ = _sample([ReconstructionGuidance(weight=3.0)], embeds, clips=1)
    assert torch.equal(plain.clip_latents, guided.clip_latents)
    strategy = Recording(weight=0.0)
    _sample([strategy], embeds)
    unet = LinearToyUNet()
    for call in strategy.calls:
        cond, uncond = embeds
        expected = ReuseAndDiffuseSampler._guided_eps(
            unet, call['latents'], torch.tensor(call['t']), torch.cat([uncond, cond]), 2.0)
        torch.testing.assert_close(call['out'], expected, atol=1e-6, rtol=0)


def test_the_correction_is_clipped(embeds):
    """At the first step of clip 1 every run sees the same latents: the clipped correction is
    the output's distance from the plain guided output, max_correction_rms per video."""
    plain, clipped = Recording(weight=0.0), Recording(weight=50.0, max_correction_rms=0.01)
    _sample([plain], embeds)
    _sample([clipped], embeds)
    a, b = [next(c for c in r.calls if c['clip'] == 1 and c['step'] == 0)
            for r in (plain, clipped)]
    assert torch.equal(a['latents'], b['latents'])
    correction = (a['out'] - b['out'])[:, :, M:]
    rms = correction.flatten(1).pow(2).mean(1).sqrt()
    torch.testing.assert_close(rms, torch.full_like(rms, 0.01))
    small = torch.full((2, 3, 2, 2, 2), 1e-3)
    assert torch.equal(ReconstructionGuidance(max_correction_rms=0.01)._clip(small), small)


def test_refuses_a_clip_without_prompt_frames():
    with pytest.raises(ValueError, match='num_prompt_frames'):
        ReuseAndDiffuseSampler(num_frames=4, num_prompt_frames=0,
                               strategies=[dict(type='ReconstructionGuidance')])
    with pytest.raises(ValueError, match='weight'):
        ReconstructionGuidance(weight=-1)

"""TemporalCoDenoisingSampler against a hand-written MultiDiffusion loop on a toy denoiser."""
import pytest
import torch

from long_video_toys import FrameWiseToyUNet, LinearToyScheduler
from vidrd.models.long_video import TemporalCoDenoisingSampler
from vidrd.models.long_video.temporal_co_denoising import window_starts, window_weights

LATENT = (4, 2, 2)


def reference(unet, scheduler, cond, uncond, scale, clips, n, stride, weights, steps, seed):
    """Every window run alone, its guided output added into per-frame sums, one step."""
    length = clips * n
    b = cond[0].shape[0]
    z = torch.randn((b, LATENT[0], length) + LATENT[1:],
                    generator=torch.Generator().manual_seed(seed))
    starts = list(range(0, length - n + 1, stride))
    if starts[-1] + n < length:
        starts.append(length - n)
    scheduler.set_timesteps(steps)
    for t in scheduler.timesteps:
        total, count = torch.zeros_like(z), torch.zeros(length)
        for a in starts:
            owner = min((a + n // 2) // n, clips - 1)
            x = z[:, :, a:a + n]
            e_u, e_c = unet(x, t, uncond[owner]), unet(x, t, cond[owner])
            e = e_u + scale * (e_c - e_u)
            for j in range(n):
                total[:, :, a + j] += weights[j] * e[:, :, j]
                count[a + j] += weights[j]
        assert (count > 0).all()
        z = scheduler.step(total / count.view(1, 1, -1, 1, 1), int(t), z)
    return z


@pytest.mark.parametrize('clips, n, stride, weighting', [
    (3, 4, 2, 'flat'), (3, 4, 3, 'pyramid'),  # stride 3 needs a tail window
    (2, 5, 5, 'flat'), (1, 4, 1, 'pyramid')])
def test_equals_the_hand_written_loop(embeds, clips, n, stride, weighting):
    unet, scheduler = FrameWiseToyUNet(), LinearToyScheduler()
    g = torch.Generator().manual_seed(1)
    cond = [embeds[0] + torch.randn(1, generator=g) for _ in range(clips)]  # a storyline
    uncond = [embeds[1]] * clips
    sampler = TemporalCoDenoisingSampler(num_frames=n, stride=stride, weighting=weighting,
                                         num_inference_steps=3, guidance_scale=2.0,
                                         progress=False)
    out = sampler.sample(unet, scheduler, cond, uncond, latent_shape=LATENT, seed=7)
    expected = reference(unet, scheduler, cond, uncond, 2.0, clips, n, stride,
                         window_weights(n, weighting), 3, seed=7)
    got = torch.cat(list(out.clip_latents), dim=2)  # the pieces of N frames, in order
    assert out.clip_latents.shape[0] == clips
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize('length, window, stride', [
    (n * k, n, s) for n in (4, 8, 16) for k in (1, 2, 3, 5) for s in (1, 3, n // 2, n)])
def test_windows_cover_every_frame_and_end_at_the_last(length, window, stride):
    starts = window_starts(length, window, stride)
    covered = {a + j for a in starts for j in range(window)}
    assert covered == set(range(length))
    assert starts[-1] + window == length and starts == sorted(set(starts))
    assert all(b - a <= stride for a, b in zip(starts, starts[1:]))


def test_weights_layout_and_refusals():
    assert window_weights(6, 'pyramid').tolist() == [1, 2, 3, 3, 2, 1]
    assert window_weights(5, 'pyramid').tolist() == [1, 2, 3, 2, 1]
    sampler = TemporalCoDenoisingSampler(num_frames=8, stride=4)
    layout = sampler.layout(3)
    assert layout.clip_lengths == [8, 8, 8] and layout.seams == [4, 8, 12, 16, 20]
    assert TemporalCoDenoisingSampler(num_frames=16).stride == 4  # Gen-L-Video's
    with pytest.raises(ValueError, match='weighting'):
        TemporalCoDenoisingSampler(weighting='gauss')
    with pytest.raises(ValueError, match='stride'):
        TemporalCoDenoisingSampler(num_frames=4, stride=5)


def test_eta_noise_is_drawn_once_per_frame_by_one_step_of_the_whole_video(embeds):
    """With eta > 0 the outputs are averaged and the scheduler steps the whole video once (one
    fresh noise per frame), never a mean of per-window x_{t-1} (which would shrink it)."""
    from vidrd.models.schedulers import DDIMScheduler
    calls = []

    class Spy(DDIMScheduler):
        def step(self, model_output, timestep, sample, **kwargs):
            calls.append((tuple(sample.shape), kwargs.get('eta')))
            return super().step(model_output, timestep, sample, **kwargs)

    sampler = TemporalCoDenoisingSampler(num_frames=4, stride=2, num_inference_steps=3,
                                         guidance_scale=1.0, eta=1.0, progress=False)
    sampler.sample(FrameWiseToyUNet(), Spy(), embeds[0], latent_shape=LATENT, num_clips=3,
                   seed=0)
    assert calls == [((2, 4, 12, 2, 2), 1.0)] * 3

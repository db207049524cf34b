"""FIFODiffusionSampler against a hand-written FIFO-Diffusion loop on a toy denoiser: the
noise level of every queue slot, lookahead's half-written windows, the pops, and memory flat in
the video's length."""
import gc

import pytest
import torch

from long_video_toys import TimestepToyUNet, live_tensor_bytes
from vidrd.models.long_video import FIFODiffusionSampler
from vidrd.models.schedulers import DDIMScheduler

LATENT = (4, 2, 2)


def reference(unet, scheduler, cond, uncond, scale, f, length, clips, lookahead, seed):
    """FIFO-Diffusion written out plainly: a list of frames, each window run alone on the state
    before the iteration, each frame stepped alone with its own timestep."""
    g = torch.Generator().manual_seed(seed)
    b = cond.shape[0]

    def guided(x, t):
        e_u, e_c = unet(x, t, uncond), unet(x, t, cond)
        return e_u + scale * (e_c - e_u)

    grid = scheduler.set_timesteps(length)  # descending
    levels = grid.flip(0).tolist()  # tau_0 < ... < tau_{L-1}
    z = torch.randn((b, LATENT[0], f) + LATENT[1:], generator=g)
    diagonal = {}
    for s, t in enumerate(grid):
        if length - 1 - s < f:
            diagonal[length - 1 - s] = z[:, :, length - 1 - s]
        z = scheduler.step(guided(z, t), int(t), z)
    context = f // 2 if lookahead else 0
    queue = [z[:, :, 0]] * context
    for k in range(length):
        if k < f:
            queue.append(diagonal[k])
        else:
            noise = torch.randn((b, LATENT[0]) + LATENT[1:], generator=g)
            queue.append(scheduler.add_noise(z[:, :, f - 1], noise, levels[k]))
    slot_level = [levels[0]] * context + levels
    total = context + length
    stride = f // 2 if lookahead else f
    width = min(f, total)  # a queue shorter than a window is one short window
    windows = [(a, a + width - stride) for a in range(0, total - width + 1, stride)]
    if total <= f:
        windows = [(0, context)]
    elif windows[-1][0] + width < total:  # the tail: written where the others stopped
        windows.append((total - width, windows[-1][0] + width))
    video = []
    for _ in range(clips * f):
        before = torch.stack(queue, dim=2)
        after = list(queue)
        for start, write in windows:
            t = torch.tensor(slot_level[start:start + width]).expand(b, width)
            x = before[:, :, start:start + width]
            e = guided(x, t)
            for j in range(write, start + width):
                frame = slice(j - start, j - start + 1)
                after[j] = scheduler.step(e[:, :, frame], slot_level[j], x[:, :, frame])[:, :, 0]
        video.append(after[context])
        assert all(a is not b for a, b in zip(after[context:], queue[context:]))  # all written
        fresh = torch.randn((b, LATENT[0], 1) + LATENT[1:], generator=g)[:, :, 0]
        queue = after[1:] + [fresh]
    return torch.stack(video, dim=2)


@pytest.mark.parametrize('f, steps, lookahead, clips', [
    (4, 8, True, 3), (4, 4, True, 2), (2, 6, False, 3), (6, 12, True, 2),
    (4, 7, True, 2), (4, 5, False, 2), (4, 2, True, 2), (6, 3, False, 1)])  # L not f n
def test_equals_the_hand_written_loop(embeds, f, steps, lookahead, clips):
    unet, scheduler = TimestepToyUNet(), DDIMScheduler(steps_offset=0)
    cond, uncond = embeds
    sampler = FIFODiffusionSampler(num_frames=f, num_inference_steps=steps, lookahead=lookahead,
                                   guidance_scale=2.0, eta=0.0, progress=False)
    out = sampler.sample(unet, scheduler, cond, uncond, latent_shape=LATENT, num_clips=clips,
                         seed=3)
    expected = reference(TimestepToyUNet(), scheduler, cond, uncond, 2.0, f, steps, clips,
                         lookahead, seed=3)
    assert out.clip_latents.shape[:3] == (clips, 2, LATENT[0])
    assert out.clip_latents.shape[3] == f
    torch.testing.assert_close(torch.cat(list(out.clip_latents), dim=2), expected,
                               atol=1e-5, rtol=1e-5)


def test_every_slot_is_called_at_its_level(embeds):
    """Lookahead, f = 4, n = 2: the queue is 2 context slots at tau_0, then tau_0..tau_7; an
    iteration calls 4 windows at stride 2 with the levels of their slots (B rows each, the
    guided call doubles them)."""
    unet, scheduler = TimestepToyUNet(), DDIMScheduler(steps_offset=0)
    sampler = FIFODiffusionSampler(num_frames=4, num_partitions=2, guidance_scale=1.0,
                                   eta=0.0, progress=False)
    sampler.sample(unet, scheduler, embeds[0], latent_shape=LATENT, num_clips=1, seed=0)
    tau = scheduler.timesteps.flip(0).tolist()  # 0, 125, ..., 875
    slots = [tau[0]] * 2 + tau
    assert len(unet.timesteps) == 8 + 4  # the warm-up's 8 steps, then 4 iterations
    warm_up = [t for t in unet.timesteps[:8]]
    assert warm_up == tau[::-1]
    expected = [slots[a:a + 4] for a in (0, 2, 4, 6) for _ in range(2)]  # B = 2
    for call in unet.timesteps[8:]:
        assert call == expected


def test_warm_up_clip_comes_out_first(embeds):
    """One partition: the first f frames are the warm-up clip, finished along the diagonal."""
    scheduler = DDIMScheduler(steps_offset=0)
    sampler = FIFODiffusionSampler(num_frames=4, num_partitions=1, guidance_scale=1.0,
                                   eta=0.0, progress=False)
    unet = TimestepToyUNet()
    out = sampler.sample(unet, scheduler, embeds[0], latent_shape=LATENT, num_clips=2, seed=0)
    assert out.clip_latents.shape == (2, 2, 4, 4, 2, 2)
    plain = torch.randn((2, 4, 4, 2, 2), generator=torch.Generator().manual_seed(0))
    for t in scheduler.set_timesteps(4):
        plain = scheduler.step(unet(plain, t, embeds[0]), int(t), plain)
    # frame 0 sat at tau_0 and took the last step only: it is the plain clip's frame 0
    torch.testing.assert_close(out.clip_latents[0][:, :, 0], plain[:, :, 0], atol=1e-5,
                               rtol=1e-5)


def _peak(clips, embeds) -> int:
    peak = [0]

    def measure(*_):
        peak[0] = max(peak[0], live_tensor_bytes())

    sampler = FIFODiffusionSampler(num_frames=4, num_partitions=2, guidance_scale=2.0,
                                   progress=False)
    gc.collect()
    sampler.sample(TimestepToyUNet(), DDIMScheduler(), *embeds, latent_shape=(4, 16, 16),
                   num_clips=clips, seed=0, sink=measure,
                   callback=lambda clip, step, *_: step % 5 == 0 and measure())
    return peak[0]


def test_memory_is_flat_in_the_length(embeds):
    short, long = _peak(3, embeds), _peak(9, embeds)
    piece_bytes = 2 * 4 * 4 * 16 * 16 * 4  # the f frames handed to the sink
    assert abs(long - short) <= piece_bytes, (short, long)


def test_settings_and_refusals():
    with pytest.raises(ValueError, match='even'):
        FIFODiffusionSampler(num_frames=5)
    assert FIFODiffusionSampler(num_frames=4, num_partitions=3).num_inference_steps == 12
    assert FIFODiffusionSampler(num_frames=4, num_inference_steps=6).num_inference_steps == 6
    # the authors' partitions: 2n windows at stride f / 2, the back half of each written
    assert FIFODiffusionSampler(num_frames=4).windows(8) == [
        (0, 2, 4), (2, 4, 6), (4, 6, 8), (6, 8, 10)]
    assert FIFODiffusionSampler(num_frames=4, lookahead=False).windows(8) == [(0, 0, 4),
                                                                             (4, 4, 8)]

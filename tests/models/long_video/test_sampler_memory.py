"""The sampler's memory does not grow with the number of clips.

Measured as the bytes of all live tensors (every tensor object the garbage collector tracks,
storages counted once), sampled before every denoising step and in the sink, while the sink
drops each clip: what remains is what the sampler holds."""
import gc

import torch
from torch._subclasses.fake_tensor import FakeTensor

from vidrd.models.long_video import LongVideoStrategy, ReuseAndDiffuseSampler

N, M, S = 8, 3, 4
LATENT = (4, 16, 16)


def live_tensor_bytes() -> int:
    storages = {}
    for obj in gc.get_objects():
        # fake tensors (left by torch.compile's tracing in other tests) hold no memory
        if (issubclass(type(obj), torch.Tensor) and not isinstance(obj, FakeTensor)
                and obj.device.type == 'cpu'):
            storage = obj.untyped_storage()
            storages[storage.data_ptr()] = storage.nbytes()
    return sum(storages.values())


class PeakProbe(LongVideoStrategy):
    def __init__(self):
        self.peak = 0

    def measure(self):
        self.peak = max(self.peak, live_tensor_bytes())

    def before_step(self, ctx, clip_index, step_index, latents):
        if step_index in (0, ctx.num_steps - 1):  # first and last step: a gc scan is slow
            self.measure()
        return latents


def _peak(num_clips, toy_unet, toy_scheduler, embeds) -> int:
    probe = PeakProbe()
    sampler = ReuseAndDiffuseSampler(
        num_frames=N, num_prompt_frames=M, num_inference_steps=S, guidance_scale=3.0,
        progress=False, strategies=[
            dict(type='FrameNoiseReversion'), dict(type='PastDependentNoiseSampling', alpha=1.0),
            dict(type='StagedGuidanceDenoising', beta=1.0), probe])

    def drop(clip):
        probe.measure()  # the clip itself is alive here

    def decode(latents):
        return latents[:, :3].repeat_interleave(8, -1).repeat_interleave(8, -2)

    gc.collect()
    sampler.sample(toy_unet, toy_scheduler, *embeds, latent_shape=LATENT, num_clips=num_clips,
                   seed=0, decode_fn=decode, sink=drop)
    return probe.peak


def test_peak_live_tensors_do_not_grow_with_clips(toy_unet, toy_scheduler, embeds):
    one, two, six = (_peak(n, toy_unet, toy_scheduler, embeds) for n in (1, 2, 6))
    latent_bytes = 2 * 4 * N * 16 * 16 * 4  # one (B, C, N, h, w) float32 latent
    decoded_bytes = 2 * 3 * N * 128 * 128 * 4
    assert decoded_bytes > 5 * latent_bytes  # so keeping a decoded clip would show
    # once the previous clip's cache is filled, nothing more is held
    assert six == two, (one, two, six)
    # versus a single clip: only the previous clip's initial noise is added
    assert six - one <= latent_bytes, (one, two, six)

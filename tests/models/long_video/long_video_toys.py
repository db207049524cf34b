"""Tiny stand-ins for the long-video tests: a frame-wise "U-Net", a linear scheduler, a
strategy that records what the sampler hands it, a context maker, and a live-memory probe."""
import gc
from typing import Dict, List

import torch
from torch._subclasses.fake_tensor import FakeTensor
from torch import nn

from vidrd.models.long_video import LongVideoContext, LongVideoStrategy


class FrameWiseToyUNet(nn.Module):
    """eps = 0.5 tanh(x) * (t / 1000) + mean of the prompt embedding + 0.01 * frame position:
    deterministic, and each frame depends on that frame (and its position) only, so an edit of
    frame j shows up in frame j only."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(0.5))
        self.calls: List[tuple] = []

    def forward(self, sample, timestep, encoder_hidden_states):
        self.calls.append((tuple(sample.shape), tuple(encoder_hidden_states.shape)))
        bias = encoder_hidden_states.mean(dim=(1, 2)).view(-1, 1, 1, 1, 1)
        position = 0.01 * torch.arange(sample.shape[2], dtype=sample.dtype).view(1, 1, -1, 1, 1)
        return self.scale * torch.tanh(sample) * (float(timestep) / 1000.0) + bias + position


class TimestepToyUNet(nn.Module):
    """Like :class:`FrameWiseToyUNet`, with the timestep read per frame when it is (B, F);
    records the timesteps of every call (as lists) for checks of the noise level per slot."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(0.5))
        self.timesteps: List[list] = []

    def forward(self, sample, timestep, encoder_hidden_states):
        t = torch.as_tensor(timestep, dtype=sample.dtype)
        self.timesteps.append(t.tolist())
        if t.ndim == 2:
            t = t[:, None, :, None, None]
        bias = encoder_hidden_states.mean(dim=(1, 2)).view(-1, 1, 1, 1, 1)
        position = 0.01 * torch.arange(sample.shape[2], dtype=sample.dtype).view(1, 1, -1, 1, 1)
        return self.scale * torch.tanh(sample) * (t / 1000.0) + bias + position


class LinearToyScheduler:
    """DDIM-shaped: ``timesteps`` descending, ``step`` deterministic."""
    init_noise_sigma = 1.0

    def set_timesteps(self, num_steps: int) -> None:
        self.timesteps = torch.arange(num_steps, 0, -1) * (1000 // num_steps)

    def step(self, model_output, timestep: int, sample):
        return sample - 0.1 * model_output


class Recorder(LongVideoStrategy):
    """Records every clip's initial noise and the latents before each step (as they reach it)."""

    def __init__(self):
        self.initial: Dict[int, torch.Tensor] = {}
        self.steps: Dict[tuple, torch.Tensor] = {}

    def initial_noise(self, ctx: LongVideoContext, clip_index, noise):
        self.initial[clip_index] = noise.clone()
        return noise

    def before_step(self, ctx, clip_index, step_index, latents):
        self.steps[clip_index, step_index] = latents.clone()
        return latents


def make_context(n=8, m=3, steps=6, clips=2, prev_noise=None, prev_steps=None, seed=0):
    return LongVideoContext(num_frames=n, num_prompt_frames=m, num_steps=steps, num_clips=clips,
                            generator=torch.Generator().manual_seed(seed),
                            prev_initial_noise=prev_noise, prev_step_latents=prev_steps)


def live_tensor_bytes() -> int:
    """Bytes of all live CPU tensors the garbage collector tracks, storages counted once."""
    storages = {}
    for obj in gc.get_objects():
        # fake tensors (left by torch.compile's tracing in other tests) hold no memory
        if (issubclass(type(obj), torch.Tensor) and not isinstance(obj, FakeTensor)
                and obj.device.type == 'cpu'):
            storage = obj.untyped_storage()
            storages[storage.data_ptr()] = storage.nbytes()
    return sum(storages.values())

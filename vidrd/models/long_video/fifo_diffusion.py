"""FIFO-Diffusion (Kim et al. 2024): diagonal denoising of a queue of frames at rising noise."""
from typing import Callable, Dict, List, Optional, Tuple

import torch
from tqdm.auto import tqdm

from vidrd.registry import MODELS

from .base_sampler import (GeneratedClip, SamplingRun, StepCallback, WindowedSampler,
                           as_tensor)
from vidrd.utils.errors import InvalidValueError


@MODELS.register_module()
class FIFODiffusionSampler(WindowedSampler):
    """Generate an unbounded video from a queue of frames at increasing noise levels
    (FIFO-Diffusion, Kim et al. 2024, Sec. 3; the authors' code: jjihwan/FIFO-Diffusion_public).

    With f = ``num_frames`` (the U-Net's clip length) and n = ``num_partitions``, the grid has
    L = f n DDIM timesteps tau_0 < ... < tau_{L-1} (or L = ``num_inference_steps`` when given),
    and the queue holds L frames, frame k at noise level tau_k. Every iteration denoises the queue diagonally: windows of f frames, each
    one U-Net call with a per-frame timestep (B, f), move every frame one grid step down
    (tau_k -> tau_{k-1}); the head frame is then clean and goes to the sink, the queue shifts,
    and fresh noise enters at the tail. One iteration makes one frame, so the length is
    unbounded and memory stays flat: the queue, plus the frames of the piece being filled.

    - Latent partitioning: the queue is split into n windows of f frames, all denoised from
      the same state (Sec. 3.2). When L is not a multiple of f, a last window ending at the
      queue's tail writes the slots the others left; a queue shorter than a window is one
      window.
    - Lookahead denoising (Sec. 3.3): windows overlap by f / 2 and only the back half of each
      is written, so every frame is denoised with f / 2 cleaner frames before it. The queue
      then starts with f / 2 context frames (the last frames made, at level tau_0), and an
      iteration runs 2n windows.
    - Warm-up: a first clip of f frames is sampled with plain DDIM on the same grid; frame k
      of its trajectory at level tau_k fills queue slot k (the diagonal), so the video starts
      with that clip. For n > 1 the slots k >= f take the clip's last frame noised to tau_k,
      and the context slots its first frame (as the authors' code does).

    A storyline gives each window the prompt of the clip its middle frame will belong to
    (clip = output frame // f). Length: ``num_clips`` x f frames, handed to the sink in pieces
    of f. Cost per generated frame: n (2n with lookahead) windows of f frames, i.e. f n (2 f n)
    frame evaluations, plus the warm-up clip.

    Args:
        num_frames: f, frames per U-Net call (authors: 16).
        num_partitions: n (authors: 4); the number of DDIM steps per frame is f n.
        num_inference_steps: L, DDIM steps per frame (and queue slots) instead of f n.
        lookahead: lookahead denoising (authors: on).
        guidance_scale / progress / autocast_dtype: see :class:`LongVideoSampler`.
        eta: DDIM eta of every step (authors: 1).
        windows_per_call: see :class:`WindowedSampler`.
        step_cache: must be None: step caching does not apply (a window never sees the same
            frames twice).
        scheduler: this sampler's own sampling scheduler over the model's noise schedule
            (see :class:`LongVideoSampler`): a DDIM config, since FIFO-Diffusion needs DDIM.

    Needs DDIMScheduler: a multistep solver (DPM-Solver++, UniPC) is refused, since no frame
    follows one trajectory of the grid from call to call.
    """

    def __init__(self, num_frames: int = 16, num_partitions: int = 4,
                 num_inference_steps: Optional[int] = None, lookahead: bool = True,
                 guidance_scale: float = 7.5, eta: float = 1.0,
                 windows_per_call: Optional[int] = None, progress: bool = True,
                 autocast_dtype=None, step_cache: Optional[dict] = None,
                 scheduler: Optional[dict] = None):
        if num_partitions < 1:
            raise InvalidValueError(f'FIFODiffusionSampler: num_partitions must be >= 1, got '
                                    f'{num_partitions}')
        super().__init__(num_frames=num_frames,
                         num_inference_steps=num_inference_steps or num_frames * num_partitions,
                         guidance_scale=guidance_scale, eta=eta,
                         windows_per_call=windows_per_call, progress=progress,
                         autocast_dtype=autocast_dtype, scheduler=scheduler)
        if step_cache is not None:
            raise InvalidValueError(
                f'FIFODiffusionSampler: step_cache={step_cache!r} does not apply: step caching '
                'reuses a window\'s deep features at the next step, but FIFO-Diffusion\'s windows '
                'hold other frames at other noise levels at every iteration (the queue shifts); '
                'remove step_cache')
        if lookahead and num_frames % 2:
            raise InvalidValueError('FIFODiffusionSampler: lookahead denoising needs an even '
                                    f'num_frames (windows overlap by half), got {num_frames}')
        self.num_partitions, self.lookahead = num_partitions, lookahead

    multistep_refusal = (
        'a multistep solver extends one trajectory with the outputs of its previous steps, but '
        'FIFO-Diffusion moves every frame from its own noise level (per-frame timesteps on a '
        'diagonal) and frames enter and leave the queue at every iteration')

    def _repr_extra(self) -> str:
        return f', lookahead={self.lookahead}, eta={self.eta}'

    def windows(self, queue_length: int) -> List[Tuple[int, int, int]]:
        """``(start, write_from, end)`` slots of every window over a queue of
        ``queue_length`` slots (context slots come first): it reads ``[start, end)`` and
        writes ``[write_from, end)``; the writes cover every non-context slot once."""
        f = self.num_frames
        context = f // 2 if self.lookahead else 0
        total = context + queue_length
        if total <= f:
            return [(0, context, total)]
        stride = f // 2 if self.lookahead else f
        windows = [(a, a + f - stride, a + f) for a in range(0, total - f + 1, stride)]
        if windows[-1][2] < total:  # a tail window writes what the others left
            windows.append((total - f, windows[-1][2], total))
        return windows

    def _run(self, run: SamplingRun, unet: Callable, scheduler, latent_shape, decode_fn,
             emit, callback: Optional[StepCallback]) -> None:
        """``run.num_clips`` x f frames, emitted in pieces of f; ``run.num_steps`` is the
        queue's length L; ``callback`` reports the warm-up steps and the iterations as the
        steps of one clip."""
        self._check_scheduler(scheduler)
        f = self.num_frames
        queue_length = run.num_steps
        scheduler.set_timesteps(queue_length)
        timesteps = scheduler.timesteps.to(run.device)  # descending: tau_{L-1}, ..., tau_0
        context = f // 2 if self.lookahead else 0
        levels = timesteps.flip(0)
        # the level of every slot: context slots sit at tau_0
        slot_levels = torch.cat([levels[:1].repeat(context), levels])
        batch = run.cond[0].shape[0]
        total = run.num_clips * f
        frame_shape = (batch, latent_shape[0], 1) + tuple(latent_shape[1:])
        groups = self._groups(self.windows(queue_length))
        step_kwargs = self._step_kwargs(run)
        conditioning: Dict[tuple, object] = {}
        num_steps = queue_length + total

        with tqdm(total=num_steps, desc='FIFO-Diffusion', unit='step',
                  disable=not self.progress) as bar:
            def advance(step: int) -> None:
                bar.update(1)
                if callback is not None:
                    callback(0, step, 1, num_steps)

            queue = self._warm_up(unet, scheduler, run, frame_shape, timesteps, context,
                                  conditioning, step_kwargs, advance)
            piece: List[torch.Tensor] = []
            for it in range(total):
                updated = queue.clone()
                for group in groups:
                    x = torch.cat([queue[:, :, a:e] for a, _, e in group])  # (W*B, C, f, h, w)
                    t = torch.stack([slot_levels[a:e] for a, _, e in group])
                    t = t.repeat_interleave(batch, dim=0)  # (W*B, f)
                    owners = tuple(min(max(it + a + f // 2 - context, 0) // f,
                                       run.num_clips - 1) for a, _, _ in group)
                    embeds = self._batched_conditioning(unet, run, owners, conditioning,
                                                         max_entries=len(groups))
                    out = self._guided_output(unet, x, t, embeds, run)
                    stepped = as_tensor(scheduler.step(out, t, x, **step_kwargs))
                    for k, (a, w, e) in enumerate(group):
                        updated[:, :, w:e] = stepped[k * batch:(k + 1) * batch, :, w - a:]
                piece.append(updated[:, :, context])
                noise = self._noise(run, frame_shape) * scheduler.init_noise_sigma
                queue = torch.cat([updated[:, :, 1:], noise], dim=2)
                if len(piece) == f:
                    latents = torch.stack(piece, dim=2)
                    piece = []
                    emit(GeneratedClip(index=it // f, latents=latents,
                                       video=decode_fn(latents) if decode_fn else None))
                advance(queue_length + it)

    def _warm_up(self, unet, scheduler, run: SamplingRun, frame_shape, timesteps, context: int,
                 conditioning, step_kwargs, advance) -> torch.Tensor:
        """The first queue (B, C, context + L, h, w): a first clip sampled on the grid, frame
        k of its trajectory at level tau_k in slot ``context + k``."""
        f, length = self.num_frames, len(timesteps)
        shape = frame_shape[:2] + (f,) + frame_shape[3:]
        latents = self._noise(run, shape) * scheduler.init_noise_sigma
        embeds = self._batched_conditioning(unet, run, (0,), conditioning)
        diagonal: Dict[int, torch.Tensor] = {}
        for s, t in enumerate(timesteps):
            k = length - 1 - s  # level index of step s: timesteps[s] = tau_k
            if k < f:
                diagonal[k] = latents[:, :, k]
            out = self._guided_output(unet, latents, t, embeds, run)
            latents = as_tensor(scheduler.step(out, int(t), latents, **step_kwargs))
            advance(s)
        slots = [latents[:, :, 0]] * context
        for k in range(length):
            if k < f:  # (a queue shorter than the clip keeps its first frames only)
                slots.append(diagonal[k])
            else:  # n > 1: the clip's last frame, noised to tau_k
                last = latents[:, :, f - 1]
                slots.append(scheduler.add_noise(
                    last, self._noise(run, last.shape), int(timesteps[length - 1 - k])))
        return torch.stack(slots, dim=2)

"""Reconstruction guidance (Ho et al. 2022, Video Diffusion Models, Sec. 3.1), clip after clip."""
import torch

from vidrd.registry import LONG_VIDEO_STRATEGIES

from .base_strategy import LongVideoContext, LongVideoStrategy
from vidrd.utils.errors import InvalidValueError


@LONG_VIDEO_STRATEGIES.register_module()
class ReconstructionGuidance(LongVideoStrategy):
    """Condition each clip on the end of the previous one by guiding the new frames towards a
    reconstruction of the prompt frames (Ho et al. 2022, Sec. 3.1, eq. 7).

    The first M frames of clip i >= 1 are prompt frames a, the rest new frames b. Their
    content x^a is the previous clip's last M *final* latents in playing order (frame j of
    clip i shows frame N - M + j of clip i - 1). Before every step s at timestep t:

    - replacement: z^a_t <- sqrt(abar_t) x^a + sqrt(1 - abar_t) eps, eps fresh at every step;
    - guidance: with x0_hat the prediction of the conditional U-Net branch,
      ``x0^b <- x0_hat^b - (w_r sqrt(abar_t) / 2) grad_{z^b} ||x^a - x0_hat^a(z_t)||^2``,
      where x0_hat^b is the classifier-free guided prediction; the step then uses the
      network output implied by the corrected x0.

    The gradient flows through the conditional branch only (one U-Net forward and backward
    with autograd on, the unconditional branch without), so a step costs about three plain
    U-Net calls. The correction's root mean square per video is clipped to
    ``max_correction_rms`` (latent units): at high noise the gradient of a reconstruction
    error through a U-Net can be large, and one step must not throw a clip off its path.

    The prompt frames are in playing order on purpose: the paper's FNR / PNS / DSG mirror the
    previous clip (frame j <- N - 1 - j), which shows it backwards; do not combine them with
    this strategy. With ``drop_prompt_frames=True`` in the sampler, the video shows every
    clip's new frames right after the previous clip's last frame.

    Needs a vidrd scheduler (``add_noise``, ``predict_x0``, ``output_from_x0``,
    ``alphas_cumprod``): DDIM or a multistep solver. With a solver, the prompt frames,
    re-noised before every step, restart their trajectory at every step (first-order update;
    see ``ReuseAndDiffuseSampler``), and the new frames b keep their multistep history.

    Args:
        weight: w_r, the guidance weight (0: replacement only, from the final latents in
            playing order).
        max_correction_rms: clip of the correction's root mean square per video (None: no
            clip).
    """

    def __init__(self, weight: float = 2.0, max_correction_rms: float = 0.1):
        if weight < 0:
            raise InvalidValueError(f'ReconstructionGuidance: weight must be >= 0, got {weight}')
        if max_correction_rms is not None and max_correction_rms <= 0:
            raise InvalidValueError(
                'ReconstructionGuidance: max_correction_rms must be > 0 or None, '
                f'got {max_correction_rms}')
        self.weight = float(weight)
        self.max_correction_rms = max_correction_rms

    def check(self, num_frames: int, num_prompt_frames: int) -> None:
        if num_prompt_frames < 1:
            raise InvalidValueError(
                'ReconstructionGuidance needs prompt frames: set the sampler\'s '
                f'num_prompt_frames (M) to at least 1, got {num_prompt_frames}')

    def _prompt_content(self, ctx: LongVideoContext) -> torch.Tensor:
        """x^a: the previous clip's last M final latents, in playing order (B, C, M, h, w)."""
        return ctx.prev_final_latents[:, :, ctx.num_frames - ctx.num_prompt_frames:]

    def before_step(self, ctx: LongVideoContext, clip_index: int, step_index: int,
                    latents: torch.Tensor) -> torch.Tensor:
        if clip_index == 0:
            return latents
        x_a = self._prompt_content(ctx)
        g = ctx.generator
        noise = torch.randn(x_a.shape, generator=g, device=g.device if g is not None else None,
                            dtype=x_a.dtype).to(x_a.device)
        z_a = ctx.scheduler.add_noise(x_a, noise, int(ctx.timesteps[step_index]))
        return torch.cat([z_a, latents[:, :, ctx.num_prompt_frames:]], dim=2)

    def denoise(self, ctx: LongVideoContext, clip_index: int, step_index: int,
                latents: torch.Tensor, denoiser) -> torch.Tensor:
        if clip_index == 0 or self.weight == 0:
            return denoiser(latents)
        m, scheduler = ctx.num_prompt_frames, ctx.scheduler
        t = int(denoiser.timestep)
        x_a = self._prompt_content(ctx)
        with torch.enable_grad():
            z = latents.detach().requires_grad_(True)
            uncond, cond = denoiser.branches(z)
            x0_cond = scheduler.predict_x0(cond, z, t)
            error = (x_a - x0_cond[:, :, :m]).pow(2).sum()
            grad, = torch.autograd.grad(error, z)
        z = z.detach()
        guided = denoiser.guide(uncond, cond.detach())
        x0 = scheduler.predict_x0(guided, z, t)
        signal = scheduler.alphas_cumprod[t].to(z) ** 0.5
        correction = self.weight * signal / 2 * grad[:, :, m:]
        correction = self._clip(correction)
        x0_b = x0[:, :, m:] - correction
        output_b = scheduler.output_from_x0(x0_b, z[:, :, m:], t)
        return torch.cat([guided[:, :, :m], output_b], dim=2)

    def _clip(self, correction: torch.Tensor) -> torch.Tensor:
        """Scale each video's correction down to ``max_correction_rms`` root mean square."""
        if self.max_correction_rms is None:
            return correction
        rms = correction.flatten(1).pow(2).mean(dim=1).sqrt()
        scale = (self.max_correction_rms / rms.clamp(min=1e-12)).clamp(max=1.0)
        return correction * scale.view(-1, *([1] * (correction.dim() - 1)))

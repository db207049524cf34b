"""Tiny backbones of other model families, written with diffusers / transformers into a folder
(nothing downloaded), and the long-video invariants checked on any backbone.

- ModelScope T2V: a diffusers pipeline folder (``unet/`` ``UNet3DConditionModel``, ``vae/``,
  ``text_encoder/``) with 32 channels, 1 layer per block, 8x8 latents.
- AnimateDiff: an SD-1.5-shaped ``UNet2DConditionModel`` (conv projections, a ResNet-only
  block) and a ``MotionAdapter`` of the same widths.

Weights are drawn at random *after* construction: zero-initialised layers (the temporal convs'
last conv, motion modules' ``proj_out``) would otherwise hide wiring mistakes.
"""
import os.path as osp

import torch

from vidrd.models.long_video import LongVideoStrategy, ReuseAndDiffuseSampler

WORDS = ['a', 'red', 'circle', 'moving', 'left', 'dog', 'running']
#: a vidrd WordTokenizer over WORDS (ids 4..) for the tiny CLIP text encoder (vocab 16)
TOKENIZER = dict(_delete_=True, type='WordTokenizer', vocab=WORDS)
TEXT_CONFIG = dict(vocab_size=16, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                   num_attention_heads=4, max_position_embeddings=77, bos_token_id=0,
                   pad_token_id=1, eos_token_id=2)
VAE_CONFIG = dict(block_out_channels=(32, 32), down_block_types=('DownEncoderBlock2D',) * 2,
                  up_block_types=('UpDecoderBlock2D',) * 2, layers_per_block=1,
                  latent_channels=4, norm_num_groups=32, sample_size=16)
MODELSCOPE_UNET = dict(block_out_channels=(32, 32),
                       down_block_types=('CrossAttnDownBlock3D', 'DownBlock3D'),
                       up_block_types=('UpBlock3D', 'CrossAttnUpBlock3D'), layers_per_block=1,
                       attention_head_dim=8, norm_num_groups=8, cross_attention_dim=32)
#: ModelScope T2V's scheduler/scheduler_config.json (diffusers' DDIMScheduler)
MODELSCOPE_SCHEDULER = dict(beta_schedule='scaled_linear', beta_start=0.00085, beta_end=0.012,
                            clip_sample=False, set_alpha_to_one=False, steps_offset=1)
SD15_UNET = dict(block_out_channels=(32, 32), down_block_types=('CrossAttnDownBlock2D',
                                                                 'DownBlock2D'),
                 up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D'), layers_per_block=1,
                 attention_head_dim=4, norm_num_groups=8, cross_attention_dim=32,
                 use_linear_projection=False, sample_size=8)
MOTION_ADAPTER = dict(block_out_channels=(32, 32), motion_layers_per_block=1,
                      motion_num_attention_heads=4, motion_norm_num_groups=8,
                      motion_max_seq_length=8, use_motion_mid_block=True)


def randomize(module: torch.nn.Module, seed: int, std: float = 0.2) -> torch.nn.Module:
    """Every parameter ~ N(0, std^2) (norm weights around 1), reproducibly."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            noise = torch.randn(p.shape, generator=g) * std
            p.copy_(1 + noise if ('norm' in name and name.endswith('weight')) else noise)
    return module.eval()


def write_text_encoder_and_vae(root: str, seed: int = 1) -> None:
    from diffusers import AutoencoderKL
    from transformers import CLIPTextConfig, CLIPTextModel
    torch.manual_seed(seed)
    CLIPTextModel(CLIPTextConfig(**TEXT_CONFIG)).save_pretrained(osp.join(root, 'text_encoder'))
    AutoencoderKL(**VAE_CONFIG).save_pretrained(osp.join(root, 'vae'))


def write_modelscope_folder(root: str) -> str:
    """A ModelScope-T2V-shaped pipeline folder: ``unet/ vae/ text_encoder/ scheduler/``."""
    from diffusers import DDIMScheduler, UNet3DConditionModel
    randomize(UNet3DConditionModel(**MODELSCOPE_UNET), seed=0).save_pretrained(
        osp.join(root, 'unet'))
    DDIMScheduler(**MODELSCOPE_SCHEDULER).save_pretrained(osp.join(root, 'scheduler'))
    write_text_encoder_and_vae(root)
    return str(root)


def write_sd15_folder(root: str) -> str:
    """An SD-1.5-shaped pipeline folder (``unet/ vae/ text_encoder/``) and ``motion_adapter/``
    (diffusers' ``MotionAdapter`` layout)."""
    from diffusers import MotionAdapter, UNet2DConditionModel
    randomize(UNet2DConditionModel(**SD15_UNET), seed=2).save_pretrained(osp.join(root, 'unet'))
    randomize(MotionAdapter(**MOTION_ADAPTER), seed=3, std=0.1).save_pretrained(
        osp.join(root, 'motion_adapter'))
    write_text_encoder_and_vae(root)
    return str(root)


def model_options(folder: str, **extra) -> dict:
    """``--cfg-options`` that point a backbone config at a tiny folder and shrink its clips:
    4 frames of 16x16 pixels (8x8 latents), 2 DDIM steps, the word tokenizer."""
    return {
        'model.vae.folder': osp.join(folder, 'vae'),
        'model.text_encoder.pretrained': osp.join(folder, 'text_encoder'),
        'model.text_encoder.tokenizer': TOKENIZER,
        'model.num_frames': 4, 'model.resolution': (16, 16),
        'model.long_video_sampler.num_frames': 4,
        'model.long_video_sampler.num_prompt_frames': 2,
        'model.long_video_sampler.num_inference_steps': 2,
        'model.long_video_sampler.guidance_scale': 3.0,
        'log_level': 'WARNING', **extra}


def first_clip_noise(seed: int = 0, shape=(1, 4, 4, 8, 8)) -> torch.Tensor:
    """The sampler's first-clip noise for ``seed`` in seed-compatible mode (its default): one
    N(0, 1) draw per frame from a CPU generator; what a diffusers pipeline gets as ``latents``."""
    g = torch.Generator().manual_seed(seed)
    b, c, n, h, w = shape
    return torch.cat([torch.normal(0.0, 1.0, (b, c, 1, h, w), generator=g) for _ in range(n)], 2)


class Recorder(LongVideoStrategy):
    """Keeps every clip's initial noise and the latents before each step as they reach it."""

    def __init__(self):
        self.initial, self.steps = {}, {}

    def initial_noise(self, ctx, clip_index, noise):
        self.initial[clip_index] = noise.clone()
        return noise

    def before_step(self, ctx, clip_index, step_index, latents):
        self.steps[clip_index, step_index] = latents.clone()
        return latents


def check_strategy_invariants(model, num_clips: int = 3, alpha: float = 1.0,
                              beta: float = 1.0) -> torch.Tensor:
    """Sample ``num_clips`` clips of N=4 frames, M=2 prompt frames, S=2 steps with FNR + PNS +
    DSG through ``model.generate`` and assert the paper's equations on what the strategies
    produced (a Recorder first sees the fresh draw, one last sees the edited latents):

    - FNR: z^{i,j}_0 = z^{i-1,N-1-j}_0 for j < M;
    - PNS: z^{i,j}_0 = a/sqrt(1+a^2) z^{i-1,N-1-j}_0 + e, e = fresh / sqrt(1+a^2) (unit
      variance) for j >= M;
    - DSG: before step s, z^{i,j}_s = z^{i-1,N-1-j}_s exactly when s < (M - j) (S / M) b.

    Returns the video (B, 3, clips * N, H, W).
    """
    n, m, steps = 4, 2, 2
    fresh, edited = Recorder(), Recorder()
    sampler = ReuseAndDiffuseSampler(
        num_frames=n, num_prompt_frames=m, num_inference_steps=steps, guidance_scale=3.0,
        progress=False, strategies=[
            fresh, dict(type='FrameNoiseReversion'),
            dict(type='PastDependentNoiseSampling', alpha=alpha),
            dict(type='StagedGuidanceDenoising', beta=beta), edited])
    video = model.generate(['a red circle moving left'], num_clips=num_clips, seed=0,
                           sampler=sampler)
    weight, std = alpha / (1 + alpha ** 2) ** 0.5, 1 / (1 + alpha ** 2) ** 0.5
    for i in range(1, num_clips):
        prev, now = edited.initial[i - 1], edited.initial[i]
        for j in range(n):
            mirrored = prev[:, :, n - 1 - j]
            if j < m:  # FNR
                assert torch.equal(now[:, :, j], mirrored), (i, j)
            else:  # PNS
                torch.testing.assert_close(
                    now[:, :, j], weight * mirrored + std * fresh.initial[i][:, :, j])
        for s in range(steps):
            for j in range(m):  # DSG
                copied = torch.equal(edited.steps[i, s][:, :, j],
                                     edited.steps[i - 1, s][:, :, n - 1 - j])
                assert copied == (s < (m - j) * (steps / m) * beta), (i, s, j)
    assert torch.isfinite(video).all()
    return video


def check_per_frame_timesteps(unet: torch.nn.Module, channels: int, text_dim: int,
                              frames: int = 3, size: int = 8) -> None:
    """The per-frame timestep contract every registered U-Net keeps (``unet`` is changed:
    zeroed temporal layers, float64):

    - (B, F) timesteps whose frames share one value give the scalar / (B,) call bit for bit;
    - with every temporal parameter zeroed (so the temporal layers are the identity; the U-Net
      must have per-frame norms and no frame-position embedding), frame f of a call with
      timesteps (B, F) equals frame f of a call at t_f alone. In float64: in float32 two
      equivalent calls of the released model's tiny checkpoint (F frames or one) already differ
      by up to 7e-4.
    """
    from vidrd.models.unets import is_temporal_key
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, channels, frames, size, size, generator=g)
    text = torch.randn(2, 5, text_dim, generator=g)
    with torch.no_grad():
        for t in (torch.tensor(500), torch.tensor([10, 700])):
            per_frame = t.reshape(-1, 1).expand(2, frames)
            assert torch.equal(unet(x, t, text), unet(x, per_frame, text))
        for name, p in unet.named_parameters():
            if is_temporal_key(name):
                p.zero_()
        unet, x, text = unet.double(), x.double(), text.double()
        steps = torch.tensor([[10, 400, 900][:frames], [999, 0, 250][:frames]])
        out = unet(x, steps, text)
        for f in range(frames):
            alone = unet(x, steps[:, f], text)[:, :, f]
            torch.testing.assert_close(out[:, :, f], alone, atol=1e-9, rtol=1e-9)
        assert (out[:, :, 0] - unet(x, steps[:, 1], text)[:, :, 0]).abs().max() > 1e-3

"""Times the original release of VidRD (anonymous0x233/ReuseAndDiffuse) in its own environment.

Run by ``unet_benchmark.py`` and ``long_video_benchmark.py`` with the Python of a virtual
environment that has the original's dependencies (torch 2.13, diffusers 0.14, transformers
4.30, huggingface_hub 0.14); it never imports vidrd. It prints one JSON line.

    ORIGINAL_PYTHON benchmarks/original_release.py --release DIR unet --channels 64 128 256 256
    ORIGINAL_PYTHON benchmarks/original_release.py --release DIR sampler --clips 3

The release's ``model/__init__.py`` imports its training module (pytorch-lightning, pandas)
and ``model/utils.py`` imports torchvision and imageio for saving grids; none of them is
needed to sample. So ``model`` is registered as a bare package (its ``__init__`` not run) and
torchvision / imageio are stubbed here, in the launcher, without editing the release's files.
"""
import argparse
import importlib.machinery
import json
import os
import os.path as osp
import resource
import sys
import time
import types


def peak_rss_mib() -> float:
    """Peak resident set size of this process (VmHWM; ru_maxrss where /proc is absent)."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def import_release(folder: str):
    """The release's UNet3DConditionModel and SDVideoPipeline classes."""
    if not osp.isfile(osp.join(folder, 'model', 'modules', 'unet.py')):
        raise SystemExit(f'{folder} is not the original release (no model/modules/unet.py)')
    # used only to save result grids; stubbed during the import, then unregistered so that
    # libraries probing for them (transformers) do not find a stub
    stubs = [name for name in ('torchvision', 'imageio') if name not in sys.modules]
    for name in stubs:
        stub = sys.modules[name] = types.ModuleType(name)
        stub.__spec__ = importlib.machinery.ModuleSpec(name, loader=None)
    package = types.ModuleType('model')
    package.__path__ = [osp.join(folder, 'model')]
    sys.modules['model'] = package
    sys.path.insert(0, folder)
    try:
        from model.modules.unet import UNet3DConditionModel
        from model.pipeline import SDVideoPipeline
    finally:
        for name in stubs:
            del sys.modules[name]
    return UNet3DConditionModel, SDVideoPipeline


def build_unet(cls, channels, head_dim: int, cross_dim: int):
    """The released model's flags (temporal conv + frame embedding, temporal attention at every
    level, linear projections) at the given widths; heads = width / head size."""
    heads = [max(1, c // head_dim) for c in channels]
    levels = len(channels)
    return cls(block_out_channels=tuple(channels), attention_head_dim=heads,
               down_block_types=('CrossAttnDownBlock3D',) * (levels - 1) + ('DownBlock3D',),
               up_block_types=('UpBlock3D',) + ('CrossAttnUpBlock3D',) * (levels - 1),
               cross_attention_dim=cross_dim, use_linear_projection=True,
               add_temp_embed=True, add_temp_conv=True).eval()


def tiny_vae():
    """A one-level diffusers AutoencoderKL (scale factor 1): decoding is negligible next to the
    U-Net, and the vidrd side of the benchmarks uses the same architecture."""
    from diffusers import AutoencoderKL
    return AutoencoderKL(block_out_channels=(32,), layers_per_block=1, latent_channels=4,
                         norm_num_groups=32).eval()


def tiny_text_encoder():
    """Prompts are given as embeddings; the pipeline reads only the text encoder's dtype."""
    from transformers import CLIPTextConfig, CLIPTextModel
    return CLIPTextModel(CLIPTextConfig(hidden_size=32, intermediate_size=37, num_hidden_layers=1,
                                        num_attention_heads=4, vocab_size=100)).eval()


def measure_unet(args, unet_cls) -> dict:
    import torch
    torch.manual_seed(0)
    unet = build_unet(unet_cls, args.channels, args.head_dim, args.cross_dim)
    x = torch.randn(args.batch, 4, args.frames, args.size, args.size)
    t = torch.tensor([500] * args.batch)
    text = torch.randn(args.batch, 77, args.cross_dim)
    times = []
    with torch.no_grad():
        for k in range(args.repeats + 1):
            start = time.perf_counter()
            unet(x, t, encoder_hidden_states=text)
            if k:  # the first call warms up
                times.append(time.perf_counter() - start)
    times.sort()
    return dict(kind='original', mode='forward', seconds=times[len(times) // 2],
                peak_rss_mib=peak_rss_mib())


def measure_sampler(args, unet_cls, pipeline_cls) -> dict:
    import torch
    from diffusers import DDIMScheduler
    torch.manual_seed(0)
    unet = build_unet(unet_cls, args.channels, args.head_dim, args.cross_dim)
    pipe = pipeline_cls(vae=tiny_vae(), text_encoder=tiny_text_encoder(), tokenizer=None, unet=unet,
                        scheduler=DDIMScheduler(beta_start=0.00085, beta_end=0.012,
                                                beta_schedule='scaled_linear',
                                                clip_sample=False, set_alpha_to_one=False,
                                                steps_offset=1))
    g = torch.Generator().manual_seed(0)
    cond = torch.randn(1, 77, args.cross_dim, generator=g)
    uncond = torch.randn(1, 77, args.cross_dim, generator=g)
    start = time.perf_counter()
    out = pipe(prompt_embeds=cond, negative_prompt_embeds=uncond, height=args.size,
               width=args.size, num_frames=args.frames, num_inference_steps=args.steps,
               num_generated_clips=args.clips, extend_overlap_frames=args.prompt_frames,
               extend_noise_recycle=args.alpha, extend_denoise_guidance=args.beta,
               guidance_scale=args.guidance_scale, generator=torch.Generator().manual_seed(0))
    seconds = time.perf_counter() - start
    frames = out.videos.shape[2]
    return dict(kind='original', clips=args.clips, frames=frames, seconds=seconds,
                seconds_per_frame=seconds / frames, peak_rss_mib=peak_rss_mib())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--release', required=True, help='folder of the original release')
    parser.add_argument('what', choices=('unet', 'sampler'))
    parser.add_argument('--channels', type=int, nargs='+', default=[64, 128, 256, 256])
    parser.add_argument('--head-dim', type=int, default=64)
    parser.add_argument('--cross-dim', type=int, default=1024)
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--frames', type=int, default=8)
    parser.add_argument('--size', type=int, default=32)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--clips', type=int, default=1)
    parser.add_argument('--prompt-frames', type=int, default=4)
    parser.add_argument('--steps', type=int, default=5)
    parser.add_argument('--alpha', type=float, default=4.0)
    parser.add_argument('--beta', type=float, default=0.4)
    parser.add_argument('--guidance-scale', type=float, default=7.5)
    args = parser.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
    unet_cls, pipeline_cls = import_release(args.release)
    if args.what == 'unet':
        result = measure_unet(args, unet_cls)
    else:
        result = measure_sampler(args, unet_cls, pipeline_cls)
    result['torch'] = torch.__version__
    print(json.dumps(result))


if __name__ == '__main__':
    main()

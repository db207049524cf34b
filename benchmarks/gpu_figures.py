"""GPU figures at Stable-Diffusion-2.1 size (random weights), ours against diffusers.

One run (about 8 minutes on an H100 / H200) measures, at 16 frames of 256 x 256 (32 x 32
latents), bf16 autocast, SDPA attention:

- training step of VidRD's U-Net (temporal layers + spatial transformer blocks train, AdamW),
  gradient checkpointing on and off, batch 1 / 2 / 4: samples/s, peak memory, MFU;
- the same step under DeepSpeed ZeRO-2 on one GPU (when ``deepspeed`` is installed);
- diffusers' ``UNet3DConditionModel`` (ModelScope widths = SD-2.1's) for the same step;
- sampling 1 and 4 clips at 50 DDIM steps with classifier-free guidance (VidRD.generate,
  VAE decode included) against diffusers' ``TextToVideoSDPipeline``: s/clip;
- with ``--compile``, ours again under ``torch.compile``.

    python benchmarks/gpu_figures.py [--out gpu_figures.json] [--compile] [--peak-tflops 989]
    python benchmarks/gpu_figures.py --tiny      (CPU smoke test: tiny widths, 4 frames)

MFU = model FLOPs of a step (forward + backward, counted by ``torch.utils.flop_counter`` without
recomputation) / step time / the card's dense bf16 peak (H100 / H200 SXM: 989 TFLOP/s).
"""
import argparse
import contextlib
import gc
import json
import os
import os.path as osp
import sys
import tempfile
import time

import torch
import torch.nn.functional as F

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

SD21 = dict(block_out_channels=(320, 640, 1280, 1280), heads=(5, 10, 20, 20), head_dim=64,
            cross=1024, frames=16, size=256, text_layers=23, text_hidden=1024,
            vae_channels=(128, 256, 512, 512), steps=50)
TINY = dict(block_out_channels=(32, 64, 64, 64), heads=(1, 2, 2, 2), head_dim=32, cross=64,
            frames=4, size=32, text_layers=1, text_hidden=64, vae_channels=(32, 32, 32, 32),
            steps=2)
PEAK_BF16 = {'H100 PCIe': 756e12, 'H100': 989e12, 'H200': 989e12, 'A100': 312e12}


def device_peak(name: str) -> float:
    return next((v for k, v in PEAK_BF16.items() if k in name), float('nan'))


def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize()


def reset_memory(device):
    gc.collect()
    if device.type == 'cuda':
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_memory(device) -> float:
    return torch.cuda.max_memory_allocated() / 2 ** 30 if device.type == 'cuda' else float('nan')


# ----------------------------------------------------------------------------- models
def ours_unet(s, checkpointing: bool):
    from vidrd.models.unets import UNet3DConditionModel
    return UNet3DConditionModel(block_out_channels=s['block_out_channels'],
                                num_attention_heads=s['heads'], cross_attention_dim=s['cross'],
                                gradient_checkpointing=checkpointing)


def diffusers_unet(s, checkpointing: bool):
    from diffusers import UNet3DConditionModel
    unet = UNet3DConditionModel(block_out_channels=s['block_out_channels'],
                                attention_head_dim=s['head_dim'], cross_attention_dim=s['cross'])
    if checkpointing:
        unet.enable_gradient_checkpointing()
    return unet


def trainable(unet):
    """VidRD's trainable subset: temporal layers + spatial transformer blocks (both U-Nets)."""
    params = []
    for name, p in unet.named_parameters():
        p.requires_grad_('temp' in name or 'transformer_blocks' in name)
        if p.requires_grad:
            params.append(p)
    return params


def call(kind, unet, x, t, ctx):
    return unet(x, t, ctx) if kind == 'ours' else unet(x, t, encoder_hidden_states=ctx).sample


def step_flops(kind, unet, x, t, ctx) -> float:
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    with counter, torch.autocast(x.device.type, dtype=torch.bfloat16):
        call(kind, unet, x, t, ctx).float().pow(2).mean().backward()
    unet.zero_grad(set_to_none=True)
    return float(counter.get_total_flops())


def train_step_figures(kind, s, device, batch, checkpointing, repeats, compile_=False,
                       deepspeed=False) -> dict:
    reset_memory(device)
    build = ours_unet if kind == 'ours' else diffusers_unet
    with torch.device(device):  # random init on the GPU: seconds instead of a minute
        unet = build(s, checkpointing)
    params = trainable(unet)
    lat = s['size'] // 8
    x = torch.randn(batch, 4, s['frames'], lat, lat, device=device)
    t = torch.randint(0, 1000, (batch,), device=device)
    ctx = torch.randn(batch, 77, s['cross'], device=device)
    # model FLOPs: counted once without recomputation, at batch 1, scaled by the batch
    flops = None
    if not checkpointing and batch == 1 and not deepspeed:
        flops = step_flops(kind, unet, x, t, ctx)
    if deepspeed:
        engine = _deepspeed_engine(unet, params, batch)
        forward, update = engine, (lambda loss: (engine.backward(loss), engine.step()))
    else:
        optimizer = torch.optim.AdamW(params, lr=1e-5, fused=device.type == 'cuda')
        forward = torch.compile(unet) if compile_ else unet

        def update(loss):
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
    times = []
    for k in range(2 + repeats):
        sync(device)
        start = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16):
            out = call(kind, forward, x, t, ctx)
        update(F.mse_loss(out.float(), torch.randn_like(out, dtype=torch.float32)))
        sync(device)
        if k >= 2:  # two warm-up steps (allocator, autotuning, compilation)
            times.append(time.perf_counter() - start)
    step = sorted(times)[len(times) // 2]
    out = dict(samples_per_s=batch / step, step_s=step, peak_memory_gib=peak_memory(device),
               model_flops_per_sample=flops)
    del unet, params
    return out


def _deepspeed_engine(unet, params, batch):
    import deepspeed
    os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
    os.environ.setdefault('MASTER_PORT', '29511')
    os.environ.setdefault('RANK', '0')
    os.environ.setdefault('LOCAL_RANK', '0')
    os.environ.setdefault('WORLD_SIZE', '1')
    config = dict(train_micro_batch_size_per_gpu=batch, bf16=dict(enabled=True),
                  zero_optimization=dict(stage=2, overlap_comm=True, contiguous_gradients=True),
                  optimizer=dict(type='AdamW', params=dict(lr=1e-5, torch_adam=True)),
                  gradient_clipping=1.0)
    engine, *_ = deepspeed.initialize(model=unet, model_parameters=params, config=config)
    return engine


def write_tokenizer(folder):
    from benchmarks.full_size_training import write_clip_tokenizer
    write_clip_tokenizer(folder, 'a dog running on the beach person playing guitar'.split())
    return folder


def build_vidrd(s, tokenizer):
    """VidRD at size ``s`` with random weights (SD-2.1's VAE and text-encoder shapes)."""
    from vidrd.registry import MODELS
    return MODELS.build(dict(
        type='VidRD',
        unet=dict(type='UNet3DConditionModel', block_out_channels=s['block_out_channels'],
                  num_attention_heads=s['heads'], cross_attention_dim=s['cross']),
        vae=dict(type='AutoencoderKL', block_out_channels=s['vae_channels'],
                 down_block_types=('DownEncoderBlock2D',) * 4,
                 up_block_types=('UpDecoderBlock2D',) * 4, layers_per_block=2),
        text_encoder=dict(type='CLIPTextEncoder', tokenizer=tokenizer, config=dict(
            hidden_size=s['text_hidden'], intermediate_size=4 * s['text_hidden'],
            num_hidden_layers=s['text_layers'], num_attention_heads=max(1, s['text_hidden'] // 64),
            max_position_embeddings=77, vocab_size=49408)),
        noise_schedule=dict(type='DDPMNoiseSchedule', beta_schedule='scaled_linear',
                            beta_start=0.00085, beta_end=0.012),
        sampling_scheduler=dict(type='DDIMScheduler', beta_schedule='scaled_linear',
                                beta_start=0.00085, beta_end=0.012, steps_offset=1,
                                set_alpha_to_one=False),
        long_video_sampler=dict(type='ReuseAndDiffuseSampler', num_frames=s['frames'],
                                num_prompt_frames=0, num_inference_steps=s['steps'],
                                guidance_scale=7.5, strategies=[], progress=False),
        num_frames=s['frames'], resolution=(s['size'], s['size'])))


def ours_sampling(s, device, clips, tokenizer, repeats=1) -> float:
    reset_memory(device)
    with torch.device(device):
        model = build_vidrd(s, tokenizer).eval()
    prompts = ['a dog running on the beach'] * clips
    times = []
    for _ in range(1 + repeats):
        sync(device)
        start = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16):
            model.generate(prompts)
        sync(device)
        times.append(time.perf_counter() - start)
    del model
    return min(times[1:]) / clips


def diffusers_sampling(s, device, clips, tokenizer, repeats=1) -> float:
    reset_memory(device)
    with torch.device(device):
        pipe = _build_pipeline(s, tokenizer)
    pipe = pipe.to(device, torch.bfloat16)
    pipe.set_progress_bar_config(disable=True)
    times = []
    for _ in range(1 + repeats):
        sync(device)
        start = time.perf_counter()
        pipe(['a dog running on the beach'] * clips, num_inference_steps=s['steps'],
             guidance_scale=7.5, num_frames=s['frames'], height=s['size'], width=s['size'],
             output_type='pt')
        sync(device)
        times.append(time.perf_counter() - start)
    del pipe
    return min(times[1:]) / clips


def _build_pipeline(s, tokenizer):
    from diffusers import AutoencoderKL, DDIMScheduler, TextToVideoSDPipeline
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer
    text = CLIPTextModel(CLIPTextConfig(
        hidden_size=s['text_hidden'], intermediate_size=4 * s['text_hidden'],
        num_hidden_layers=s['text_layers'], num_attention_heads=max(1, s['text_hidden'] // 64),
        max_position_embeddings=77, vocab_size=49408))
    return TextToVideoSDPipeline(
        vae=AutoencoderKL(block_out_channels=s['vae_channels'],
                          down_block_types=('DownEncoderBlock2D',) * 4,
                          up_block_types=('UpDecoderBlock2D',) * 4, layers_per_block=2),
        text_encoder=text, tokenizer=CLIPTokenizer.from_pretrained(tokenizer),
        unet=diffusers_unet(s, False),
        scheduler=DDIMScheduler(beta_schedule='scaled_linear', beta_start=0.00085,
                                beta_end=0.012, steps_offset=1, set_alpha_to_one=False,
                                clip_sample=False))


def guarded(fn, *args, **kwargs):
    """Run one measurement; an OOM or a missing package is a result, not a crash."""
    try:
        return fn(*args, **kwargs)
    except torch.cuda.OutOfMemoryError:
        return 'out of memory'
    except ImportError as err:
        return f'skipped ({err})'
    except Exception as err:  # report and go on: one failure must not cost the GPU session
        return f'failed ({type(err).__name__}: {str(err)[:200]})'
    finally:
        reset_memory(DEVICE)


DEVICE = torch.device('cpu')


def main():
    global DEVICE
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--tiny', action='store_true', help='tiny widths (CPU smoke test)')
    parser.add_argument('--out', default='gpu_figures.json')
    parser.add_argument('--compile', action='store_true', help='also time torch.compile(ours)')
    parser.add_argument('--batches', type=int, nargs='+', default=[1, 2, 4])
    parser.add_argument('--repeats', type=int, default=5, help='timed training steps')
    parser.add_argument('--peak-tflops', type=float, help='dense bf16 peak of the card')
    args = parser.parse_args()
    s = TINY if args.tiny else SD21
    DEVICE = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    name = torch.cuda.get_device_name() if DEVICE.type == 'cuda' else 'cpu'
    peak = args.peak_tflops * 1e12 if args.peak_tflops else device_peak(name)
    torch.backends.cuda.matmul.allow_tf32 = True
    results = dict(device=name, torch=torch.__version__, peak_bf16_flops=peak,
                   size=dict(frames=s['frames'], pixels=s['size'], widths=s['block_out_channels']),
                   train={}, sampling={})
    t0 = time.time()
    for kind in ('ours', 'diffusers'):
        flops = None
        for checkpointing in (False, True):
            for batch in args.batches:
                key = f'{kind} checkpointing={"on" if checkpointing else "off"} batch={batch}'
                r = guarded(train_step_figures, kind, s, DEVICE, batch, checkpointing,
                            args.repeats)
                if isinstance(r, dict):
                    flops = r['model_flops_per_sample'] or flops
                    r['mfu'] = (flops * r['samples_per_s'] / peak) if flops else None
                results['train'][key] = r
                print(key, r, f'({time.time() - t0:.0f} s)', flush=True)
        if kind == 'ours' and args.compile:
            for batch in args.batches:
                key = f'ours torch.compile checkpointing=off batch={batch}'
                results['train'][key] = guarded(train_step_figures, kind, s, DEVICE, batch,
                                                False, args.repeats, compile_=True)
                print(key, results['train'][key], flush=True)
    for batch in (1, 2):
        key = f'ours DeepSpeed ZeRO-2 checkpointing=on batch={batch}'
        results['train'][key] = guarded(train_step_figures, 'ours', s, DEVICE, batch, True,
                                        args.repeats, deepspeed=True)
        print(key, results['train'][key], flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = write_tokenizer(osp.join(tmp, 'tokenizer'))
        for clips in (1, 4):
            for kind, fn in (('ours VidRD.generate', ours_sampling),
                             ('diffusers TextToVideoSDPipeline', diffusers_sampling)):
                key = f'{kind} clips={clips}'
                results['sampling'][key] = dict(s_per_clip=guarded(fn, s, DEVICE, clips,
                                                                   tokenizer))
                print(key, results['sampling'][key], f'({time.time() - t0:.0f} s)', flush=True)
    results['seconds'] = time.time() - t0
    with open(args.out, 'w') as f:
        json.dump(results, f, indent=1, default=str)
    print(f'written {args.out} ({results["seconds"]:.0f} s on {name})')


if __name__ == '__main__':
    with contextlib.suppress(KeyboardInterrupt):
        main()

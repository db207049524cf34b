"""Full-size (Stable Diffusion 2.1-base) VidRD training on this machine: it trains, resumes and
fits in memory.

Writes a diffusers folder with *random* full-size weights (fp16 safetensors, written by
diffusers' and transformers' ``save_pretrained``; a synthetic byte-level CLIP BPE tokenizer) and a
3-class UCF-101 with official-style split files, then trains ``configs/vidrd_sd21_ucf.py``
through ``tools/train.py`` (a child config that only points at these files and shrinks clips to
4 frames at 64 x 64) in subprocesses:

1. an uninterrupted run of ``--iters`` iterations;
2. the same run killed (SIGKILL) as soon as its checkpoint after iteration 1 exists;
3. ``--resume`` of run 2 to ``--iters``; its weights must equal run 1's ("resume: equal").

Reports s/iter, peak RSS of the training process and the phase it peaked in (build, resume,
step, checkpoint save: ``MemoryProfileHook``), what the memory holds (from parameter counts),
checkpoint size, save and load times. Random weights come only from the files written here.

    python benchmarks/full_size_training.py [--root DIR] [--iters 2] [--frozen-dtype bfloat16]
        [--cached-latents] [--small] [--keep]

``--cached-latents`` also trains from a latent cache (``tools/cache_latents.py``) and reports the
time per iteration against reading videos. ``--small`` writes a narrow model (a smoke test of
this script in about a minute). Timings on a shared machine are inflated; compare ratios.
"""
import argparse
import json
import os
import os.path as osp
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

GB = 1024 ** 3  # GiB, as free -g
CLASSES = ('ApplyEyeMakeup', 'Archery', 'Basketball')  # real UCF-101 names (shipped prompts)

# diffusers' config.json of stabilityai/stable-diffusion-2-1-base, and of a narrow variant
SD21_UNET = dict(
    sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
    block_out_channels=(320, 640, 1280, 1280), attention_head_dim=(5, 10, 20, 20),
    down_block_types=('CrossAttnDownBlock2D',) * 3 + ('DownBlock2D',),
    up_block_types=('UpBlock2D',) + ('CrossAttnUpBlock2D',) * 3,
    cross_attention_dim=1024, use_linear_projection=True, flip_sin_to_cos=True, freq_shift=0)
SD21_VAE = dict(
    in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, sample_size=512,
    block_out_channels=(128, 256, 512, 512), down_block_types=('DownEncoderBlock2D',) * 4,
    up_block_types=('UpDecoderBlock2D',) * 4)
SD21_TEXT = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=23,
                 num_attention_heads=16, max_position_embeddings=77, hidden_act='gelu',
                 projection_dim=512, vocab_size=49408)
SMALL = dict(unet=dict(block_out_channels=(64, 128, 256, 256), attention_head_dim=(2, 4, 8, 8),
                       cross_attention_dim=256),
             vae=dict(block_out_channels=(32, 64, 64, 64)),
             text=dict(hidden_size=256, intermediate_size=512, num_hidden_layers=2,
                       num_attention_heads=4))


# ----------------------------------------------------------------------------- data writers
def bytes_to_unicode() -> dict:
    """GPT-2 / CLIP's reversible byte -> printable character table."""
    printable = (list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1))
                 + list(range(ord('®'), ord('ÿ') + 1)))
    chars, extra = list(printable), 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, chars)))


def write_clip_tokenizer(folder: str, words) -> int:
    """A byte-level CLIP BPE tokenizer: every byte (word-inner and word-final) plus merges that
    spell ``words`` whole. Returns the vocabulary size."""
    os.makedirs(folder, exist_ok=True)
    symbols = list(bytes_to_unicode().values())
    vocab = {s: i for i, s in enumerate(symbols + [s + '</w>' for s in symbols])}
    merges = []
    for word in sorted(set(words)):
        pieces = [bytes_to_unicode()[b] for b in word.encode('utf-8')]
        pieces[-1] += '</w>'
        current = pieces[0]
        for piece in pieces[1:]:
            merged = current + piece
            if merged not in vocab:
                merges.append(f'{current} {piece}')
                vocab[merged] = len(vocab)
            current = merged
    vocab['<|startoftext|>'] = len(vocab)
    vocab['<|endoftext|>'] = len(vocab)
    with open(osp.join(folder, 'vocab.json'), 'w') as f:
        json.dump(vocab, f)
    with open(osp.join(folder, 'merges.txt'), 'w') as f:
        f.write('#version: 0.2\n' + '\n'.join(merges) + '\n')
    with open(osp.join(folder, 'tokenizer_config.json'), 'w') as f:
        json.dump(dict(model_max_length=77, pad_token='!', bos_token='<|startoftext|>',
                       eos_token='<|endoftext|>', unk_token='<|endoftext|>',
                       do_lower_case=True), f)
    return len(vocab)


def write_sd21_folder(folder: str, small: bool = False) -> None:
    """Random-weight SD-2.1-base diffusers folder, fp16 safetensors via save_pretrained."""
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel
    from vidrd.datasets.ucf101_dataset import load_class_prompts
    torch.manual_seed(0)
    small = SMALL if small else dict(unet={}, vae={}, text={})
    unet = UNet2DConditionModel(**dict(SD21_UNET, **small['unet']))
    unet.to(torch.float16).save_pretrained(osp.join(folder, 'unet'))
    del unet
    AutoencoderKL(**dict(SD21_VAE, **small['vae'])).to(torch.float16).save_pretrained(
        osp.join(folder, 'vae'))
    words = ' '.join(p for c in CLASSES for p in load_class_prompts()[c]).lower().split()
    write_clip_tokenizer(osp.join(folder, 'tokenizer'), words + ['a', 'video', 'of'])
    text = CLIPTextModel(CLIPTextConfig(**dict(SD21_TEXT, **small['text'])))
    text.to(torch.float16).save_pretrained(osp.join(folder, 'text_encoder'))
    with open(osp.join(folder, 'model_index.json'), 'w') as f:
        json.dump(dict(_class_name='StableDiffusionPipeline', random_weights=True), f)


def write_ucf101(root: str, videos_per_class: int = 2) -> None:
    """UCF-101 layout: UCF-101/<Class>/v_<Class>_gXX_c01.avi + ucfTrainTestlist/ (split 1)."""
    import numpy as np
    from vidrd.datasets.video_io import write_video
    rng = np.random.default_rng(0)
    lists = dict(train=[], test=[])
    for label, name in enumerate(CLASSES, start=1):
        for group in range(1, videos_per_class + 2):
            relative = f'{name}/v_{name}_g{group:02d}_c01.avi'
            frames = rng.integers(0, 255, (12, 72, 96, 3), dtype=np.uint8)
            write_video(osp.join(root, 'UCF-101', relative), frames, fps=25)
            subset = 'train' if group <= videos_per_class else 'test'
            lists[subset].append(f'{relative} {label}' if subset == 'train' else relative)
    split_dir = osp.join(root, 'ucfTrainTestlist')
    os.makedirs(split_dir, exist_ok=True)
    with open(osp.join(split_dir, 'classInd.txt'), 'w') as f:
        f.writelines(f'{i} {c}\n' for i, c in enumerate(CLASSES, start=1))
    for subset, lines in lists.items():
        with open(osp.join(split_dir, f'{subset}list01.txt'), 'w') as f:
            f.writelines(line + '\n' for line in lines)


def write_config(path: str, sd21: str, ucf: str, frozen_dtype=None, batch_size: int = 2) -> None:
    """The user's config with these files and 4-frame 64 x 64 clips (nothing else changed but
    what a benchmark needs: no evaluation, no data workers, per-phase memory)."""
    text = f'''_base_ = [{osp.join(REPO, 'configs', 'vidrd_sd21_ucf.py')!r}]
sd21 = {sd21!r}
clip = dict(num_frames=4, size=(64, 64))
model = dict(
    unet=dict(folder=sd21 + '/unet'), vae=dict(folder=sd21 + '/vae'),
    text_encoder=dict(pretrained=sd21 + '/text_encoder', tokenizer=sd21 + '/tokenizer'),
    num_frames=4, resolution=(64, 64), frozen_dtype={frozen_dtype!r},
    long_video_sampler=dict(num_frames=4, num_prompt_frames=2))
train_dataloader = dict(
    batch_size={batch_size}, num_workers=0, persistent_workers=False,
    dataset=dict(data_root={ucf!r}, pipeline=[
        dict(type='LoadVideoFrames', num_frames=4, frame_interval=2, clip_start='random'),
        dict(type='Resize', scale=64),
        dict(type='RandomCrop', size=(64, 64)),
        dict(type='NormalizeVideo'),
        dict(type='PackVideoInputs')]))
val_cfg = None
test_dataloader = None
test_cfg = None
test_evaluator = None
custom_hooks = [dict(type='TrainableCheckpointHook'), dict(type='IterationSeedHook'),
                dict(type='MemoryProfileHook')]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(max_keep_ckpts=1))
'''
    with open(path, 'w') as f:
        f.write(text)


# ----------------------------------------------------------------------------- runs
def _rss(pid: int) -> int:
    try:
        with open(f'/proc/{pid}/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def train(config: str, work_dir: str, iters: int, interval: int, resume: bool = False,
          kill_after: str = None, extra=()) -> dict:
    """Run tools/train.py; sample its RSS; SIGKILL it once ``kill_after`` exists."""
    cmd = [sys.executable, osp.join(REPO, 'tools', 'train.py'), config, '--work-dir', work_dir,
           '--cfg-options', f'train_cfg.max_iters={iters}',
           f'default_hooks.checkpoint.interval={interval}', *extra]
    if resume:
        cmd.append('--resume')
    os.makedirs(work_dir, exist_ok=True)
    log = open(osp.join(work_dir, 'stdout.log'), 'w')
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    start = time.time()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    peak, killed = 0, False
    while proc.poll() is None:
        peak = max(peak, _rss(proc.pid))
        if kill_after and osp.exists(kill_after):
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
            proc.wait()
            break
        time.sleep(0.05)
    log.close()
    if proc.returncode != 0 and not killed:
        tail = open(osp.join(work_dir, 'stdout.log')).read()[-3000:]
        raise RuntimeError(f'{" ".join(cmd)} failed ({proc.returncode}):\n{tail}')
    return dict(seconds=time.time() - start, peak_rss=peak, killed=killed, work_dir=work_dir,
                phases=phases(work_dir), log=open(osp.join(work_dir, 'stdout.log')).read())


def phases(work_dir: str) -> dict:
    from vidrd.engine.hooks.memory_profile_hook import summarise
    return summarise(osp.join(work_dir, 'memory_profile.jsonl'))


def step_seconds(run: dict) -> float:
    """Mean time of the steps after the first (the first also allocates the AdamW state)."""
    from vidrd.engine.hooks.memory_profile_hook import read_records
    steps = [r['seconds'] for r in read_records(osp.join(run['work_dir'], 'memory_profile.jsonl'))
             if r['phase'] == 'step']
    steps = steps[1:] or steps
    return sum(steps) / max(len(steps), 1)


def parameter_counts(log: str) -> tuple:
    """(trainable, total) from VidRD's log line 'VidRD: N of M parameters train'."""
    import re
    match = re.search(r'VidRD: ([\d,]+) of ([\d,]+) parameters train', log)
    if not match:
        raise RuntimeError('the training log has no "VidRD: N of M parameters train" line')
    return tuple(int(x.replace(',', '')) for x in match.groups())


def safetensors_numel(path: str) -> int:
    from safetensors import safe_open
    with safe_open(path, 'pt') as f:
        total = 0
        for key in f.keys():
            numel = 1
            for dim in f.get_slice(key).get_shape():
                numel *= dim
            total += numel
    return total


def compare_checkpoints(a: str, b: str) -> float:
    """Largest absolute difference of the weights in two checkpoints (memory-mapped)."""
    import torch
    sa = torch.load(a, map_location='cpu', weights_only=True, mmap=True)['state_dict']
    sb = torch.load(b, map_location='cpu', weights_only=True, mmap=True)['state_dict']
    if set(sa) != set(sb):
        raise AssertionError(f'{a} and {b} hold different keys: {sorted(set(sa) ^ set(sb))[:5]}')
    return max(float((sa[k].float() - sb[k].float()).abs().max()) if not torch.equal(sa[k], sb[k])
               else 0.0 for k in sa)


def memory_table(sd21: str, log: str, frozen_dtype) -> list:
    """What the training process holds, computed from parameter counts (bytes)."""
    trainable, total = parameter_counts(log)
    vae = safetensors_numel(osp.join(sd21, 'vae', 'diffusion_pytorch_model.safetensors'))
    text = safetensors_numel(osp.join(sd21, 'text_encoder', 'model.safetensors'))
    unet = total - vae - text
    import torch
    from vidrd.utils.precision import resolve_precision
    frozen_bytes = (resolve_precision(frozen_dtype) or torch.float32).itemsize
    return [('U-Net weights (fp32)', unet * 4, f'{unet:,} parameters'),
            ('gradients of the trainable subset', trainable * 4, f'{trainable:,} parameters'),
            ('AdamW state (exp_avg, exp_avg_sq)', trainable * 8, '2 x fp32'),
            (f'VAE + text encoder ({frozen_dtype or "float32"})', (vae + text) * frozen_bytes,
             f'{vae:,} + {text:,} parameters')]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--root', help='folder for weights, data and runs (default: a temp dir)')
    parser.add_argument('--iters', type=int, default=2)
    parser.add_argument('--frozen-dtype', default='bfloat16',
                        help="dtype of the frozen VAE / text encoder ('none': float32)")
    parser.add_argument('--cached-latents', action='store_true',
                        help='also train from a latent cache and compare s/iter')
    parser.add_argument('--small', action='store_true', help='narrow model (smoke test)')
    parser.add_argument('--keep', action='store_true', help='keep checkpoints and data')
    args = parser.parse_args()
    frozen_dtype = None if args.frozen_dtype.lower() == 'none' else args.frozen_dtype
    root = args.root or tempfile.mkdtemp(prefix='vidrd_full_size_')
    sd21, ucf = osp.join(root, 'stable-diffusion-2-1-base'), osp.join(root, 'ucf101')
    t0 = time.time()
    if not osp.isfile(osp.join(sd21, 'model_index.json')):
        # a child process: the writer's copies of the full model leave nothing behind here
        import multiprocessing as mp
        writer = mp.get_context('spawn').Process(target=write_sd21_folder,
                                                 args=(sd21, args.small))
        writer.start()
        writer.join()
        if writer.exitcode != 0:
            raise SystemExit(f'writing the random-weight folder {sd21} failed')
    if not osp.isdir(osp.join(ucf, 'ucfTrainTestlist')):
        write_ucf101(ucf)
    print(f'random-weight SD-2.1-base folder and 3-class UCF-101 in {root} '
          f'({time.time() - t0:.0f} s)', flush=True)
    config = osp.join(root, 'vidrd_sd21_ucf_4x64.py')
    write_config(config, sd21, ucf, frozen_dtype)
    runs = osp.join(root, 'runs')
    shutil.rmtree(runs, ignore_errors=True)
    n = args.iters
    straight = train(config, osp.join(runs, 'straight'), n, interval=n)
    print(f'uninterrupted run: {n} iterations in {straight["seconds"]:.0f} s', flush=True)
    killed_dir = osp.join(runs, 'resumed')
    killed = train(config, killed_dir, n, interval=1, kill_after=osp.join(killed_dir, 'iter_1.pth'))
    print(f'second run killed after its iteration-1 checkpoint: {killed["killed"]}', flush=True)
    resumed = train(config, killed_dir, n, interval=1, resume=True)
    diff = compare_checkpoints(osp.join(runs, 'straight', f'iter_{n}.pth'),
                               osp.join(killed_dir, f'iter_{n}.pth'))
    report(straight, killed, resumed, diff, sd21, frozen_dtype,
           osp.join(killed_dir, f'iter_{n}.pth'))
    if args.cached_latents:
        cached_speedup(config, root, n, straight)
    print(f'total {time.time() - t0:.0f} s')
    if not args.keep and not args.root:
        shutil.rmtree(root, ignore_errors=True)
    elif not args.keep:
        shutil.rmtree(runs, ignore_errors=True)


def report(straight, killed, resumed, diff, sd21, frozen_dtype, checkpoint) -> None:
    trainable, total = parameter_counts(straight['log'])
    print(f'\ntrainable parameters: {trainable:,} of {total:,} (VidRD incl. VAE and text encoder)')
    print(f's/iter (uninterrupted run, steps after the first): {step_seconds(straight):.1f}; '
          f'resumed run: {step_seconds(resumed):.1f}')
    print('peak RSS of the training process by phase (GiB), uninterrupted / killed / resumed run:')
    names = ('build', 'resume', 'setup', 'step', 'after_step', 'checkpoint_save')
    for name in names:
        values = [run['phases'].get(name, (0, 0, 0)) for run in (straight, killed, resumed)]
        if any(v[2] for v in values):
            print(f'  {name:16s}' + ''.join(f'{v[0] / GB:8.2f}' for v in values))
    overall = max(run['peak_rss'] for run in (straight, killed, resumed))
    where = max(((name, run['phases'][name][0]) for run in (straight, killed, resumed)
                 for name in run['phases']), key=lambda x: x[1])[0]
    print(f'peak RSS: {overall / GB:.2f} GiB = {overall / 1e9:.2f} GB (sampled every 50 ms; '
          f'highest phase: {where})')
    print('what the training process holds (computed from parameter counts):')
    held = 0
    for name, size, note in memory_table(sd21, straight['log'], frozen_dtype):
        held += size
        print(f'  {name:40s}{size / GB:6.2f} GiB  {note}')
    step_peak = straight['phases'].get('step', (0,))[0]
    print(f'  {"activations, autograd, allocator, code":40s}{(step_peak - held) / GB:6.2f} GiB  '
          '(step peak minus the above)')
    size = osp.getsize(checkpoint)
    save = straight['phases'].get('checkpoint_save', (0, 0.0, 1))
    load = resumed['phases'].get('resume', (0, 0.0, 1))
    print(f'checkpoint: {size / GB:.2f} GiB on disk; save {save[1] / max(save[2], 1):.1f} s, '
          f'resume load {load[1]:.1f} s')
    print(f'resume: {"equal" if diff == 0 else f"DIFFERENT (max abs diff {diff:.3g})"}')


def frozen_encoder_seconds(config: str, batch_size: int = 2, repeats: int = 3) -> tuple:
    """(VAE encoder, text encoder) seconds for one batch of the config's clips: the work per
    iteration a latent cache saves (besides decoding the video files)."""
    import torch
    from mmengine.config import Config
    from vidrd.registry import MODELS
    cfg = Config.fromfile(config)
    from vidrd.utils.precision import resolve_precision
    dtype = resolve_precision(cfg.model.get('frozen_dtype') or 'fp32', 'model.frozen_dtype')
    vae = MODELS.build(cfg.model.vae).eval().to(dtype)
    text = MODELS.build(cfg.model.text_encoder).eval().to(dtype)
    video = torch.rand(batch_size, 3, 4, 64, 64) * 2 - 1
    best = (float('inf'), float('inf'))
    with torch.no_grad():
        for _ in range(repeats):
            t0 = time.perf_counter()
            vae.encode_video_moments(video)
            t1 = time.perf_counter()
            text.encode(['a person applying eye makeup'] * batch_size)
            best = min(best[0], t1 - t0), min(best[1], time.perf_counter() - t1)
    return best


def cached_speedup(config: str, root: str, n: int, straight: dict) -> None:
    """Train from a latent cache of the same data; compare the time per step."""
    cache = osp.join(root, 'latent_cache')
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    t0 = time.time()
    subprocess.run([sys.executable, osp.join(REPO, 'tools', 'cache_latents.py'), config,
                    '--out', cache], check=True, env=env)
    print(f'latent cache written in {time.time() - t0:.0f} s')
    run = train(config, osp.join(root, 'runs', 'cached'), n, interval=n,
                extra=[f'latent_cache={cache}'])
    vae_s, text_s = frozen_encoder_seconds(config)
    print(f'frozen encoders per iteration (what the cache saves besides video decoding): '
          f'VAE {vae_s:.2f} s + text encoder {text_s:.2f} s')
    print(f's/iter from videos {step_seconds(straight):.1f}, from the latent cache '
          f'{step_seconds(run):.1f} (x{step_seconds(straight) / max(step_seconds(run), 1e-9):.2f}'
          f'); peak RSS {run["peak_rss"] / GB:.2f} GiB')


if __name__ == '__main__':
    from vidrd.utils.cpu_allocator import tune_cpu_allocator
    tune_cpu_allocator()  # as tools/*.py do (VIDRD_TUNE_ALLOCATOR=0: off)
    threading.current_thread().name = 'full_size_training'
    main()

"""Does the temporal-aware decoder make reconstructions more temporally consistent?

    python tools/train.py configs/vae_tiny_shapes_pretrain.py     # the frozen 2D VAE
    python tools/train.py configs/vae_temporal_tiny_shapes.py     # its temporal fine-tuning
    python benchmarks/vae_temporal_consistency.py                 # compare the two

Both VAEs reconstruct the same held-out clips of the embedded moving-shapes dataset (by default
the 'heldout' colour x shape x direction combinations, drawn with a seed neither training nor
validation used). The encoder is shared (frozen during the fine-tuning, checked here), so both
decoders see identical latents; the frozen decoder decodes frame by frame (what SD's VAE does),
the fine-tuned one decodes each clip's frames together (``num_frames=F``), so its Temp-Convs act.

Reported per decoder (``vidrd.evaluation.metrics.reconstruction``, frames in [0, 1]):
- ``temporal_diff_l1``: mean |(x_hat_{t+1} - x_hat_t) - (x_{t+1} - x_t)|, the error of the
  frame-to-frame changes (flicker raises it; the paper's motivation for Sec. 3.4);
- PSNR and SSIM per frame (reconstruction quality must not pay for the consistency);
for latents at the posterior mean (deterministic) and, as a proxy for latents that are not
exactly consistent from frame to frame (as a diffusion model generates them), sampled from the
posterior with the same draws for both decoders.

Control (``--control-vae``): is the gain the Temp-Convs' or just more training? Train the 2D VAE
further, every weight, for the fine-tuning's iterations, data and learning rates, e.g.

    python tools/train.py configs/vae_tiny_shapes_pretrain.py \
        --work-dir work_dirs/vae_tiny_shapes_2d_control --cfg-options \
        model.vae.type=PretrainedAutoencoderKL \
        model.vae.folder=work_dirs/vae_tiny_shapes_pretrain/vae \
        train_dataloader.batch_size=4 train_dataloader.dataset.num_frames=8 \
        train_cfg.max_iters=300 train_cfg.val_interval=300 \
        optim_wrapper.generator.optimizer.lr=1e-3 param_scheduler.0.end=300
    python benchmarks/vae_temporal_consistency.py \
        --control-vae work_dirs/vae_tiny_shapes_2d_control/vae

It decodes frame by frame from its own (also further trained) encoder's latents.
"""
import argparse
import json
import os.path as osp
import sys
import time
from typing import Dict

import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

from vidrd.datasets.moving_shapes import MovingShapesDataset  # noqa: E402
from vidrd.evaluation.metrics.reconstruction import (frame_psnr, frame_ssim,  # noqa: E402
                                                     temporal_diff_l1)
from vidrd.models.vaes import AutoencoderKL, is_temporal_key  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--frozen-vae', default=osp.join(
        REPO, 'work_dirs', 'vae_tiny_shapes_pretrain', 'vae'),
        help='the 2D VAE the fine-tuning started from')
    parser.add_argument('--finetuned-vae', default=osp.join(
        REPO, 'work_dirs', 'vae_temporal_tiny_shapes', 'vae_finetuned'),
        help='the exported temporal VAE')
    parser.add_argument('--control-vae', help='optional: the 2D VAE trained further for as many '
                        'iterations as the fine-tuning, every weight (see the docstring)')
    parser.add_argument('--split', default='heldout', choices=['heldout', 'train', 'all'])
    parser.add_argument('--num-clips', type=int, default=64)
    parser.add_argument('--num-frames', type=int, default=8)
    parser.add_argument('--size', type=int, default=32)
    parser.add_argument('--seed', type=int, default=123, help='clips (training used 0, '
                        'validation 1)')
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--out', help='also write the figures to this JSON file')
    return parser.parse_args()


def check_same_encoder(frozen: AutoencoderKL, finetuned: AutoencoderKL) -> None:
    """Every non-temporal weight must be the frozen VAE's, else the comparison is not one of
    decoders on the same latents."""
    ours = finetuned.state_dict()
    for key, value in frozen.state_dict().items():
        if key not in ours or not torch.equal(ours[key], value):
            raise SystemExit(f'{key} differs between the two VAEs: the fine-tuned VAE was not '
                             'fine-tuned from --frozen-vae')
    extra = [k for k in ours if k not in frozen.state_dict() and not is_temporal_key(k)]
    if extra:
        raise SystemExit(f'the fine-tuned VAE has non-temporal weights the frozen one lacks: '
                         f'{extra[:5]}')


def summarise(recon: torch.Tensor, video: torch.Tensor, out: Dict[str, list]) -> None:
    """Per-clip metrics of (B, 3, F, H, W) videos in [-1, 1], appended to ``out``."""
    for pred, gt in zip(recon, video):
        pred = ((pred + 1) / 2).clamp(0, 1)
        gt = ((gt + 1) / 2).clamp(0, 1)
        out['temporal_diff_l1'].append(temporal_diff_l1(pred, gt).item())
        out['PSNR'].append(frame_psnr(pred, gt).mean().item())
        out['SSIM'].append(frame_ssim(pred, gt).mean().item())


def paired_change(before: list, after: list) -> dict:
    """Per-clip differences after - before: mean, standard error, clips improved."""
    diff = torch.tensor(after, dtype=torch.float64) - torch.tensor(before, dtype=torch.float64)
    stderr = diff.std().item() / len(diff) ** 0.5 if len(diff) > 1 else float('nan')
    return dict(mean=diff.mean().item(), stderr=stderr, lower=int((diff < 0).sum()),
                clips=len(diff), relative=diff.mean().item() / (sum(before) / len(before)))


@torch.no_grad()
def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    frozen = AutoencoderKL.from_pretrained(args.frozen_vae).eval()
    finetuned = AutoencoderKL.from_pretrained(args.finetuned_vae).eval()
    if frozen.has_temporal_layers or not finetuned.has_temporal_layers:
        raise SystemExit('--frozen-vae must be a 2D VAE and --finetuned-vae a temporal one')
    check_same_encoder(frozen, finetuned)
    decoders = [('frozen', 'frozen, frame by frame'), ('finetuned', 'Temp-Conv, whole clip')]
    control = None
    if args.control_vae:
        control = AutoencoderKL.from_pretrained(args.control_vae).eval()
        if control.has_temporal_layers:
            raise SystemExit('--control-vae must be a 2D VAE')
        decoders.append(('control', '2D trained on, per frame'))
    dataset = MovingShapesDataset(
        num_samples=args.num_clips, num_frames=args.num_frames, size=args.size,
        split=args.split, seed=args.seed,
        pipeline=[dict(type='NormalizeVideo'), dict(type='PackVideoInputs')])
    results = {f'{mode}/{name}': {k: [] for k in ('temporal_diff_l1', 'PSNR', 'SSIM')}
               for mode in ('mean', 'sampled') for name, _ in decoders}
    generator = torch.Generator().manual_seed(args.seed)
    start = time.time()
    for first in range(0, len(dataset), args.batch_size):
        video = torch.stack([dataset[i]['inputs']
                             for i in range(first, min(first + args.batch_size, len(dataset)))])
        b, c, f, h, w = video.shape
        frames = video.transpose(1, 2).reshape(b * f, c, h, w)
        posterior = frozen.encode(frames)
        eps = torch.randn(posterior.mean.shape, generator=generator)  # one draw for all VAEs
        latents = dict(mean=posterior.mean, sampled=posterior.mean + posterior.std * eps)
        runs = [(name, vae, num_frames, latents) for name, vae, num_frames in
                (('frozen', frozen, 1), ('finetuned', finetuned, f))]
        if control is not None:  # its own (further trained) encoder: its own latents
            own = control.encode(frames)
            runs.append(('control', control, 1,
                         dict(mean=own.mean, sampled=own.mean + own.std * eps)))
        for name, vae, num_frames, zs in runs:
            for mode, z in zs.items():
                x = vae.decode(z, num_frames=num_frames)
                summarise(x.view(b, f, c, h, w).transpose(1, 2), video,
                          results[f'{mode}/{name}'])
    figures = {key: {k: sum(v) / len(v) for k, v in values.items()}
               for key, values in results.items()}

    print(f'{len(dataset)} {args.split} clips of {args.num_frames} frames at {args.size}x'
          f'{args.size} (seed {args.seed}), {time.time() - start:.1f} s')
    print(f'frozen 2D VAE : {args.frozen_vae}\nfine-tuned VAE: {args.finetuned_vae}')
    print(f'{"latents":9s} {"decoder":26s} {"temporal_diff_l1":>17s} {"PSNR":>8s} {"SSIM":>7s}')
    for mode in ('mean', 'sampled'):
        for name, label in decoders:
            r = figures[f'{mode}/{name}']
            print(f'{mode:9s} {label:26s} {r["temporal_diff_l1"]:17.5f} {r["PSNR"]:8.3f} '
                  f'{r["SSIM"]:7.4f}')
        for name, _ in decoders[1:]:
            paired = paired_change(results[f'{mode}/frozen']['temporal_diff_l1'],
                                   results[f'{mode}/{name}']['temporal_diff_l1'])
            figures[f'{mode}/{name}']['paired_vs_frozen'] = paired
            print(f'{"":9s} {name} vs frozen: temporal_diff_l1 {paired["relative"]:+.1%} '
                  f'(per clip {paired["mean"]:+.5f} +- {paired["stderr"]:.5f} s.e., lower on '
                  f'{paired["lower"]}/{paired["clips"]} clips)')
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as fh:
            json.dump(dict(vars(args), figures=figures), fh, indent=2)


if __name__ == '__main__':
    from vidrd.utils.cpu_allocator import tune_cpu_allocator
    tune_cpu_allocator()  # as tools/*.py do (VIDRD_TUNE_ALLOCATOR=0: off)
    main()

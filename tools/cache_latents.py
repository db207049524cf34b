"""Cache VAE posterior moments and text embeddings of a config's training data.

    python tools/cache_latents.py CONFIG --out DIR [--shard-size 64] [--crops-per-clip 1]
        [--batch-size 8] [--device auto]
    torchrun --nproc_per_node N tools/cache_latents.py CONFIG --out DIR   (each rank its shards;
        --device auto puts rank r on cuda:LOCAL_RANK)

Only the config's VAE and text encoder are built (not the U-Net).

Then train from the cache: ``python tools/train.py CONFIG --cfg-options latent_cache=DIR``.
"""
import argparse

from vidrd.apis.cache_latents import cache_latents
from vidrd.apis.run_config import DictAction, load_config
from vidrd.utils.cli import run_cli
from vidrd.utils.cpu_allocator import tune_cpu_allocator
from vidrd.utils.device import add_device_argument, resolve_device

#: the library's parameter names -> this tool's flags (it checks the values and names them)
FLAGS = {'shard_size': '--shard-size', 'crops_per_clip': '--crops-per-clip',
         'batch_size': '--batch-size', 'out_dir': '--out'}


def main():
    parser = argparse.ArgumentParser(description='Cache latents and text embeddings')
    parser.add_argument('config')
    parser.add_argument('--out', required=True, help='cache folder (resumes if it exists)')
    parser.add_argument('--shard-size', type=int, default=64, help='samples per shard file')
    parser.add_argument('--crops-per-clip', type=int, default=1,
                        help='random crops / clip offsets cached per sample (one is drawn per '
                             'training step)')
    parser.add_argument('--batch-size', type=int, default=8,
                        help='clips (and captions) per encoder call')
    add_device_argument(parser)
    parser.add_argument('--no-progress', action='store_true')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    device = resolve_device(args.device)
    cfg = load_config(args.config, args.cfg_options, use_latent_cache=False)
    cache_latents(cfg, args.out, args.shard_size, args.crops_per_clip,
                  progress=not args.no_progress, device=device, batch_size=args.batch_size)


if __name__ == '__main__':
    tune_cpu_allocator()  # for tensor work on the CPU (VIDRD_TUNE_ALLOCATOR=0: off)
    run_cli(main, flags=FLAGS)

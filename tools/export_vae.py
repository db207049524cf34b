"""Export the VAE of a VAE-training checkpoint as a ``vae_finetuned/`` folder.

    python tools/export_vae.py CONFIG CHECKPOINT OUT_DIR [--cfg-options ...]

e.g. ``python tools/export_vae.py configs/vae_temporal_sd21_ucf.py
work_dirs/vae_temporal_sd21_ucf/iter_10000.pth work_dirs/vae_temporal_sd21_ucf/vae_iter_10000``.
Training already exports the final weights (``ExportTemporalVAEHook``); this tool is for an
intermediate checkpoint. Load the folder in a VidRD config with
``vae=dict(type='PretrainedAutoencoderKL', folder=OUT_DIR)``.
"""
import argparse

from mmengine.registry import init_default_scope

from vidrd.apis.run_config import DictAction, check_paths, load_config
from vidrd.engine.hooks.export_temporal_vae_hook import export_vae_from_checkpoint
from vidrd.registry import MODELS
from vidrd.utils.cli import run_cli
from vidrd.utils.cpu_allocator import tune_cpu_allocator
from vidrd.utils.logging import get_logger


def parse_args():
    parser = argparse.ArgumentParser(description='Export a trained VAE as a vae_finetuned/ folder')
    parser.add_argument('config', help='the VAE training config, e.g. '
                                       'configs/vae_temporal_sd21_ucf.py')
    parser.add_argument('checkpoint', help='checkpoint written by tools/train.py')
    parser.add_argument('out_dir', help='folder to write (config.json + safetensors)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. model.vae.folder=/path/to/vae')
    parser.add_argument('--trust-pickle', action='store_true',
                        help='allow a checkpoint that needs full unpickling (trusted files only)')
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    check_paths(cfg, sections=('model',))
    init_default_scope(cfg.get('default_scope', 'vidrd'))  # as the Runner does
    model = MODELS.build(cfg.model)
    folder = export_vae_from_checkpoint(model, args.checkpoint, args.out_dir, args.trust_pickle)
    get_logger().info(f"use it with vae=dict(type='PretrainedAutoencoderKL', folder={folder!r})")


if __name__ == '__main__':
    tune_cpu_allocator()  # for tensor work on the CPU (VIDRD_TUNE_ALLOCATOR=0: off)
    run_cli(main)

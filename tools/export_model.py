"""Export a trained model as one standalone folder for sharing:
``python tools/export_model.py CONFIG CHECKPOINT --out model_dir``.

Our training checkpoints hold only what training changed (frozen SD-2.1 parts are rebuilt from
the config's paths); the export holds every weight (``model.safetensors``) and a ``config.py``
that builds the architecture from files inside the folder, so it loads without the original
folders: ``python tools/generate.py model_dir/config.py model_dir/model.safetensors ...``.
The logic lives in vidrd.apis.export.
"""
import argparse

from vidrd.apis.export import export_standalone_model
from vidrd.apis.run_config import DictAction
from vidrd.utils.cli import run_cli
from vidrd.utils.cpu_allocator import tune_cpu_allocator


def main():
    parser = argparse.ArgumentParser(description='Export a standalone vidrd model')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    weights = export_standalone_model(args.config, args.checkpoint, args.out, args.cfg_options)
    print(f'wrote {weights} and {args.out}/config.py')


if __name__ == '__main__':
    tune_cpu_allocator()  # for tensor work on the CPU (VIDRD_TUNE_ALLOCATOR=0: off)
    run_cli(main)

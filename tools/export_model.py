"""Export a trained model as one standalone safetensors file (+ its config) for sharing:
``python tools/export_model.py CONFIG CHECKPOINT --out model_dir``.

Our training checkpoints hold only what training changed (frozen SD-2.1 parts are rebuilt from
the config's paths); the export holds every weight, so it loads without the original folders.
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config

from vidrd.apis.generate import load_generation_model
from vidrd.apis.run_config import DictAction
from vidrd.utils.checkpoint import save_state_dict_atomic


def main():
    parser = argparse.ArgumentParser(description='Export a standalone vidrd model')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    model = load_generation_model(args.config, args.checkpoint, cfg_options=args.cfg_options)
    os.makedirs(args.out, exist_ok=True)
    weights = osp.join(args.out, 'model.safetensors')
    # tensors shared between modules are stored once per name
    state = {k: v.contiguous().clone() for k, v in model.state_dict().items()}
    save_state_dict_atomic(state, weights, metadata=dict(format='vidrd', config=args.config))
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.dump(osp.join(args.out, 'config.py'))
    print(f'wrote {weights} ({len(state)} tensors) and {args.out}/config.py')


if __name__ == '__main__':
    main()

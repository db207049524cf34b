"""Serve the Gradio web app over a trained model (logic: vidrd.apis.app).

    python tools/app.py CONFIG [CHECKPOINT] [--port 7860] [--share false]
        [--sampler-config configs/ablations/tiny_shapes/vidrd_full.py] [--cfg-options ...]
        [--amp auto|bf16|fp32]

e.g. after ``bash tools/demo.sh``:
``python tools/app.py configs/vidrd_tiny_shapes.py work_dirs/demo/vidrd/iter_2400.pth``,
then open http://127.0.0.1:7860.

The page's "Method" offers every registered long-video sampler (the paper's clip-after-clip
ReuseAndDiffuseSampler with its strategies, TemporalCoDenoisingSampler, FIFODiffusionSampler, a
plugin's too), each with its own settings. The model's sampler, which ``--sampler-config`` (e.g.
configs/long_video/fifo_diffusion.py) and ``--cfg-options`` set, is the one preselected, and
its settings are the method's defaults; ``--amp`` applies to every method.
"""
import argparse

from mmengine.config import DictAction

from vidrd.apis.app import launch_app
from vidrd.apis.run_config import add_sampling_amp_argument, with_sampling_amp
from vidrd.utils.cli import InvalidValueError, run_cli
from vidrd.utils.cpu_allocator import tune_cpu_allocator
from vidrd.utils.device import add_device_argument, resolve_device


def _bool(text: str) -> bool:
    if text.lower() in ('true', '1', 'yes'):
        return True
    if text.lower() in ('false', '0', 'no'):
        return False
    raise InvalidValueError(f'--share takes true or false, got {text!r}')


def main():
    parser = argparse.ArgumentParser(description='Serve the vidrd web app')
    parser.add_argument('config', help='model config, e.g. configs/vidrd_tiny_shapes.py')
    parser.add_argument('checkpoint', nargs='?', help='trained checkpoint (tools/train.py)')
    parser.add_argument('--port', type=int, default=7860)
    parser.add_argument('--host', default='127.0.0.1', help='0.0.0.0 to serve the network')
    parser.add_argument('--share', default='false',
                        help='true: a public gradio.live link (needs the internet)')
    parser.add_argument('--sampler-config', help='e.g. configs/ablations/tiny_shapes/vidrd_full.py')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    add_device_argument(parser)
    add_sampling_amp_argument(parser, default='auto')
    parser.add_argument('--trust-pickle', action='store_true',
                        help='allow a checkpoint that needs full unpickling (trusted files only)')
    args = parser.parse_args()
    launch_app(args.config, args.checkpoint, port=args.port, share=_bool(args.share),
               host=args.host, sampler_config=args.sampler_config,
               cfg_options=with_sampling_amp(args.cfg_options, args.amp),
               device=resolve_device(args.device), trust_pickle=args.trust_pickle)


if __name__ == '__main__':
    tune_cpu_allocator()  # for tensor work on the CPU (VIDRD_TUNE_ALLOCATOR=0: off)
    run_cli(main)

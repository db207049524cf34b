"""Generate long videos from prompts with the Reuse-and-Diffuse sampler.

    python tools/generate.py CONFIG [CHECKPOINT] --prompt "a red circle moving left" \\
        [--prompt ...] [--prompt-file prompts.txt] [--storyline story.txt] \\
        [--num-clips 4] [--seed 0] [--out-dir outputs] [--formats mp4 gif] [--png-frames] \\
        [--sampler-config configs/ablations/no_dsg.py] \\
        [--cfg-options model.long_video_sampler.guidance_scale=9] [--amp bf16] [--device auto]

One mp4 / gif (and optionally a folder of PNG frames) per prompt. ``--storyline FILE`` makes one
video whose clip i follows line i. ``--sampler-config`` lays a sampler config (a file with
``long_video_sampler = dict(...)``, see configs/ablations/ and configs/long_video/) over
``model.long_video_sampler``: its strategies and parameters, the model's N, M, steps and guidance
unless it names them (vidrd.apis.sampler_overlay); ``--cfg-options`` then edits the merged
config. ``--device auto`` (default): the GPU when there is one. The logic lives in
vidrd.apis.generate.
"""
import argparse

from mmengine.config import DictAction

from vidrd.apis import generate_long_video, load_generation_model, read_prompt_file
from vidrd.apis.run_config import add_sampling_amp_argument, with_sampling_amp
from vidrd.utils.cli import UserError, run_cli
from vidrd.utils.cpu_allocator import tune_cpu_allocator
from vidrd.utils.device import add_device_argument, resolve_device


def parse_args():
    parser = argparse.ArgumentParser(description='Generate long videos from prompts')
    parser.add_argument('config', help='model config, e.g. configs/vidrd_tiny_shapes.py')
    parser.add_argument('checkpoint', nargs='?', help='trained checkpoint (tools/train.py)')
    parser.add_argument('--prompt', action='append', default=[], help='a prompt (repeatable)')
    parser.add_argument('--prompt-file', help='text file, one prompt (= one video) per line')
    parser.add_argument('--storyline', help='text file, one prompt per clip of a single video')
    parser.add_argument('--negative-prompt', help='unconditional prompt (default: the model\'s)')
    parser.add_argument('--num-clips', type=int,
                        help="clips per video (default: the config's model.num_clips)")
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out-dir', default='outputs/generate')
    parser.add_argument('--formats', nargs='+', default=['mp4', 'gif'], choices=['mp4', 'gif'])
    parser.add_argument('--png-frames', action='store_true', help='also write PNG frames')
    parser.add_argument('--fps', type=float, default=8)
    parser.add_argument('--resolution', type=int, nargs=2, metavar=('H', 'W'))
    parser.add_argument('--sampler-config', help='e.g. configs/ablations/vidrd_full.py')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. '
                             'model.long_video_sampler.num_inference_steps=25')
    add_device_argument(parser)
    add_sampling_amp_argument(parser)
    parser.add_argument('--trust-pickle', action='store_true',
                        help='allow a checkpoint that needs full unpickling (trusted files only)')
    return parser.parse_args()


def main():
    args = parse_args()
    prompts = list(args.prompt)
    if args.prompt_file:
        prompts += read_prompt_file(args.prompt_file)
    if args.storyline:
        if prompts:
            raise UserError('--storyline makes one video; do not combine it with --prompt(-file)')
        prompts = read_prompt_file(args.storyline)
    if not prompts:
        raise UserError('no prompts: give --prompt, --prompt-file or --storyline')
    device = resolve_device(args.device)
    model = load_generation_model(args.config, args.checkpoint, args.sampler_config,
                                  with_sampling_amp(args.cfg_options, args.amp),
                                  device=device,
                                  trust_pickle=args.trust_pickle)
    generate_long_video(model, prompts, num_clips=args.num_clips, seed=args.seed,
                        out_dir=args.out_dir, formats=args.formats, png_frames=args.png_frames,
                        storyline=bool(args.storyline), negative_prompt=args.negative_prompt,
                        resolution=args.resolution, fps=args.fps)


if __name__ == '__main__':
    tune_cpu_allocator()  # for tensor work on the CPU (VIDRD_TUNE_ALLOCATOR=0: off)
    run_cli(main)

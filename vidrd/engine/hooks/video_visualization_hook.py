"""Write sample videos (mp4 and gif) during training, validation and testing, and log them to
TensorBoard as videos."""
import io
import os.path as osp
import re
from typing import Optional, Sequence

import numpy as np

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from vidrd.registry import HOOKS


def video_to_frames(video: torch.Tensor) -> torch.Tensor:
    """(3, F, H, W) in [-1, 1] -> (F, H, W, 3) float in [0, 1]."""
    return ((video.float().clamp(-1, 1) + 1) / 2).permute(1, 2, 3, 0).cpu()


def tensorboard_video_summary(tag: str, frames: torch.Tensor, fps: float):
    """A TensorBoard summary holding ``frames`` (F, H, W, 3) in [0, 1] as an animated GIF:
    what ``SummaryWriter.add_video`` writes (TensorBoard shows it under Images, playing), built
    with Pillow instead of the moviepy that ``add_video`` needs."""
    from PIL import Image
    from tensorboard.compat.proto.summary_pb2 import Summary
    uint8 = (frames.numpy() * 255).round().astype(np.uint8)
    images = [Image.fromarray(frame) for frame in uint8]
    buffer = io.BytesIO()
    images[0].save(buffer, format='GIF', save_all=True, append_images=images[1:],
                   duration=int(round(1000 / fps)), loop=0)
    height, width = uint8.shape[1:3]
    image = Summary.Image(height=height, width=width, colorspace=3,
                          encoded_image_string=buffer.getvalue())
    return Summary(value=[Summary.Value(tag=tag, image=image)])


def _tensorboard_writer(runner):
    """The SummaryWriter of the runner's TensorboardVisBackend, or None without one."""
    visualizer = getattr(runner, 'visualizer', None)
    backends = getattr(visualizer, '_vis_backends', {}) if visualizer is not None else {}
    for backend in backends.values():
        if type(backend).__name__ == 'TensorboardVisBackend':
            return backend.experiment
    return None


def _slug(text: str, limit: int = 60) -> str:
    return re.sub(r'[^A-Za-z0-9]+', '_', text).strip('_')[:limit] or 'video'


@HOOKS.register_module()
class VideoVisualizationHook(Hook):
    """Save generated videos as files under ``{work_dir}/{out_dir}``.

    - validation / test: the first ``max_videos`` generated videos of each evaluation (the
      data samples' ``video``; with ``side_by_side`` the real ``gt_video`` is put left of it);
    - training: every ``interval`` iterations (0: never), videos for ``prompts`` generated
      with the current weights.

    With a ``TensorboardVisBackend`` in the config's visualizer, every video is also logged to
    TensorBoard (tag ``{split}/{name}``, the iteration as step), playing under Images.

    Args:
        formats: file types to write, ``('mp4', 'gif')`` by default.
        fps: frame rate of the files.
    """
    priority = 'LOW'

    def __init__(self, interval: int = 0, prompts: Sequence[str] = (), max_videos: int = 8,
                 formats: Sequence[str] = ('mp4', 'gif'), fps: int = 8,
                 out_dir: str = 'videos', side_by_side: bool = False):
        self.interval = interval
        self.prompts = list(prompts)
        self.max_videos = max_videos
        self.formats = tuple(formats)
        self.fps = fps
        self.out_dir = out_dir
        self.side_by_side = side_by_side
        self._written = 0

    def _write(self, runner, folder: str, name: str, video: torch.Tensor,
               real: Optional[torch.Tensor] = None) -> None:
        if not is_main_process():  # the same names on every rank: one writer
            return
        if self.side_by_side and real is not None and real.shape == video.shape:
            video = torch.cat([real.to(video), video], dim=-1)
        frames = video_to_frames(video)
        from vidrd.datasets.video_io import write_video
        for ext in self.formats:
            write_video(osp.join(runner.work_dir, self.out_dir, folder, f'{name}.{ext}'),
                        frames, fps=self.fps)
        writer = _tensorboard_writer(runner)
        if writer is not None:
            split = folder.split('_iter')[0]
            writer._get_file_writer().add_summary(
                tensorboard_video_summary(f'{split}/{name}', frames, self.fps), runner.iter)
            writer.flush()

    def _eval_iter(self, runner, split: str, outputs) -> None:
        for sample in outputs or ():
            if self._written >= self.max_videos or 'video' not in sample:
                return
            name = f'{self._written:03d}_{_slug(sample.caption)}'
            self._write(runner, f'{split}_iter{runner.iter}', name, sample.video,
                        sample.get('gt_video'))
            self._written += 1

    def before_val(self, runner) -> None:
        self._written = 0

    before_test = before_val

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._eval_iter(runner, 'val', outputs)

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._eval_iter(runner, 'test', outputs)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if not (self.interval and self.prompts and self.every_n_train_iters(runner, self.interval)
                and is_main_process()):
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        was_training = model.training
        model.eval()
        videos = model.generate(self.prompts)
        model.train(was_training)
        for k, (prompt, video) in enumerate(zip(self.prompts, videos)):
            self._write(runner, f'train_iter{runner.iter + 1}', f'{k:03d}_{_slug(prompt)}', video)

"""Caption videos or their segments with a vision-language model from a local folder, writing
the caption file ``ActionRecognitionDataset`` reads (``CAPTION_FORMAT``: JSONL ``id,caption``).

The paper describes action-recognition clips with a language model (MiniGPT-4) whose prompt
carries the class label. Here any transformers model that ``AutoModelForImageTextToText`` and
``AutoProcessor`` load from a folder does it (BLIP-2, the LLaVA family, Qwen2-VL, ...): ``K``
key frames, evenly spread over the segment, are tiled into one image (``frame_layout='grid'``),
given as separate images of one prompt (``'separate'``, chat-template models), or given as one
video (``'video'``, models whose processor takes ``videos=``: Qwen2-VL / Qwen2.5-VL,
LLaVA-OneVision, SmolVLM), with where the frames lie in the clip (the source frame rate and the
key frames' indices, from which a processor takes the sampled frame rate or the timestamps it
wants). The prompt template may name the label (``{label}``, from an action-recognition
annotation) and is wrapped in the model's chat template when its processor has one. Greedy
decoding, so a caption depends on its item only.

Items are the rows of a segments file (id ``segment_id``) plus the videos it does not name (id
``video_id``), exactly the ids ``ActionRecognitionDataset`` looks captions up by. Captions are
appended batch by batch; a re-run skips the ids already written (after cutting a partially
written last line), so a killed run loses nothing and duplicates nothing. Shard ``k`` of ``n``
(``--num-shards`` / ``--shard-id``, by default torchrun's ``WORLD_SIZE`` / ``RANK``) captions
every ``n``-th item into its own part file and marks it finished at the end; the last shard to
finish merges the parts into the output, in item order.
"""
import json
import math
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Set

import numpy as np
from PIL import Image
from tqdm import tqdm

from vidrd.datasets.action_recognition_dataset import SEGMENTS_FORMAT, humanize_class_name
from vidrd.datasets.annotations import read_table
from vidrd.datasets.transforms import LoadVideoFrames
from vidrd.utils.logging import get_logger
from .appendable_files import (append_lines, drop_partial_last_line, read_jsonl_records,
                               write_text_atomic)
from .video_files import list_videos, video_id_of
from vidrd.utils.errors import DataError, InvalidValueError

MODEL_DIR_HINT = (
    'Put a transformers vision-language model there: config.json, its weights (*.safetensors) '
    'and its processor files (preprocessor_config.json, tokenizer files, chat template), e.g. '
    'the folder written by `hf download Salesforce/blip2-opt-2.7b --local-dir DIR` (or '
    'llava-hf/llava-1.5-7b-hf) on a machine with internet, or by model.save_pretrained(DIR) and '
    'processor.save_pretrained(DIR). Nothing is downloaded.')
DEFAULT_PROMPT = 'Describe this video in one sentence.'
#: how the key frames reach the model (``--frame-layout``)
FRAME_LAYOUTS = ('grid', 'separate', 'video')
DEFAULT_LABEL_PROMPT = 'This is a video of a person {label}. Describe it in one sentence.'


@dataclass
class CaptionItem:
    """One thing to caption: a segment of a video, or a whole video (``start`` = ``end`` = None).

    Attributes:
        id (str): the caption's id (``segment_id`` or ``video_id``).
        video_id (str): the video's id.
        path (str): the video file.
        start (float, optional): seconds. Defaults to None.
        end (float, optional): seconds. Defaults to None.
        label (str, optional): the class name in words. Defaults to None.
    """
    id: str
    video_id: str
    path: str
    start: Optional[float] = None
    end: Optional[float] = None
    label: Optional[str] = None


def read_labels(path: str) -> Dict[str, str]:
    """The class name of each video, from an action-recognition annotation.

    Args:
        path (str): a CSV / JSONL with ``path,label`` and optionally ``video_id`` (the id
            defaults to the path without extension).

    Returns:
        Dict[str, str]: video id -> class name in words (:func:`humanize_class_name`).

    Raises:
        DataError: a row lacks its label or id.
    """
    labels = {}
    for row_no, row in enumerate(read_table(path, 'label annotation file',
                                            'a CSV / JSONL with columns path,label[,video_id]'),
                                 1):
        if 'label' not in row or not (row.get('video_id') or row.get('path')):
            raise DataError(f'{path}: row {row_no} needs a "label" and a "video_id" or "path" '
                            f'(row: {row})')
        video_id = str(row.get('video_id') or video_id_of(str(row['path'])))
        labels[video_id] = humanize_class_name(str(row['label']))
    return labels


def caption_items(video_dir: str, segments_file: Optional[str] = None,
                  labels_file: Optional[str] = None) -> List[CaptionItem]:
    """The items of a folder: each segment of ``segments_file``, and each video it does not name
    whole.

    Args:
        video_dir (str): the folder of videos (see :func:`list_videos`).
        segments_file (str, optional): a segments file (``SEGMENTS_FORMAT``). Defaults to None
            (whole videos).
        labels_file (str, optional): an action-recognition annotation whose labels are
            attached (:func:`read_labels`). Defaults to None.

    Returns:
        List[CaptionItem]: segments in file order, then the other videos, by id.

    Raises:
        DataError: a malformed segments row, or ids that repeat.
    """
    videos = dict(list_videos(video_dir))
    labels = read_labels(labels_file) if labels_file else {}
    items, segmented = [], set()
    if segments_file:
        counts: Dict[str, int] = {}
        unknown = set()
        for row_no, row in enumerate(read_table(segments_file, 'segments file',
                                                SEGMENTS_FORMAT), 1):
            try:
                video_id, start, end = str(row['video_id']), float(row['start']), float(row['end'])
            except (KeyError, TypeError, ValueError):
                raise DataError(f'{segments_file}: row {row_no} needs video_id, start and end '
                                f'in seconds ({row})') from None
            number = counts.get(video_id, 0)
            counts[video_id] = number + 1
            if video_id not in videos:
                unknown.add(video_id)
                continue
            segmented.add(video_id)
            # the same default id as ActionRecognitionDataset
            segment_id = str(row.get('segment_id') or f'{video_id}_{number:03d}')
            items.append(CaptionItem(segment_id, video_id, videos[video_id], start, end,
                                     labels.get(video_id)))
        if unknown:
            get_logger().warning(f'{segments_file}: {len(unknown)} video id(s) have no video in '
                                 f'{video_dir}, e.g. {sorted(unknown)[:3]}; skipped')
    for video_id, path in videos.items():
        if video_id not in segmented:
            items.append(CaptionItem(video_id, video_id, path, label=labels.get(video_id)))
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        raise DataError(f'{segments_file or video_dir}: caption ids repeat (a segment_id equals '
                        'another segment or video id); make segment ids unique')
    return items


@dataclass
class KeyFrameVideo:
    """Key frames given to a model as one video, with where they lie in their clip.

    Attributes:
        frames: uint8 (K, H, W, 3).
        fps: the source video's frame rate.
        clip_frames: frames of the clip (segment or whole video) the key frames come from.
        indices: the key frames' indices within the clip (their timestamps are
            ``indices / fps`` seconds from the clip's start).
    """
    frames: np.ndarray
    fps: float
    clip_frames: int
    indices: List[int]

    @property
    def sampled_fps(self) -> float:
        """The key frames' rate: K frames over the clip's duration."""
        return len(self.indices) * self.fps / max(self.clip_frames, 1)

    @property
    def timestamps(self) -> List[float]:
        """Seconds from the clip's start of each key frame."""
        return [index / self.fps for index in self.indices]


def sample_key_frames(item: CaptionItem, num_frames: int) -> KeyFrameVideo:
    """Key frames of an item: ``num_frames`` frames at the centres of K equal parts of it.

    The item's frames are counted as ``LoadVideoFrames`` counts them
    (:meth:`~vidrd.datasets.transforms.LoadVideoFrames.read_range`).

    Args:
        item (CaptionItem): the segment or video.
        num_frames (int): K.

    Returns:
        KeyFrameVideo: the frames and their timing.

    Raises:
        OSError: the video is missing or cannot be decoded.
    """
    def centres(available: int, source_fps: float) -> np.ndarray:
        return ((np.arange(num_frames) + 0.5) * available / num_frames).astype(int)

    picked = LoadVideoFrames.read_range(item.path, item.start, item.end, centres)
    return KeyFrameVideo(picked.frames, picked.source_fps, picked.num_available,
                         picked.indices.tolist())


def key_frames(item: CaptionItem, num_frames: int) -> np.ndarray:
    """The frames of :func:`sample_key_frames`, without their timing.

    Args:
        item (CaptionItem): the segment or video.
        num_frames (int): K.

    Returns:
        np.ndarray: uint8 (K, H, W, 3).
    """
    return sample_key_frames(item, num_frames).frames


def tile_frames(frames: np.ndarray):
    """The frames in a near-square grid, row by row (black where none).

    Args:
        frames (np.ndarray): uint8 (K, H, W, 3).

    Returns:
        PIL.Image.Image: ``ceil(K / cols)`` rows of ``cols = ceil(sqrt(K))`` frames.
    """
    count, height, width = frames.shape[:3]
    cols = math.ceil(math.sqrt(count))
    rows = math.ceil(count / cols)
    grid = np.zeros((rows * height, cols * width, 3), np.uint8)
    for k, frame in enumerate(frames):
        r, c = divmod(k, cols)
        grid[r * height:(r + 1) * height, c * width:(c + 1) * width] = frame
    return Image.fromarray(grid)


class VisionLanguageCaptioner:
    """A transformers vision-language model and its processor, loaded from a local folder.

    Args:
        model_dir (str): folder with ``config.json``, weights and processor files (see
            ``MODEL_DIR_HINT``).
        device (str, optional): ``'cuda'``, ``'cuda:1'``, ``'cpu'``. Defaults to None (the GPU
            when there is one).
        dtype (str, optional): ``'float16'``, ``'bfloat16'``, ``'float32'``. Defaults to None
            (float16 on a GPU, else float32).
        max_new_tokens (int): caption length limit in tokens. Defaults to 40.

    Raises:
        FileNotFoundError: ``model_dir`` is not a transformers model folder.
    """

    def __init__(self, model_dir: str, device: Optional[str] = None, dtype: Optional[str] = None,
                 max_new_tokens: int = 40):
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor
        if not model_dir or not osp.isdir(model_dir):
            raise FileNotFoundError(f'vision-language model folder not found: {model_dir!r}. '
                                    f'{MODEL_DIR_HINT}')
        if not osp.isfile(osp.join(model_dir, 'config.json')):
            raise FileNotFoundError(f'{model_dir!r} has no config.json, so it is not a '
                                    f'transformers model folder. {MODEL_DIR_HINT}')
        device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
        dtype = dtype or ('float16' if device.startswith('cuda') else 'float32')
        self.device = torch.device(device)
        self.processor = AutoProcessor.from_pretrained(model_dir, local_files_only=True)
        self.model = AutoModelForImageTextToText.from_pretrained(
            model_dir, local_files_only=True, dtype=getattr(torch, dtype)).to(self.device).eval()
        self.tokenizer = getattr(self.processor, 'tokenizer', None)
        if self.tokenizer is not None:
            self.tokenizer.padding_side = 'left'  # generation continues after the prompt
        self.dtype = getattr(torch, dtype)
        self.max_new_tokens = max_new_tokens
        get_logger().info(f'captioning with {type(self.model).__name__} from {model_dir} on '
                          f'{self.device} ({dtype})')

    @property
    def takes_several_images(self) -> bool:
        """Whether a prompt may hold several images (a chat template places them)."""
        return bool(getattr(self.processor, 'chat_template', None))

    @property
    def takes_videos(self) -> bool:
        """Whether the processor takes ``videos=`` (it has a video processor) and a chat
        template places the video in the prompt (Qwen2-VL, LLaVA-OneVision, SmolVLM)."""
        return (getattr(self.processor, 'video_processor', None) is not None
                and self.takes_several_images)

    def model_prompt(self, text: str, num_images: int = 1, video: bool = False) -> str:
        """The text the processor gets.

        Args:
            text (str): the prompt.
            num_images (int): images in the prompt. Defaults to 1.
            video (bool): the prompt holds one video instead. Defaults to False.

        Returns:
            str: the chat template around the images (or video) and ``text`` when the
            processor has a template (LLaVA family, Qwen2-VL), else ``text`` itself (BLIP-2,
            one image).

        Raises:
            InvalidValueError: the model takes no videos, or only one image.
        """
        if video:
            if not self.takes_videos:
                raise InvalidValueError(
                    f'{type(self.model).__name__} takes no videos (its processor '
                    'has no video processor or no chat template): use the frame '
                    'layout "grid" or "separate"')
            content = [dict(type='video'), dict(type='text', text=text)]
            messages = [dict(role='user', content=content)]
            return self.processor.apply_chat_template(messages, add_generation_prompt=True)
        if self.takes_several_images:
            content = [dict(type='image')] * num_images + [dict(type='text', text=text)]
            messages = [dict(role='user', content=content)]
            return self.processor.apply_chat_template(messages, add_generation_prompt=True)
        if num_images != 1:
            raise InvalidValueError(f'{type(self.model).__name__} takes one image per prompt (its '
                                    'processor has no chat template): tile the key frames into one '
                                    '(frame layout "grid")')
        return text

    @staticmethod
    def video_kwargs(videos: Sequence[KeyFrameVideo]) -> dict:
        """What the processor is told about the videos' timing. transformers' processors read
        ``video_metadata`` (the source frame rate and the key frames' indices) and take from it
        what they want: the sampled frame rate (Qwen2.5-VL's seconds per temporal patch) or the
        frames' timestamps (SmolVLM); the frames are sampled already (``do_sample_frames``
        off). Versions without ``VideoMetadata`` take the sampled frame rate as ``fps``.

        Args:
            videos (Sequence[KeyFrameVideo]): the batch's videos.

        Returns:
            dict: keyword arguments of the processor call.
        """
        try:
            from transformers.video_utils import VideoMetadata
        except ImportError:  # transformers before video metadata
            return dict(fps=[v.sampled_fps for v in videos])
        metadata = [VideoMetadata(total_num_frames=v.clip_frames, fps=v.fps,
                                  frames_indices=list(v.indices),
                                  height=int(v.frames.shape[1]), width=int(v.frames.shape[2]),
                                  duration=v.clip_frames / v.fps) for v in videos]
        return dict(video_metadata=metadata, do_sample_frames=False)

    def inputs(self, images: Sequence, texts: Sequence[str]):
        """Processor outputs of a batch, on the device.

        Args:
            images (Sequence): per item one PIL image, a list of them (several images in one
                prompt) or a :class:`KeyFrameVideo` (one video); one kind for the batch.
            texts (Sequence[str]): per item its prompt.

        Returns:
            dict: tensors by name; pixels in the model's dtype.
        """
        if images and all(isinstance(i, KeyFrameVideo) for i in images):
            batch = self.processor(videos=[v.frames for v in images],
                                   text=[self.model_prompt(t, video=True) for t in texts],
                                   return_tensors='pt', padding=True,
                                   **self.video_kwargs(images))
        elif any(isinstance(i, KeyFrameVideo) for i in images):
            raise ValueError('a batch holds videos and images: give one kind')
        else:
            counts = [len(i) if isinstance(i, (list, tuple)) else 1 for i in images]
            flat = [image for i in images
                    for image in (i if isinstance(i, (list, tuple)) else [i])]
            batch = self.processor(images=flat,
                                   text=[self.model_prompt(t, n) for t, n in zip(texts, counts)],
                                   return_tensors='pt', padding=True)
        # pixels in the model's dtype; other floats (e.g. Qwen2.5-VL's seconds per temporal
        # patch) keep their precision
        return {k: (v.to(self.device, self.dtype) if k.startswith('pixel_values') and
                    v.is_floating_point() else v.to(self.device))
                for k, v in batch.items() if hasattr(v, 'to')}

    def generate(self, images: Sequence, texts: Sequence[str]) -> List[str]:
        """One caption per item, greedy.

        Args:
            images (Sequence): as :meth:`inputs`.
            texts (Sequence[str]): per item its prompt.

        Returns:
            List[str]: the captions, whitespace collapsed.
        """
        import torch
        inputs = self.inputs(images, texts)
        with torch.inference_mode():
            output = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens,
                                         do_sample=False, num_beams=1)
        prompt = inputs['input_ids']
        # decoder-only language models (OPT, Llama) return the prompt first; T5-based ones do not
        if output.shape[1] >= prompt.shape[1] and torch.equal(output[:, :prompt.shape[1]],
                                                              prompt):
            output = output[:, prompt.shape[1]:]
        texts = self.processor.batch_decode(output, skip_special_tokens=True)
        return [' '.join(text.split()) for text in texts]


@dataclass
class CaptionReport:
    """Totals of a run of :func:`caption_videos` (this shard).

    Attributes:
        num_items (int): items of this shard.
        skipped_done (int): items captioned by an earlier run.
        captioned (int): items captioned by this run.
        unreadable (Dict[str, str]): item id -> why its video could not be read.
        part_file (str): the file this shard appended to.
        merged (bool): whether this shard merged the parts into the output.
    """
    num_items: int = 0
    skipped_done: int = 0
    captioned: int = 0
    unreadable: Dict[str, str] = field(default_factory=dict)
    part_file: str = ''
    merged: bool = False

    def summary(self) -> str:
        """The totals in a line, then up to 20 unreadable items, one a line."""
        lines = [f'{self.num_items} items in this shard: {self.skipped_done} already captioned, '
                 f'{self.captioned} captioned, {len(self.unreadable)} unreadable '
                 f'(-> {self.part_file}{", merged" if self.merged else ""})']
        lines += [f'  unreadable {item_id}: {reason}'
                  for item_id, reason in list(self.unreadable.items())[:20]]
        return '\n'.join(lines)


def shard_from_env(num_shards: Optional[int], shard_id: Optional[int]):
    """This process's share of the items.

    Args:
        num_shards (int, optional): ``None`` takes torchrun's ``WORLD_SIZE`` (else 1).
        shard_id (int, optional): ``None`` takes torchrun's ``RANK`` (else 0).

    Returns:
        Tuple[int, int]: ``(num_shards, shard_id)``.

    Raises:
        InvalidValueError: ``shard_id`` is not in ``0 .. num_shards - 1``.
    """
    num_shards = num_shards if num_shards is not None else int(os.environ.get('WORLD_SIZE', 1))
    shard_id = shard_id if shard_id is not None else int(os.environ.get('RANK', 0))
    if num_shards < 1 or not 0 <= shard_id < num_shards:
        raise InvalidValueError(f'shard id {shard_id} is not in 0..{num_shards - 1} (num_shards '
                                f'{num_shards})')
    return num_shards, shard_id


def part_path(out: str, shard_id: int, num_shards: int) -> str:
    """The file a shard appends to.

    Args:
        out (str): the caption file.
        shard_id (int): the shard.
        num_shards (int): the number of shards.

    Returns:
        str: ``out`` itself with one shard, else ``<stem>.part<k>-of-<n><ext>``.
    """
    if num_shards == 1:
        return out
    stem, ext = osp.splitext(out)
    return f'{stem}.part{shard_id:03d}-of-{num_shards:03d}{ext or ".jsonl"}'


def _done_ids(path: str) -> set:
    if drop_partial_last_line(path):
        get_logger().warning(f'{path}: dropped a partially written last line (a killed run); '
                             'its item is captioned again')
    return {str(record['id']) for record in read_jsonl_records(path)}


def finished_marker(part: str) -> str:
    """The file a shard writes when it has been through all its items.

    Args:
        part (str): the shard's part file (:func:`part_path`).

    Returns:
        str: ``part + '.finished'``.
    """
    return part + '.finished'


def merge_parts(items: Sequence[CaptionItem], out: str, num_shards: int) -> bool:
    """Once every shard has finished, write ``out`` from the part files in item order.

    Items without a caption (unreadable videos) are left out.

    Args:
        items (Sequence[CaptionItem]): every item, in order.
        out (str): the caption file.
        num_shards (int): the number of shards.

    Returns:
        bool: whether ``out`` was written (False while a shard has not finished).
    """
    parts = [part_path(out, shard_id, num_shards) for shard_id in range(num_shards)]
    if not all(osp.isfile(finished_marker(part)) for part in parts):
        return False
    captions = {}
    for part in parts:
        captions.update({str(r['id']): r['caption'] for r in read_jsonl_records(part)})
    lines = [json.dumps(dict(id=item.id, caption=captions[item.id]), ensure_ascii=False)
             for item in items if item.id in captions]
    write_text_atomic(out, ''.join(line + '\n' for line in lines))
    return True


@dataclass
class CaptionPlan:
    """What a run of :func:`caption_videos` does, decided before any video is read:
    :func:`plan_captions` makes it, :func:`run_caption_plan` carries it out.

    Attributes:
        items (List[CaptionItem]): every item, in order (the order of the merged output).
        shard_items (List[CaptionItem]): this shard's items (every ``num_shards``-th).
        out (str): the caption file.
        part_file (str): the file this shard appends to (``out`` itself with one shard).
        prompt (str): the model's prompt template.
        caption_template (str): the template of the caption written.
        num_frames (int): key frames per item.
        frame_layout (str): one of ``FRAME_LAYOUTS``.
        batch_size (int): items per ``generate`` call.
        num_shards (int): processes sharing the items.
        shard_id (int): this process's share.
        done (Set[str]): ids already in ``part_file`` (a resumed run skips them).
    """
    items: List[CaptionItem]
    shard_items: List[CaptionItem]
    out: str
    part_file: str
    prompt: str
    caption_template: str
    num_frames: int
    frame_layout: str
    batch_size: int
    num_shards: int
    shard_id: int
    done: Set[str] = field(default_factory=set)

    def batches(self) -> Iterator[List[CaptionItem]]:
        """The items still to caption, batch by batch.

        Batches are fixed slices of the shard's items, less the items done, so a resumed run
        batches the remaining items as an uninterrupted one would.

        Yields:
            List[CaptionItem]: one batch (possibly empty).
        """
        for begin in range(0, len(self.shard_items), self.batch_size):
            yield [item for item in self.shard_items[begin:begin + self.batch_size]
                   if item.id not in self.done]


def plan_captions(items: Sequence[CaptionItem], out: str, num_frames: int = 4,
                  prompt: Optional[str] = None, caption_template: str = '{description}',
                  batch_size: int = 8, num_shards: Optional[int] = None,
                  shard_id: Optional[int] = None, frame_layout: str = 'grid',
                  captioner=None) -> CaptionPlan:
    """Validate the settings, choose the prompt, take this shard's items and find those done.

    Reads the part file of an earlier run (dropping a partially written last line); reads no
    video and loads no model. Arguments as :func:`caption_videos`.

    Args:
        items (Sequence[CaptionItem]): what to caption (see :func:`caption_items`).
        out (str): the caption file (JSONL ``id,caption``).
        num_frames (int): key frames per item. Defaults to 4.
        prompt (str, optional): the model's prompt template. Defaults to None
            (``DEFAULT_LABEL_PROMPT`` when every item has a label, else ``DEFAULT_PROMPT``).
        caption_template (str): the caption written. Defaults to ``'{description}'``.
        batch_size (int): items per ``generate`` call. Defaults to 8.
        num_shards (int, optional): processes sharing the items. Defaults to None
            (torchrun's ``WORLD_SIZE``, else 1).
        shard_id (int, optional): this process's share. Defaults to None (torchrun's
            ``RANK``, else 0).
        frame_layout (str): one of ``FRAME_LAYOUTS``. Defaults to ``'grid'``.
        captioner (optional): the captioner, to check that it takes ``frame_layout``
            (``takes_several_images`` / ``takes_videos``). Defaults to None (not checked).

    Returns:
        CaptionPlan: the plan.

    Raises:
        InvalidValueError: a setting out of its range, a frame layout the model does not take,
            or a ``{label}`` template with unlabelled items.
    """
    if frame_layout not in FRAME_LAYOUTS:
        raise InvalidValueError(f'frame_layout must be one of {", ".join(FRAME_LAYOUTS)}, got '
                                f'{frame_layout!r}', parameter='frame_layout')
    if frame_layout == 'separate' and not getattr(captioner, 'takes_several_images', True):
        raise InvalidValueError('this model takes one image per prompt (no chat template): use the '
                                '"grid" frame layout')
    if frame_layout == 'video' and not getattr(captioner, 'takes_videos', True):
        raise InvalidValueError('this model\'s processor takes no videos (no video processor, e.g. '
                                'BLIP-2 or LLaVA-1.5): use the frame layout "grid" or "separate"; '
                                '"video" is for Qwen2-VL / Qwen2.5-VL, LLaVA-OneVision, SmolVLM')
    if num_frames < 1 or batch_size < 1:
        raise InvalidValueError(f'num_frames and batch_size must be >= 1, got {num_frames}, '
                                f'{batch_size}', parameter=('num_frames', 'batch_size'))
    if prompt is None:
        prompt = DEFAULT_LABEL_PROMPT if items and all(i.label for i in items) else \
            DEFAULT_PROMPT
    needs_label = '{label}' in prompt or '{label}' in caption_template
    missing = [item.video_id for item in items if needs_label and not item.label]
    if missing:
        raise InvalidValueError(
            f'the prompt / caption template uses {{label}} but {len(missing)} '
            f'video(s) have no label, e.g. {missing[:3]}; pass labels: an annotation with '
            'path,label[,video_id]', parameter='labels')
    num_shards, shard_id = shard_from_env(num_shards, shard_id)
    items = list(items)
    path = part_path(out, shard_id, num_shards)
    return CaptionPlan(items=items, shard_items=items[shard_id::num_shards], out=out,
                       part_file=path, prompt=prompt, caption_template=caption_template,
                       num_frames=num_frames, frame_layout=frame_layout, batch_size=batch_size,
                       num_shards=num_shards, shard_id=shard_id, done=_done_ids(path))


def model_images(video: KeyFrameVideo, frame_layout: str):
    """The key frames as the model gets them.

    Args:
        video (KeyFrameVideo): the key frames of one item.
        frame_layout (str): ``'grid'``, ``'separate'`` or ``'video'``.

    Returns:
        PIL.Image.Image | List[PIL.Image.Image] | KeyFrameVideo: one tiled image (``'grid'``),
        one image per frame (``'separate'``) or ``video`` itself (``'video'``).
    """
    if frame_layout == 'grid':
        return tile_frames(video.frames)
    if frame_layout == 'separate':
        return [Image.fromarray(frame) for frame in video.frames]
    return video


def run_caption_plan(plan: CaptionPlan, captioner, progress: bool = True) -> CaptionReport:
    """Caption the items of ``plan``: decode key frames, generate, append, merge the shards.

    Unreadable videos are logged and reported, not captioned. With several shards, this one
    marks its part finished at the end and, when every shard has, merges the parts into
    ``plan.out`` (:func:`merge_parts`).

    Args:
        plan (CaptionPlan): what :func:`plan_captions` returned.
        captioner: a :class:`VisionLanguageCaptioner` (anything with
            ``generate(images, texts)``).
        progress (bool): show a progress bar. Defaults to True.

    Returns:
        CaptionReport: this shard's totals.
    """
    path = plan.part_file
    if osp.isfile(finished_marker(path)):  # running again: not finished until the end
        os.remove(finished_marker(path))
    report = CaptionReport(num_items=len(plan.shard_items), part_file=path)
    report.skipped_done = sum(item.id in plan.done for item in plan.shard_items)
    logger = get_logger()
    bar = tqdm(total=len(plan.shard_items), initial=report.skipped_done, desc='captioning',
               unit='clip', disable=not progress)
    for batch in plan.batches():
        images, kept = [], []
        for item in batch:
            try:
                images.append(model_images(sample_key_frames(item, plan.num_frames),
                                           plan.frame_layout))
                kept.append(item)
            except OSError as error:
                report.unreadable[item.id] = str(error)
                logger.warning(f'skipping unreadable video {item.path} ({item.id}): {error}')
        if kept:
            fields = [dict(label=item.label or '', video_id=item.video_id) for item in kept]
            descriptions = captioner.generate(images, [plan.prompt.format(**f) for f in fields])
            append_lines(path, [
                json.dumps(dict(id=item.id, caption=plan.caption_template.format(
                    description=text, **f)), ensure_ascii=False)
                for item, text, f in zip(kept, descriptions, fields)])
            report.captioned += len(kept)
        bar.update(len(batch))
    bar.close()
    if plan.num_shards > 1:
        write_text_atomic(finished_marker(path), json.dumps(dict(unreadable=report.unreadable)))
        report.merged = merge_parts(plan.items, plan.out, plan.num_shards)
    return report


def caption_videos(items: Sequence[CaptionItem], captioner, out: str, num_frames: int = 4,
                   prompt: Optional[str] = None, caption_template: str = '{description}',
                   batch_size: int = 8, num_shards: Optional[int] = None,
                   shard_id: Optional[int] = None, frame_layout: str = 'grid',
                   progress: bool = True) -> CaptionReport:
    """Caption ``items`` (see :func:`caption_items`) into ``out`` (JSONL ``id,caption``).

    :func:`plan_captions`, then :func:`run_caption_plan`.

    Args:
        items (Sequence[CaptionItem]): what to caption.
        captioner: a :class:`VisionLanguageCaptioner` (anything with
            ``generate(images, texts)``).
        out (str): the caption file.
        num_frames (int): key frames per item. Defaults to 4.
        prompt (str, optional): template of the model's prompt; ``{label}`` (class name in
            words) and ``{video_id}`` are filled in. Defaults to None: ``DEFAULT_LABEL_PROMPT``
            when every item has a label, else ``DEFAULT_PROMPT``.
        caption_template (str): the caption written, from ``{description}`` (the model's text)
            and ``{label}``, e.g. ``'{label}: {description}'``. Defaults to
            ``'{description}'``.
        batch_size (int): items per ``generate`` call. Batches are fixed slices of the shard's
            items, so a resumed run batches the remaining items as an uninterrupted one would.
            Defaults to 8.
        num_shards (int, optional): processes sharing the items. Defaults to None (torchrun's
            ``WORLD_SIZE``, else 1).
        shard_id (int, optional): this process's share. Defaults to None (torchrun's
            ``RANK``, else 0).
        frame_layout (str): ``'grid'`` tiles the key frames into one image (any model);
            ``'separate'`` gives the model all of them in one prompt (chat-template models
            such as LLaVA); ``'video'`` gives them as one video with their timing (models whose
            processor takes ``videos=``: Qwen2-VL / Qwen2.5-VL, LLaVA-OneVision, SmolVLM).
            Defaults to ``'grid'``.
        progress (bool): show a progress bar. Defaults to True.

    Returns:
        CaptionReport: this shard's totals.

    Raises:
        InvalidValueError: see :func:`plan_captions`.
    """
    plan = plan_captions(items, out, num_frames=num_frames, prompt=prompt,
                         caption_template=caption_template, batch_size=batch_size,
                         num_shards=num_shards, shard_id=shard_id, frame_layout=frame_layout,
                         captioner=captioner)
    return run_caption_plan(plan, captioner, progress=progress)

"""In-domain feature network of the embedded demo: a small 3D-conv classifier of MovingShapes.

I3D and C3D know nothing about coloured shapes on black; an FVD / IS in their feature spaces
would say little about the tiny demo model. This classifier is trained on the generated
``MovingShapesDataset`` (all colour x shape x direction combinations) with three heads, colour,
shape and direction; its penultimate activations (``feature_dim``) are the FVD features, and
the joint class distribution p(colour) p(shape) p(direction) (the product of the three softmax
heads, ``num_classes = C * S * D``) is what IS scores.

Train (a few minutes on two CPU cores)::

    python -m vidrd.evaluation.train_shapes_classifier \
        --out work_dirs/evaluation/shapes_classifier.safetensors

and name the file: ``extractor=dict(type='ShapesClassifier', weights=<file>)``. The weights file
is safetensors; its metadata records the class names and the architecture.
"""
import json
import os
import time
from typing import Dict, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vidrd.registry import FEATURE_EXTRACTORS
from vidrd.utils.checkpoint import load_into, load_state_dict, require_path, save_state_dict_atomic
from vidrd.utils.logging import get_logger

from .base import VideoFeatureExtractor, as_unit_range
from vidrd.utils.errors import InvalidValueError

SHAPES_WEIGHTS_HINT = ('Train it on the generated dataset (no download): python -m '
                       'vidrd.evaluation.train_shapes_classifier --out <file>.safetensors')
DEFAULT_COLORS = ('red', 'green', 'blue', 'yellow')
DEFAULT_SHAPES = ('circle', 'square', 'triangle')
DEFAULT_DIRECTIONS = ('left', 'right', 'up', 'down')


class ShapesNet(nn.Module):
    """``(B, 3, F, S, S)`` in ``[-1, 1]`` (plus motion channels) -> features ``(B, feature_dim)``
    and three logit heads."""

    def __init__(self, num_colors: int, num_shapes: int, num_directions: int,
                 width: int = 16, feature_dim: int = 128) -> None:
        super().__init__()

        def block(cin, cout, stride):
            # strided convolutions instead of pooling: Conv3d backward is slow on the CPU, and
            # at a quarter of the positions the network trains ~4x faster
            return nn.Sequential(nn.Conv3d(cin, cout, 3, stride=(1, stride, stride), padding=1),
                                 nn.GroupNorm(4, cout), nn.SiLU())

        self.blocks = nn.ModuleList([block(8, width, 2), block(width, 2 * width, 2),
                                     block(2 * width, 4 * width, 1)])
        self.project = nn.Linear(8 * width, feature_dim)
        self.color_head = nn.Linear(feature_dim, num_colors)
        self.shape_head = nn.Linear(feature_dim, num_shapes)
        self.direction_head = nn.Linear(feature_dim, num_directions)

    @staticmethod
    def motion_channels(x: torch.Tensor) -> torch.Tensor:
        """Frame differences (3 channels) and their channel mean times the x and y coordinates
        (2 channels), ``(B, 5, F, H, W)``.

        A moving shape leaves changes of opposite sign on its leading and trailing edges; weighted
        by position, their average is proportional to the displacement, so the global pooling
        that follows reads the direction of motion from these two channels directly.
        """
        difference = F.pad(x[:, :, 1:] - x[:, :, :-1], (0, 0, 0, 0, 0, 1))
        signed = difference.mean(dim=1, keepdim=True)
        height, width = x.shape[-2:]
        ys = torch.linspace(-1, 1, height, device=x.device).view(1, 1, 1, height, 1)
        xs = torch.linspace(-1, 1, width, device=x.device).view(1, 1, 1, 1, width)
        return torch.cat([difference, 4 * signed * xs, 4 * signed * ys], dim=1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.cat([x, self.motion_channels(x)], dim=1)
        x = self.blocks[1](self.blocks[0](x))
        # pool time only when there is time to pool: a single frame stays valid
        x = F.max_pool3d(x, (2, 1, 1)) if x.shape[2] > 1 else x
        x = self.blocks[2](x)
        # mean and max over positions: the max keeps local evidence of the outline (corners,
        # apex) that averaging over the mostly empty frame would dilute
        x = torch.cat([x.mean(dim=(2, 3, 4)), x.amax(dim=(2, 3, 4))], dim=1)
        return F.silu(self.project(x))

    def heads(self, features: torch.Tensor):
        return self.color_head(features), self.shape_head(features), self.direction_head(features)


@FEATURE_EXTRACTORS.register_module(name='ShapesClassifier')
class ShapesClassifier(VideoFeatureExtractor):
    """The demo's feature network (see module docstring).

    Args:
        weights: safetensors file written by :func:`train_shapes_classifier`.
        allow_random_weights: only with ``weights=None``: random weights (tests, training).
        colors, shapes, directions: class names (only for random weights; a weights file
            records its own).
        resolution: frames are resized to this square size (the dataset's 32).
        train_if_missing: ``dict(dataset=<MovingShapesDataset config>, iterations=300)``: when
            the ``weights`` file does not exist, train the classifier on that data as the demo
            does (:func:`train_demo_classifier`) and write it there, so a config can carry its
            evaluator (``configs/vidrd_tiny_shapes.py``).
    """
    name = 'shapes_classifier'

    def __init__(self, weights: Optional[str] = None, allow_random_weights: bool = False,
                 colors: Sequence[str] = DEFAULT_COLORS, shapes: Sequence[str] = DEFAULT_SHAPES,
                 directions: Sequence[str] = DEFAULT_DIRECTIONS, width: int = 16,
                 feature_dim: int = 128, resolution: int = 32,
                 train_if_missing: Optional[dict] = None) -> None:
        super().__init__()
        state_dict = None
        if weights is not None and train_if_missing is not None and not os.path.exists(weights):
            get_logger().info(f'ShapesClassifier: {weights!r} does not exist; training it as the '
                              'demo does (a few minutes on the CPU)')
            train_demo_classifier(train_if_missing['dataset'], weights,
                                  train_if_missing.get('iterations', 300))
        if weights is None:
            if not allow_random_weights:
                raise FileNotFoundError(f'ShapesClassifier: no weights file given. {SHAPES_WEIGHTS_HINT} '
                                        '(random weights only with allow_random_weights=True)')
        else:
            require_path(weights, 'ShapesClassifier weights', SHAPES_WEIGHTS_HINT)
            meta = read_metadata(weights)
            colors, shapes, directions = meta['colors'], meta['shapes'], meta['directions']
            width, feature_dim, resolution = meta['width'], meta['feature_dim'], meta['resolution']
            state_dict = load_state_dict(weights, hint=SHAPES_WEIGHTS_HINT)
        self.colors, self.shapes, self.directions = list(colors), list(shapes), list(directions)
        self.width, self.resolution = width, resolution
        self.feature_dim = feature_dim
        self.num_classes = len(self.colors) * len(self.shapes) * len(self.directions)
        self.network = ShapesNet(len(self.colors), len(self.shapes), len(self.directions),
                                 width, feature_dim)
        self.random_weights = state_dict is None
        self.weights_file = weights
        if state_dict is not None:
            load_into(self.network, state_dict, source=weights)
        self.freeze()

    def describe_preprocessing(self) -> str:
        return (f'{len(self.colors)}x{len(self.shapes)}x{len(self.directions)} classes, '
                f'{self.resolution}px, all frames, [-1, 1]')

    def metadata(self) -> Dict[str, str]:
        return dict(colors=json.dumps(self.colors), shapes=json.dumps(self.shapes),
                    directions=json.dumps(self.directions), width=str(self.width),
                    feature_dim=str(self.feature_dim), resolution=str(self.resolution))

    def preprocess(self, videos: torch.Tensor) -> torch.Tensor:
        """``(B, 3, F, H, W)`` in ``[0, 1]`` -> ``(B, 3, F, S, S)`` in ``[-1, 1]``."""
        videos = as_unit_range(videos.to(self.device))
        if videos.shape[-2:] != (self.resolution, self.resolution):
            batch, _, frames = videos.shape[:3]
            flat = videos.transpose(1, 2).reshape(batch * frames, 3, *videos.shape[-2:])
            flat = F.interpolate(flat, size=(self.resolution, self.resolution), mode='bilinear',
                                 align_corners=False, antialias=True)
            videos = flat.view(batch, frames, 3, self.resolution, self.resolution).transpose(1, 2)
        return videos * 2 - 1

    def logits(self, videos: torch.Tensor):
        """Colour, shape and direction logits of ``(B, 3, F, H, W)`` videos in ``[0, 1]``."""
        return self.network.heads(self.network.features(self.preprocess(videos)))

    @torch.no_grad()
    def extract_features(self, videos: torch.Tensor) -> torch.Tensor:
        """Penultimate activations ``(B, feature_dim)``."""
        return self.network.features(self.preprocess(videos))

    @torch.no_grad()
    def class_probabilities(self, videos: torch.Tensor) -> torch.Tensor:
        """Joint ``p(colour) p(shape) p(direction)`` flattened to ``(B, C * S * D)``."""
        color, shape, direction = (h.softmax(-1) for h in self.logits(videos))
        joint = color[:, :, None, None] * shape[:, None, :, None] * direction[:, None, None, :]
        return joint.flatten(1)

    @torch.no_grad()
    def predict_attributes(self, videos: torch.Tensor):
        """Most likely (colour, shape, direction) names per video."""
        color, shape, direction = (h.argmax(-1).tolist() for h in self.logits(videos))
        return [(self.colors[c], self.shapes[s], self.directions[d])
                for c, s, d in zip(color, shape, direction)]


def read_metadata(path: str) -> dict:
    from safetensors import safe_open
    if not path.endswith('.safetensors'):
        raise InvalidValueError(
            f'ShapesClassifier weights must be a .safetensors file, got {path!r}')
    with safe_open(path, framework='pt') as f:
        meta = f.metadata() or {}
    try:
        return dict(colors=json.loads(meta['colors']), shapes=json.loads(meta['shapes']),
                    directions=json.loads(meta['directions']), width=int(meta['width']),
                    feature_dim=int(meta['feature_dim']), resolution=int(meta['resolution']))
    except KeyError as err:
        raise KeyError(f'{path!r} lacks ShapesClassifier metadata {err}; was it written by '
                       'train_shapes_classifier?') from None


def _labelled_clips(dataset, indices, classifier: ShapesClassifier):
    """``(N, 3, F, H, W)`` float videos in ``[0, 1]`` and the three label vectors."""
    videos, labels = [], []
    for idx in indices:
        frames = dataset.render(idx)  # uint8 (F, H, W, 3)
        attrs = dataset.attributes(idx)
        videos.append(torch.from_numpy(frames).permute(3, 0, 1, 2))
        labels.append((classifier.colors.index(attrs['color']),
                       classifier.shapes.index(attrs['shape']),
                       classifier.directions.index(attrs['direction'])))
    labels = torch.tensor(labels)
    return torch.stack(videos).float() / 255, labels[:, 0], labels[:, 1], labels[:, 2]


def evaluate_accuracy(classifier: ShapesClassifier, dataset, batch_size: int = 64) -> Dict[str, float]:
    """Per-head and all-three-correct accuracy of ``classifier`` on ``dataset``."""
    correct = np.zeros(4)
    for start in range(0, len(dataset), batch_size):
        videos, *labels = _labelled_clips(dataset, range(start, min(start + batch_size, len(dataset))),
                                          classifier)
        with torch.no_grad():
            hits = [lg.argmax(-1) == lb for lg, lb in zip(classifier.logits(videos), labels)]
        correct += [h.sum().item() for h in hits] + [(hits[0] & hits[1] & hits[2]).sum().item()]
    return dict(zip(('color', 'shape', 'direction', 'all'), (correct / len(dataset)).tolist()))


def train_shapes_classifier(dataset, out: Optional[str] = None, val_dataset=None,
                            iterations: int = 300, batch_size: int = 32, lr: float = 3e-3,
                            seed: int = 0, width: int = 16, feature_dim: int = 128,
                            log_interval: int = 50) -> ShapesClassifier:
    """Train the classifier on a ``MovingShapesDataset`` (``render`` / ``attributes`` API).

    Cross-entropy on the three heads, AdamW, cosine decay; the frames are augmented with
    brightness jitter and Gaussian noise so that imperfect generated videos still land on
    meaningful features. Writes safetensors to ``out`` (with metadata) when given, logs the
    accuracy on ``val_dataset`` and returns the classifier (eval mode).
    """
    torch.manual_seed(seed)
    meta = getattr(dataset, 'metainfo', {})
    classifier = ShapesClassifier(
        weights=None, allow_random_weights=True,
        colors=meta.get('colors', DEFAULT_COLORS), shapes=meta.get('shapes', DEFAULT_SHAPES),
        directions=meta.get('directions', DEFAULT_DIRECTIONS), width=width,
        feature_dim=feature_dim, resolution=dataset.size[0])
    network = classifier.network
    for param in network.parameters():
        param.requires_grad_(True)
    optimizer = torch.optim.AdamW(network.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, iterations)
    generator = np.random.default_rng(seed)
    logger, start = get_logger(), time.time()
    network.train()
    for step in range(1, iterations + 1):
        indices = generator.integers(0, len(dataset), batch_size).tolist()
        videos, *labels = _labelled_clips(dataset, indices, classifier)
        videos = videos * torch.empty(len(videos), 1, 1, 1, 1).uniform_(0.8, 1.2)
        videos = (videos + 0.05 * torch.randn_like(videos)).clamp(0, 1)
        x = videos * 2 - 1
        logits = network.heads(network.features(x))
        loss = sum(F.cross_entropy(lg, lb) for lg, lb in zip(logits, labels))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % log_interval == 0 or step == iterations:
            logger.info(f'shapes classifier: iter {step}/{iterations} loss {loss.item():.4f} '
                        f'({time.time() - start:.0f} s)')
    classifier.random_weights = False
    classifier.freeze()
    if val_dataset is not None:
        accuracy = evaluate_accuracy(classifier, val_dataset)
        classifier.accuracy = accuracy
        logger.info('shapes classifier accuracy: ' +
                    ', '.join(f'{k} {v:.3f}' for k, v in accuracy.items()))
    if out is not None:
        save_state_dict_atomic(network.state_dict(), out, metadata=classifier.metadata())
        classifier.weights_file = out
        logger.info(f'shapes classifier saved to {out}')
    return classifier


def train_demo_classifier(dataset_cfg: dict, out: str, iterations: int = 300):
    """The demo's recipe: train on 2,048 clips of every combination (seed 5) of the
    ``MovingShapesDataset`` config ``dataset_cfg``, score on 256 held-out clips (seed 6), write
    ``out``. Returns ``(classifier, accuracy on the held-out clips)``."""
    from vidrd.registry import DATASETS
    data_cfg = dict(dataset_cfg, pipeline=[])
    train_set = DATASETS.build(dict(data_cfg, split='all', num_samples=2048, seed=5))
    heldout = DATASETS.build(dict(data_cfg, split='heldout', num_samples=256, seed=6))
    classifier = train_shapes_classifier(train_set, out=out, iterations=iterations,
                                         val_dataset=heldout)
    return classifier, evaluate_accuracy(classifier, heldout)

"""pytorch-fid's InceptionV3 (2048-d pool features) for frame FID, weights from a local file.

pytorch-fid builds its FID Inception (the TF 2015-12-05 graph, with its patched blocks) in
``pytorch_fid.inception.fid_inception_v3``, which downloads the weights. We build the same
network through pytorch-fid's own classes while that builder is swapped for one that reads the
named local file through :mod:`vidrd.utils.checkpoint`; nothing is ever downloaded.
"""
from contextlib import contextmanager
from typing import Optional
from unittest import mock

import torch

from vidrd.registry import FEATURE_EXTRACTORS
from vidrd.utils.checkpoint import load_into, load_state_dict

from .base import VideoFeatureExtractor, as_unit_range, resolve_weights

INCEPTION_WEIGHTS_HINT = (
    'Frame FID uses pytorch-fid\'s pt_inception-2015-12-05-6726825d.pth (https://github.com/'
    'mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth); '
    'download it yourself and name the local file (extractor=dict(type="InceptionV3", weights=...)).')


def _require_pytorch_fid():
    try:
        from pytorch_fid import inception
    except ImportError as err:  # an optional dependency (extras 'eval')
        raise ImportError('frame FID needs pytorch-fid: pip install "vidrd[eval]" '
                          '(pytorch-fid==0.3.0)') from err
    return inception


@contextmanager
def _local_fid_inception(path: Optional[str], trust_pickle: bool):
    """While active, pytorch-fid's FID Inception builder loads ``path`` (or nothing) instead of a URL."""
    inception = _require_pytorch_fid()

    def build_from_local_file():
        network = inception._inception_v3(num_classes=1008, aux_logits=False, weights=None)
        network.Mixed_5b = inception.FIDInceptionA(192, pool_features=32)
        network.Mixed_5c = inception.FIDInceptionA(256, pool_features=64)
        network.Mixed_5d = inception.FIDInceptionA(288, pool_features=64)
        network.Mixed_6b = inception.FIDInceptionC(768, channels_7x7=128)
        network.Mixed_6c = inception.FIDInceptionC(768, channels_7x7=160)
        network.Mixed_6d = inception.FIDInceptionC(768, channels_7x7=160)
        network.Mixed_6e = inception.FIDInceptionC(768, channels_7x7=192)
        network.Mixed_7b = inception.FIDInceptionE_1(1280)
        network.Mixed_7c = inception.FIDInceptionE_2(2048)
        if path is not None:
            state_dict = load_state_dict(path, trust_pickle=trust_pickle, hint=INCEPTION_WEIGHTS_HINT)
            load_into(network, state_dict, source=path)
        return network

    with mock.patch.object(inception, 'fid_inception_v3', build_from_local_file), \
            mock.patch.object(inception, 'load_state_dict_from_url', _no_download):
        yield inception


def _no_download(url, *args, **kwargs):
    raise RuntimeError(f'vidrd never downloads weights (asked for {url}). {INCEPTION_WEIGHTS_HINT}')


@FEATURE_EXTRACTORS.register_module(name='InceptionV3')
class InceptionV3FrameExtractor(VideoFeatureExtractor):
    """Per-frame InceptionV3 pool3 features ``(B, F, 2048)`` for frame FID.

    Preprocessing is pytorch-fid's: each frame bilinearly resized to 299x299, ``[0, 1]`` ->
    ``[-1, 1]``.

    Args:
        weights: ``pt_inception-2015-12-05-6726825d.pth``.
        frame_stride: use every ``frame_stride``-th frame (fewer features per video).
        allow_random_weights: only with ``weights=None``: random weights (tests).
        batch_frames: frames per forward pass (memory).
    """
    name = 'inception_v3_fid'
    frame_level = True
    feature_dim = 2048

    def __init__(self, weights: Optional[str] = None, allow_random_weights: bool = False,
                 frame_stride: int = 1, batch_frames: int = 64, trust_pickle: bool = False) -> None:
        super().__init__()
        self.frame_stride, self.batch_frames = frame_stride, batch_frames
        path = resolve_weights(weights, allow_random_weights, 'InceptionV3 (FID)',
                               INCEPTION_WEIGHTS_HINT)
        self.random_weights = path is None
        with _local_fid_inception(path, trust_pickle) as inception:
            self.network = inception.InceptionV3(
                output_blocks=(inception.InceptionV3.BLOCK_INDEX_BY_DIM[2048],),
                resize_input=True, normalize_input=True, use_fid_inception=True)
        if self.random_weights:
            # PyTorch's default init shrinks activations to ~1e-8 over 90 layers; He init keeps
            # random features varied enough for tests and timing
            for module in self.network.modules():
                if isinstance(module, torch.nn.Conv2d):
                    torch.nn.init.kaiming_normal_(module.weight, nonlinearity='relu')
        self.freeze()

    def describe_preprocessing(self) -> str:
        return f'every {self.frame_stride}. frame, 299px, [-1, 1], pool3'

    @torch.no_grad()
    def extract_features(self, videos: torch.Tensor) -> torch.Tensor:
        """``(B, 3, F, H, W)`` in ``[0, 1]`` -> ``(B, F', 2048)``, ``F' = ceil(F / frame_stride)``."""
        videos = as_unit_range(videos.to(self.device))[:, :, ::self.frame_stride]
        batch, _, frames = videos.shape[:3]
        flat = videos.transpose(1, 2).reshape(batch * frames, 3, *videos.shape[-2:])
        features = [self.network(chunk)[0].flatten(1) for chunk in flat.split(self.batch_frames)]
        return torch.cat(features).view(batch, frames, -1)

import numpy as np
import pytest
import torch
from mmengine.dataset import default_collate, pseudo_collate

from vidrd.datasets import VideoDataSample
from vidrd.datasets.transforms import NormalizeVideo, PackVideoInputs


def _results():
    frames = np.zeros((4, 6, 8, 3), np.uint8)
    frames[:, :, :, 0] = 255  # red: channel 0 must become inputs[0]
    return dict(frames=frames, caption='a red wall', fps=8.0, video_path='x.mp4', class_label=3,
                unrelated='dropped')


def test_pack_shapes_fields_and_meta():
    packed = PackVideoInputs()(NormalizeVideo()(_results()))
    inputs, sample = packed['inputs'], packed['data_samples']
    assert inputs.shape == (3, 4, 6, 8) and inputs.dtype == torch.float32
    assert torch.all(inputs[0] == 1) and torch.all(inputs[1:] == -1)
    assert isinstance(sample, VideoDataSample)
    assert sample.caption == 'a red wall' and sample.class_label == 3
    assert sample.fps == 8.0 and sample.video_path == 'x.mp4'
    assert 'unrelated' not in sample.metainfo and 'gt_video' not in sample


def test_pack_requires_normalised_frames_and_caption():
    with pytest.raises(TypeError, match='NormalizeVideo'):
        PackVideoInputs()(_results())
    results = NormalizeVideo()(_results())
    del results['caption']
    with pytest.raises(KeyError, match='caption'):
        PackVideoInputs()(results)


def test_gt_video_and_collate():
    packed = PackVideoInputs(with_gt_video=True)(NormalizeVideo()(_results()))
    assert packed['data_samples'].gt_video is packed['inputs']
    batch = default_collate([packed, packed])
    assert batch['inputs'].shape == (2, 3, 4, 6, 8)
    assert [s.caption for s in batch['data_samples']] == ['a red wall'] * 2
    loose = pseudo_collate([packed, packed])
    assert isinstance(loose['inputs'], list) and len(loose['data_samples']) == 2

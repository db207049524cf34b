import pytest
import torch

from vidrd.datasets import VideoDataSample


def test_fields_and_types():
    sample = VideoDataSample(metainfo=dict(fps=8, video_path='a.mp4'))
    sample.caption = 'a red circle moving left'
    sample.video = torch.zeros(3, 4, 8, 8)
    sample.gt_video = torch.zeros(3, 4, 8, 8)
    sample.class_label = torch.tensor(7)
    assert sample.class_label == 7 and isinstance(sample.class_label, int)
    assert sample.fps == 8 and 'video' in sample and 'caption' in sample
    with pytest.raises(AssertionError):
        sample.caption = 3
    with pytest.raises(ValueError, match=r'\(3, F, H, W\)'):
        sample.video = torch.zeros(3, 8, 8)
    del sample.video
    assert 'video' not in sample

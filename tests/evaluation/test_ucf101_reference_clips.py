"""The UCF-101 zero-shot protocol's real side: configs/_base_/evaluation/ucf101_zero_shot.py's
``reference_dataloader`` gives deterministic clips (centre crop, fixed start) of the evaluator's
frame count and the generated clips' size, and tools/compute_reference_stats.py reads it by
default. Configs are built and the pipeline run on one small written video: no UCF-101 needed."""
import inspect
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.dataset import Compose

from vidrd.evaluation.reference_stats import compute_reference_stats
from vidrd.registry import FEATURE_EXTRACTORS, TRANSFORMS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: the configs that evaluate with the protocol at its 16 frames of 256 x 256
CONFIGS = ['vidrd_sd21_ucf.py', 'vidrd_released.py', 'modelscope_t2v.py']


def _default(type_name, key):
    cls = FEATURE_EXTRACTORS.get(type_name)
    return inspect.signature(cls).parameters[key].default


def _fvd_frames(cfg):
    (fvd,) = [m for m in cfg.test_evaluator if m['type'] == 'FrechetVideoDistance']
    extractor = fvd['extractor']
    return extractor.get('num_frames', _default(extractor['type'], 'num_frames'))


@pytest.mark.parametrize('name', CONFIGS)
def test_reference_clips_follow_the_protocol(name):
    cfg = Config.fromfile(osp.join(REPO, 'configs', name))
    dataset = cfg.reference_dataloader.dataset
    assert dataset.type == 'UCF101Dataset' and (dataset.subset, dataset.split) == ('train', 1)
    steps = {t['type']: t for t in dataset.pipeline}
    load, crop = steps['LoadVideoFrames'], steps['CenterCrop']
    assert load['clip_start'] in ('begin', 'center')  # fixed, not 'random'
    assert not [t for t in steps if t.startswith('Random') or 'Flip' in t]
    # the FVD network's frame count, the generated clips' length and size
    assert load['num_frames'] == _fvd_frames(cfg) == cfg.model.num_frames == 16
    assert tuple(crop['size']) == tuple(cfg.model.resolution) == (256, 256)
    assert steps['Resize']['scale'] == 256
    # the prompts' class distribution is the same split's
    assert cfg.test_dataloader.dataset.split_file.endswith('trainlist01.txt')


@pytest.fixture(scope='module')
def video(tmp_path_factory):
    """40 frames of 72 x 96 whose pixel values say their frame index."""
    from vidrd.datasets.video_io import write_video
    frames = np.zeros((40, 72, 96, 3), dtype=np.uint8)
    frames += (np.arange(40, dtype=np.uint8) * 6)[:, None, None, None]
    path = str(tmp_path_factory.mktemp('ucf') / 'v_Archery_g01_c01.avi')
    write_video(path, frames, fps=25)
    return path


def test_reference_pipeline_is_deterministic_centre_cropped_from_the_first_frame(video):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'vidrd_sd21_ucf.py'))
    pipeline = Compose([TRANSFORMS.build(t) for t in cfg.reference_dataloader.dataset.pipeline])
    outputs = []
    for seed in (0, 1, 2):  # whatever the random state, the same clip
        np.random.seed(seed)
        outputs.append(pipeline(dict(video_path=video, caption='a person shooting arrows')))
    for out in outputs[1:]:
        assert np.array_equal(out['inputs'].numpy(), outputs[0]['inputs'].numpy())
    meta = outputs[0]['data_samples'].metainfo
    clip = outputs[0]['inputs']
    assert clip.shape == (3, 16, 256, 256)
    assert list(meta['frame_inds']) == list(range(0, 32, 2))  # from the first frame, stride 2
    levels = (clip.mean(dim=(0, 2, 3)) * 127.5 + 127.5).numpy()  # frame k shows 6 k
    assert np.abs(levels - 6 * np.arange(0, 32, 2)).max() < 4
    # 72 x 96 -> shorter side 256: 256 x 341, its centre square
    left = (341 - 256) // 2
    assert tuple(meta['crop_box']) == (left, 0, left + 256, 256)


def test_compute_reference_stats_reads_the_reference_dataloader_by_default(tmp_path):
    extractor = dict(type='ShapesClassifier', weights=None, allow_random_weights=True)
    cfg = Config(dict(
        train_dataloader=dict(dataset=dict(type='NoSuchTrainingDataset')),
        reference_dataloader=dict(dataset=dict(type='NoSuchReferenceDataset'))))
    with pytest.raises(KeyError, match='NoSuchReferenceDataset'):
        compute_reference_stats(cfg, out=str(tmp_path / 's.npz'), extractor=extractor)
    with pytest.raises(KeyError, match='NoSuchTrainingDataset'):
        compute_reference_stats(cfg, out=str(tmp_path / 's.npz'), extractor=extractor,
                                dataloader='train_dataloader')

"""UCF-101 zero-shot protocol: prompt classes follow the training distribution, by seed."""
import json

import numpy as np
import pytest

from vidrd.evaluation.ucf101_protocol import (UCF101PromptDataset, class_counts_from_split_file,
                                              sample_prompt_classes)
from vidrd.registry import DATASETS


def test_counts_follow_the_distribution_and_sum_exactly():
    counts = np.array([121, 114, 80, 100, 37, 3])
    labels = sample_prompt_classes(counts, num_prompts=1000, seed=0)
    assert labels.shape == (1000,)
    per_class = np.bincount(labels, minlength=len(counts))
    assert per_class.sum() == 1000
    assert np.all(np.abs(per_class - counts / counts.sum() * 1000) < 1)


def test_deterministic_by_seed_and_unshuffled_without_seed():
    counts = [5, 3, 2]
    assert np.array_equal(sample_prompt_classes(counts, 10, seed=1), sample_prompt_classes(counts, 10, seed=1))
    assert not np.array_equal(sample_prompt_classes(counts, 10, seed=1), sample_prompt_classes(counts, 10, seed=2))
    assert sample_prompt_classes(counts, 10, seed=None).tolist() == [0] * 5 + [1] * 3 + [2] * 2


def test_bad_counts():
    with pytest.raises(ValueError, match='non-negative'):
        sample_prompt_classes([0, 0], 10)


@pytest.fixture
def split_files(tmp_path):
    train = tmp_path / 'trainlist01.txt'
    lines = [f'Archery/v_Archery_g{i:02d}_c01.avi 3' for i in range(6)]
    lines += [f'ApplyEyeMakeup/v_ApplyEyeMakeup_g{i:02d}_c01.avi 1' for i in range(3)]
    lines += ['ApplyLipstick/v_ApplyLipstick_g01_c01.avi 2']
    train.write_text('\n'.join(lines) + '\n')
    index = tmp_path / 'classInd.txt'
    index.write_text('1 ApplyEyeMakeup\n2 ApplyLipstick\n3 Archery\n')
    prompts = tmp_path / 'prompts.json'
    prompts.write_text(json.dumps({'ApplyEyeMakeup': 'eye makeup', 'ApplyLipstick': ['lipstick a', 'lipstick b'],
                                   'archery': 'an archer'}))
    return str(train), str(index), str(prompts)


def test_dataset_from_split_files(split_files):
    train, index, prompts = split_files
    assert class_counts_from_split_file(train) == {'ApplyEyeMakeup': 3, 'ApplyLipstick': 1, 'Archery': 6}
    dataset = DATASETS.build(dict(type='UCF101PromptDataset', num_prompts=20, split_file=train,
                                  class_index_file=index, prompts_file=prompts, seed=3))
    assert len(dataset) == 20
    assert dataset.metainfo['classes'] == ('ApplyEyeMakeup', 'ApplyLipstick', 'Archery')
    assert dataset.class_histogram() == {'ApplyEyeMakeup': 6, 'ApplyLipstick': 2, 'Archery': 12}
    item = dataset[0]
    sample = item['data_samples']
    assert set(item) == {'data_samples'}  # prompt-only: no inputs
    assert sample.metainfo['sample_idx'] == 0
    assert sample.caption in {'eye makeup', 'lipstick a', 'lipstick b', 'an archer'}
    assert dataset.classes[sample.class_label] == sample.metainfo['class_name']
    lipstick = [dataset.get_data_info(i)['caption'] for i in range(20)
                if dataset.get_data_info(i)['class_name'] == 'ApplyLipstick']
    assert lipstick == ['lipstick a', 'lipstick b']  # a class's prompts in turn


def test_shipped_prompts_cover_ucf101(split_files):
    counts = {name: 1 for name in ('ApplyEyeMakeup', 'YoYo', 'Basketball')}
    dataset = UCF101PromptDataset(num_prompts=9, class_counts=counts)
    assert all(caption for caption in dataset.captions)


def test_missing_inputs_are_explained(split_files):
    with pytest.raises(ValueError, match='trainlist01'):
        UCF101PromptDataset()
    train, _, prompts = split_files
    with pytest.raises(ValueError, match='no prompt'):
        UCF101PromptDataset(class_counts={'Juggling': 3}, prompts_file=prompts)

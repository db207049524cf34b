import numpy as np
import pytest

from vidrd.datasets.transforms import RandomHorizontalFlip, mirror_caption


def test_mirror_caption_swaps_direction_words_keeping_case():
    assert mirror_caption('a red circle moving left') == 'a red circle moving right'
    assert mirror_caption('Left to RIGHT, leftward, rightmost, left-hand') == \
        'Right to LEFT, rightward, leftmost, right-hand'
    assert mirror_caption('spinning clockwise then counter-clockwise') == \
        'spinning counterclockwise then clockwise'
    assert mirror_caption('leftover copyright bright') == 'leftover copyright bright'


def test_flip_mirrors_frames_caption_and_direction():
    frames = np.arange(2 * 2 * 3 * 3, dtype=np.uint8).reshape(2, 2, 3, 3)
    results = RandomHorizontalFlip(prob=1.0)(
        dict(frames=frames, caption='a ball rolling left', direction='left'))
    assert results['flip'] is True
    np.testing.assert_array_equal(results['frames'], frames[:, :, ::-1])
    assert results['caption'] == 'a ball rolling right' and results['direction'] == 'right'


def test_skip_mode_never_flips_directional_captions():
    frames = np.zeros((1, 2, 2, 3), np.uint8)
    transform = RandomHorizontalFlip(prob=1.0, direction_words='skip')
    assert transform(dict(frames=frames, caption='turning left'))['flip'] is False
    assert transform(dict(frames=frames, caption='a cat'))['flip'] is True
    ignored = RandomHorizontalFlip(prob=1.0, direction_words='ignore')(
        dict(frames=frames, caption='turning left'))
    assert ignored['flip'] and ignored['caption'] == 'turning left'


def test_prob_zero_and_bad_mode():
    frames = np.zeros((1, 2, 2, 3), np.uint8)
    assert RandomHorizontalFlip(prob=0.0)(dict(frames=frames, caption='left'))['caption'] == 'left'
    with pytest.raises(ValueError):
        RandomHorizontalFlip(direction_words='maybe')

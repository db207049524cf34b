import numpy as np
import pytest

from vidrd.datasets.transforms import ImageToPseudoVideo
from vidrd.datasets.transforms.image_to_pseudo_video import EASINGS, zoom_pan_boxes


def _image(height=60, width=90):
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // (width - 1), y * 255 // (height - 1), 0 * x], -1).astype(np.uint8)


@pytest.mark.parametrize('easing', sorted(EASINGS))
def test_boxes_smooth_inside_and_right_aspect(easing):
    rng = np.random.RandomState(0)
    transform = ImageToPseudoVideo(num_frames=16, size=(12, 16), zoom_range=(1.0, 1.6),
                                   pan_range=0.3, easing=easing)
    height, width = 60, 90
    max_second_diff = {'linear': 1e-9, 'ease_in': 2.0, 'ease_out': 2.0, 'ease_in_out': 6.0}[easing]
    for _ in range(50):
        boxes = transform.sample_boxes(height, width, rng)
        assert boxes.shape == (16, 4)
        assert np.all(boxes[:, 0] >= 0) and np.all(boxes[:, 1] >= 0)
        assert np.all(boxes[:, 2] <= width + 1e-6) and np.all(boxes[:, 3] <= height + 1e-6)
        box_w, box_h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        np.testing.assert_allclose(box_w / box_h, 16 / 12, rtol=1e-6)
        # Second differences bounded by max|e''| * travel / (F - 1)^2: no jumps or kinks.
        bound = max_second_diff * max(width, height) / 15 ** 2 + 1e-6
        assert np.abs(np.diff(boxes, n=2, axis=0)).max() <= bound


def test_extreme_pan_is_clamped_inside():
    boxes = zoom_pan_boxes(50, 50, 8, 1.0, zoom_start=1.0, zoom_end=2.0, center_start=(1.0, 0.0),
                           shift=(1000.0, -1000.0), easing='linear')
    assert boxes.min() >= 0 and boxes.max() <= 50
    np.testing.assert_allclose(boxes[0], [0, 0, 50, 50])
    np.testing.assert_allclose(boxes[-1], [25, 0, 50, 25])


def test_frames_follow_the_boxes():
    np.random.seed(3)
    image = _image()
    results = ImageToPseudoVideo(num_frames=8, size=16, zoom_range=(1.0, 1.0), pan_range=(0.3, 0.0),
                                 easing='linear', fps=6)(dict(img=image))
    frames, boxes = results['frames'], results['zoom_pan_boxes']
    assert frames.shape == (8, 16, 16, 3) and frames.dtype == np.uint8 and results['fps'] == 6
    # Red encodes x: the mean red of a frame tracks the box centre.
    centre_x = (boxes[:, 0] + boxes[:, 2]) / 2
    expected = centre_x / 89 * 255
    np.testing.assert_allclose(frames[..., 0].mean(axis=(1, 2)), expected, atol=4)


def test_rejects_zoom_below_one():
    with pytest.raises(ValueError, match='zoom_range'):
        ImageToPseudoVideo(zoom_range=(0.8, 1.2))

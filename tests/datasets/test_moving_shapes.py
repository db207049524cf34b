import numpy as np
import pytest
import torch

from vidrd.datasets import MovingShapesDataset
from vidrd.datasets.moving_shapes import DEFAULT_HELDOUT
from vidrd.registry import DATASETS

PIPELINE = [dict(type='NormalizeVideo'), dict(type='PackVideoInputs')]


def test_packed_output_and_captions():
    dataset = DATASETS.build(dict(type='MovingShapesDataset', num_samples=16, num_frames=8,
                                  size=32, pipeline=PIPELINE))
    data = dataset[3]
    assert data['inputs'].shape == (3, 8, 32, 32)
    assert data['inputs'].min() == -1.0 and data['inputs'].max() <= 1.0
    sample = data['data_samples']
    gt = dataset.attributes(3)
    assert sample.caption == f"a {gt['color']} {gt['shape']} moving {gt['direction']}"
    assert (sample.color, sample.shape, sample.direction) == (gt['color'], gt['shape'],
                                                              gt['direction'])


def test_deterministic_by_seed():
    a = MovingShapesDataset(num_samples=8, seed=5, pipeline=PIPELINE)
    b = MovingShapesDataset(num_samples=8, seed=5, pipeline=PIPELINE)
    c = MovingShapesDataset(num_samples=8, seed=6, pipeline=PIPELINE)
    for idx in range(8):
        assert torch.equal(a[idx]['inputs'], b[idx]['inputs'])
    assert any(not torch.equal(a[i]['inputs'], c[i]['inputs']) for i in range(8))
    np.testing.assert_array_equal(a.render(2), a.render(2))


def test_heldout_split_is_disjoint_and_covers_attributes():
    train = MovingShapesDataset(num_samples=80)
    heldout = MovingShapesDataset(num_samples=16, split='heldout')
    assert len(train.combinations) == 4 * 3 * 4 - 8
    assert set(heldout.combinations) == set(DEFAULT_HELDOUT)
    assert not set(train.prompts()) & set(heldout.prompts())
    assert heldout.prompts() == train.heldout_prompts()
    for position in range(3):  # every colour, shape and direction is still seen in training
        assert {c[position] for c in train.combinations} == \
            {c[position] for c in train.all_combinations}
    seen = {train.get_data_info(i)['caption'] for i in range(len(train))}
    assert seen == set(train.prompts())  # balanced: every training combination appears
    assert heldout.parse_caption('a red triangle moving up') == dict(
        color='red', shape='triangle', direction='up')


def test_shape_stays_inside_and_moves_the_named_way():
    dataset = MovingShapesDataset(num_samples=24, num_frames=6, size=(24, 40))
    steps = dict(left=(-1, 0), right=(1, 0), up=(0, -1), down=(0, 1))
    for idx in range(len(dataset)):
        frames = dataset.render(idx)
        assert frames.shape == (6, 24, 40, 3)
        info = dataset.get_data_info(idx)
        centers, half = dataset.centers(info), info['extent'] / 2
        # The whole shape is inside the frame in every frame.
        assert np.all(centers[:, 0] - half >= 0) and np.all(centers[:, 0] + half <= 40)
        assert np.all(centers[:, 1] - half >= 0) and np.all(centers[:, 1] + half <= 24)
        assert all(frame.any(axis=-1).sum() > 10 for frame in frames)
        # Centroids move the named way.
        ys, xs = zip(*[np.nonzero(frame.any(axis=-1)) for frame in frames[[0, -1]]])
        move = (xs[1].mean() - xs[0].mean(), ys[1].mean() - ys[0].mean())
        ux, uy = steps[info['direction']]
        assert ux * move[0] + uy * move[1] >= 0.3 * min(24, 40) * 0.8


def test_configurable_palette_background_and_random_heldout():
    dataset = MovingShapesDataset(num_samples=4, size=16, colors=dict(teal=(0, 128, 128)),
                                  shapes=['square'], directions=['up', 'down'],
                                  background=(20, 20, 20), heldout=1, seed=3)
    assert len(dataset.heldout_combinations) == 1 and len(dataset.combinations) == 1
    frames = dataset.render(0)
    assert tuple(frames[0, 0, 0]) == (20, 20, 20)
    assert (frames == np.array([0, 128, 128], np.uint8)).all(-1).any()


def test_center_start_fixes_the_layout_by_caption():
    dataset = MovingShapesDataset(num_samples=48, size=24, extent_range=(0.33, 0.33),
                                  travel_range=(0.33, 0.33), start='center', pipeline=PIPELINE)
    for idx in range(48):
        info = dataset.get_data_info(idx)
        centers = dataset.centers(info)
        np.testing.assert_allclose(centers[0], (12.0, 12.0))
        ux, uy = (np.sign(centers[-1] - centers[0])).astype(int)
        assert {(-1, 0): 'left', (1, 0): 'right', (0, -1): 'up', (0, 1): 'down'}[(ux, uy)] == \
            info['direction']
        half = info['extent'] / 2
        assert np.all(centers - half >= 0) and np.all(centers + half <= 24)  # inside the frame
    # two clips of one combination differ in nothing
    a, b = dataset.render(0), dataset.render(len(dataset.combinations))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match='start="center"'):
        MovingShapesDataset(start='center', extent_range=(0.3, 0.3), travel_range=(0.4, 0.4))
    with pytest.raises(ValueError, match='start must be'):
        MovingShapesDataset(start='corner')


def test_bad_configuration_errors():
    with pytest.raises(ValueError, match='unknown colour'):
        MovingShapesDataset(colors=['chartreuse'])
    with pytest.raises(ValueError, match='never leaves the frame'):
        MovingShapesDataset(extent_range=(0.5, 0.6), travel_range=(0.5, 0.6))
    with pytest.raises(ValueError, match='no combinations'):
        MovingShapesDataset(colors=['red'], shapes=['circle'], directions=['up'],
                            heldout=[('red', 'circle', 'up')])


def test_warns_when_a_flip_would_leak_heldout_combinations(monkeypatch):
    from vidrd.datasets import moving_shapes
    warnings = []
    monkeypatch.setattr(moving_shapes, 'get_logger', lambda: type(
        'Logger', (), dict(warning=staticmethod(warnings.append)))())
    MovingShapesDataset(num_samples=4, pipeline=[dict(type='RandomHorizontalFlip')])
    assert len(warnings) == 1 and 'held-out' in warnings[0]
    MovingShapesDataset(num_samples=4, pipeline=[dict(type='RandomHorizontalFlip', prob=0.0)])
    assert len(warnings) == 1


def window_dataset(**kwargs):
    options = dict(num_samples=400, num_frames=8, size=24, extent_range=(0.33, 0.33),
                   travel_range=(0.375, 0.375), start='window', wrap=True, seed=4)
    return MovingShapesDataset(**dict(options, **kwargs))


def test_window_clips_start_anywhere_on_the_torus():
    dataset = window_dataset(window_weights=None)
    starts = np.array([dataset.get_data_info(i)['start_center'] for i in range(len(dataset))])
    horizontal = np.array([dataset.get_data_info(i)['direction'] in ('left', 'right')
                           for i in range(len(dataset))])
    # on the centre line across the motion, anywhere along it
    assert np.all(starts[horizontal, 1] == 12.0) and np.all(starts[~horizontal, 0] == 12.0)
    assert np.histogram(starts[horizontal, 0], bins=4, range=(0, 24))[0].min() > 30
    # a shape crossing an edge shows the same number of pixels, split across the two edges
    crossing = [i for i in range(len(dataset)) if dataset.get_data_info(i)['direction'] == 'left'
                and dataset.centers(dataset.get_data_info(i))[-1][0] < 4]
    frames = dataset.render(crossing[0])
    counts = frames.any(axis=-1).sum(axis=(1, 2))
    assert counts.max() - counts.min() <= 8 and frames[-1, :, -1].any()
    # on the latent grid: offsets are whole multiples of the step
    grid = window_dataset(window_weights=None, offset_step=3)
    along = np.array([grid.get_data_info(i)['start_center'] for i in range(len(grid))])
    assert set(np.unique(along)) == set(range(0, 24, 3))  # every grid position, only those


def test_window_weights_pick_consecutive_clips_and_lanes_separate_directions():
    dataset = window_dataset(window_weights=(2, 1, 0), lane=0.25)
    lanes = dict(left=(None, 6.0), right=(None, 18.0), up=(18.0, None), down=(6.0, None))
    offsets = []
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        (x, y), (lane_x, lane_y) = info['start_center'], lanes[info['direction']]
        assert (lane_x is None or x == lane_x) and (lane_y is None or y == lane_y)
        along = x if lane_x is None else y
        sign = 1 if info['direction'] in ('right', 'down') else -1
        offsets.append(round(((along - 12.0) * sign) % 24 / info['travel']))
    counts = np.bincount(offsets, minlength=3)
    assert counts[2] == 0 and 1.6 < counts[0] / counts[1] < 2.5  # the weights 2 : 1 : 0
    # the last frame of window k is where window k + 1 starts
    info = dataset.get_data_info(0)
    centres = dataset.centers(info)
    assert np.linalg.norm(centres[-1] - centres[0]) == pytest.approx(info['travel'])


def test_window_configuration_errors():
    with pytest.raises(ValueError, match='wrap=True'):
        MovingShapesDataset(start='window')
    with pytest.raises(ValueError, match=r'\(0, 0.5\]'):
        MovingShapesDataset(wrap=True, extent_range=(0.6, 0.6))
    with pytest.raises(ValueError, match='window_weights'):
        MovingShapesDataset(start='window', wrap=True, window_weights=(0, 0))
    with pytest.raises(ValueError, match='offset_step'):
        MovingShapesDataset(start='window', wrap=True, offset_step=-1)
    # with wrap a clip may travel farther than the frame allows without it, from anywhere
    far = MovingShapesDataset(num_samples=8, wrap=True, extent_range=(0.4, 0.4),
                              travel_range=(0.8, 0.8))
    assert all(far.render(i).any(axis=-1).sum() > 0 for i in range(8))

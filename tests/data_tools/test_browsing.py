"""browse_dataset: a GIF / MP4 grid of pipeline outputs with their captions."""

import numpy as np
from PIL import Image, ImageSequence

from vidrd.data_tools.browsing import CHAR_WIDTH, grid_video
from vidrd.datasets.video_io import probe_video

def test_grid_of_a_mixed_config_shows_each_clip_and_its_caption(tmp_path, cut_videos,
                                                                load_tool):
    colours = {}
    for k in range(2):
        path = str(tmp_path / 'videos' / f'v{k}.mp4')
        cut_videos.write_cut_video(path, [0, 12], seed=k, textured=False)
        colours[k] = cut_videos.scene_frames(1, k * 100, textured=False)[0, 0, 0]
    cut_videos.write_csv(str(tmp_path / 'ann.csv'),
                         [dict(path='v0.mp4', caption='a red circle'),
                          dict(path='v1.mp4', caption='a blue square moving left and right')],
                         ['path', 'caption'])
    Image.fromarray(np.full((30, 60, 3), (0, 255, 0), np.uint8)).save(tmp_path / 'img.png')
    (tmp_path / 'img.jsonl').write_text('{"path": "img.png", "caption": "green field"}\n')
    pipeline = [dict(type='LoadVideoFrames', num_frames=4), dict(type='Resize', scale=16),
                dict(type='CenterCrop', size=16), dict(type='NormalizeVideo'),
                dict(type='PackVideoInputs')]
    image_pipeline = [dict(type='LoadImage'),
                      dict(type='ImageToPseudoVideo', num_frames=3, size=(16, 24)),
                      dict(type='NormalizeVideo'), dict(type='PackVideoInputs')]
    config = tmp_path / 'browse.py'
    config.write_text(f"""
train_dataloader = dict(dataset=dict(type='MixedDataset', datasets=[
    dict(type='VideoTextDataset', ann_file={str(tmp_path / 'ann.csv')!r},
         data_prefix=dict(video={str(tmp_path / 'videos')!r}), pipeline={pipeline!r}),
    dict(type='ImageTextDataset', ann_file={str(tmp_path / 'img.jsonl')!r},
         data_prefix=dict(img={str(tmp_path)!r}), pipeline={image_pipeline!r})]))
""")
    tool = load_tool('tools/analysis/browse_dataset.py')
    out = tmp_path / 'browse'
    tool.main([str(config), '--num', '3', '--out', str(out), '--cell-size', '64'])

    gif = Image.open(out / 'samples.gif')
    frames, duration = [], 0
    for frame in ImageSequence.Iterator(gif):
        frames.append(np.asarray(frame.convert('RGB')))
        duration += frame.info['duration']
    strip = 3 * 12 + 4
    # 4 frames at 4 fps (the longest clip; the pseudo-video holds its last frame); Pillow
    # merges identical frames of these still clips into fewer, longer ones
    assert duration == 1000
    assert frames[0].shape == (2 * (64 + strip) + 2, 2 * 64 + 2, 3)
    for k in range(2):  # cells 0, 1: the solid colour of the video, scaled to 64x64
        cell = frames[0][:64, k * 66:k * 66 + 64].reshape(-1, 3).astype(int)
        assert np.abs(cell.mean(axis=0) - colours[k]).max() < 12
    top = 64 + strip + 2  # second row: the green image, letterboxed 16x24 -> 43x64
    pseudo = frames[0][top + 12:top + 52, :64].reshape(-1, 3).mean(axis=0)
    assert pseudo[1] > 200 and pseudo[0] < 50
    assert (frames[0][top:top + 9, :64] == 32).all()  # the letterbox's background
    caption_area = frames[0][64:64 + strip, :64]
    assert (caption_area > 200).any() and (frames[0][64:64 + strip, 66:130] > 200).any()
    assert probe_video(str(out / 'samples.mp4')).num_frames == 4
    lines = (out / 'captions.txt').read_text().splitlines()
    assert lines == ['0\tdataset 0, sample 0\ta red circle',
                     '1\tdataset 0, sample 1\ta blue square moving left and right',
                     '2\tdataset 1, sample 0\tgreen field']


def test_captions_are_drawn_wrapped_under_their_clip():
    clip = np.zeros((2, 8, 8, 3), np.uint8)
    long_caption = 'word ' * 30
    grid = grid_video([clip], [long_caption], cell_size=60, caption_lines=2)
    strip = grid[0, 60:]
    rows_with_text = np.flatnonzero((strip > 128).any(axis=(1, 2)))
    assert rows_with_text.max() > 12  # a second line
    assert (strip[:, 60 - CHAR_WIDTH // 2:] > 128).sum() < (strip > 128).sum() / 4
    assert not (grid[0, :60] > 0).any()  # a black clip stays black

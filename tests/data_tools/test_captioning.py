"""Captioning segments with tiny random BLIP-2 / LLaVA models loaded from folders."""
import json
import os.path as osp

import pytest

from vidrd.data_tools.captioning import (VisionLanguageCaptioner, caption_items,
                                         caption_videos, key_frames, part_path, tile_frames)
from vidrd.datasets import ActionRecognitionDataset

@pytest.fixture
def videos(tmp_path, cut_videos):
    root = tmp_path / 'videos'
    cut_videos.write_cut_video(str(root / 'cooking' / 'a.mp4'), [0, 12, 30], seed=1)
    cut_videos.write_cut_video(str(root / 'cooking' / 'b.mp4'), [0, 20], seed=2)
    cut_videos.write_cut_video(str(root / 'dancing' / 'c.mp4'), [0, 10, 22, 30], seed=3)
    segments = cut_videos.write_csv(str(tmp_path / 'segments.csv'), [
        dict(video_id='cooking/a', start='0', end='1.2', segment_id='cooking/a_000'),
        dict(video_id='cooking/a', start='1.2', end='3', segment_id='cooking/a_001'),
        dict(video_id='dancing/c', start='0', end='1', segment_id='dancing/c_000'),
        dict(video_id='dancing/c', start='1', end='2.2', segment_id='dancing/c_001'),
        dict(video_id='dancing/c', start='2.2', end='3', segment_id='dancing/c_002')],
        ['video_id', 'start', 'end', 'segment_id'])
    labels = cut_videos.write_csv(str(tmp_path / 'ann.csv'), [
        dict(path='cooking/a.mp4', label='cooking', video_id='cooking/a'),
        dict(path='cooking/b.mp4', label='cooking', video_id='cooking/b'),
        dict(path='dancing/c.mp4', label='dancing', video_id='dancing/c')],
        ['path', 'label', 'video_id'])
    return dict(root=str(root), segments=segments, labels=labels)


def _read(path):
    return [json.loads(line) for line in open(path)]


@pytest.mark.parametrize('kind', ['blip2', 'llava'])
def test_every_segment_gets_a_caption_that_the_action_dataset_reads(tmp_path, videos,
                                                                    tiny_vlm_dirs, kind):
    captioner = VisionLanguageCaptioner(tiny_vlm_dirs[kind], device='cpu', max_new_tokens=6)
    assert type(captioner.model).__name__ == {
        'blip2': 'Blip2ForConditionalGeneration', 'llava': 'LlavaForConditionalGeneration'}[kind]
    items = caption_items(videos['root'], videos['segments'], videos['labels'])
    assert [i.id for i in items] == ['cooking/a_000', 'cooking/a_001', 'dancing/c_000',
                                     'dancing/c_001', 'dancing/c_002', 'cooking/b']
    out = str(tmp_path / 'captions.jsonl')
    report = caption_videos(items, captioner, out, num_frames=3, batch_size=4, progress=False)
    assert report.captioned == 6 and not report.unreadable
    records = _read(out)
    assert [r['id'] for r in records] == [i.id for i in items]
    assert all(isinstance(r['caption'], str) and r['caption'] for r in records)
    assert len({r['caption'] for r in records}) > 1  # captions depend on the clip
    # the new tokens only (at most 6 words), not the prompt the language model continued
    assert all(len(r['caption'].split()) <= 6 for r in records)

    dataset = ActionRecognitionDataset(ann_file=videos['labels'],
                                       data_prefix=dict(video=videos['root']),
                                       segments_file=videos['segments'], caption_file=out,
                                       pipeline=[])
    written = {r['id']: r['caption'] for r in records}
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    assert len(infos) == 6
    for info in infos:
        assert info['caption'] == written[info.get('segment_id', info['video_id'])]


@pytest.mark.parametrize('kind', ['blip2', 'llava'])
def test_the_label_reaches_the_prompt(tmp_path, videos, tiny_vlm_dirs, kind):
    captioner = VisionLanguageCaptioner(tiny_vlm_dirs[kind], device='cpu', max_new_tokens=4)
    items = caption_items(videos['root'], videos['segments'], videos['labels'])
    template = 'describe this video of a person {label} in one sentence'
    images = [tile_frames(key_frames(item, 2)) for item in items[1:3]]
    inputs = captioner.inputs(images, [template.format(label=i.label) for i in items[1:3]])
    decoded = captioner.tokenizer.batch_decode(inputs['input_ids'], skip_special_tokens=True)
    assert 'person cooking in' in decoded[0] and 'person dancing in' in decoded[1]

    seen = []
    real = captioner.generate
    captioner.generate = lambda images, texts: seen.extend(texts) or real(images, texts)
    out = str(tmp_path / 'captions.jsonl')
    caption_videos(items, captioner, out, num_frames=2, prompt=template,
                   caption_template='{label}: {description}', progress=False)
    assert seen[0] == template.format(label='cooking') and seen[2] == template.format(
        label='dancing')
    assert [r['caption'].split(':')[0] for r in _read(out)] == [i.label for i in items]


def test_a_killed_run_resumes_to_the_uninterrupted_file(tmp_path, videos, tiny_vlm_dirs,
                                                        monkeypatch):
    captioner = VisionLanguageCaptioner(tiny_vlm_dirs['llava'], device='cpu', max_new_tokens=6)
    items = caption_items(videos['root'], videos['segments'], videos['labels'])
    straight = str(tmp_path / 'straight.jsonl')
    caption_videos(items, captioner, straight, num_frames=2, batch_size=2, progress=False)

    resumed = str(tmp_path / 'resumed.jsonl')
    real, calls = captioner.generate, []

    def killed_on_the_second_batch(images, texts):
        calls.append(texts)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(images, texts)

    monkeypatch.setattr(captioner, 'generate', killed_on_the_second_batch)
    with pytest.raises(KeyboardInterrupt):
        caption_videos(items, captioner, resumed, num_frames=2, batch_size=2, progress=False)
    assert len(_read(resumed)) == 2
    monkeypatch.setattr(captioner, 'generate', real)
    with open(resumed, 'a') as file:  # killed while writing the second batch's first line
        file.write('{"id": "dancing/c_000", "capt')
    report = caption_videos(items, captioner, resumed, num_frames=2, batch_size=2,
                            progress=False)
    assert report.skipped_done == 2 and report.captioned == 4
    assert open(resumed).read() == open(straight).read()
    # a run over a complete file captions nothing
    monkeypatch.setattr(captioner, 'generate', lambda *a: pytest.fail('captioned again'))
    assert caption_videos(items, captioner, resumed, progress=False).skipped_done == 6


def test_shards_from_torchrun_environment_merge_into_the_single_process_file(
        tmp_path, videos, tiny_vlm_dirs, monkeypatch):
    captioner = VisionLanguageCaptioner(tiny_vlm_dirs['blip2'], device='cpu', max_new_tokens=5)
    open(osp.join(videos['root'], 'dancing', 'd.mp4'), 'wb').write(b'broken')
    items = caption_items(videos['root'], videos['segments'])
    single = str(tmp_path / 'single.jsonl')
    caption_videos(items, captioner, single, num_frames=2, batch_size=1, progress=False)
    assert len(_read(single)) == 6  # of 7 items: the broken video is skipped
    out = str(tmp_path / 'sharded.jsonl')
    monkeypatch.setenv('WORLD_SIZE', '2')
    for rank in (1, 0):
        monkeypatch.setenv('RANK', str(rank))
        report = caption_videos(items, captioner, out, num_frames=2, batch_size=1,
                                progress=False)
        assert report.merged == (rank == 0)  # the last shard to finish merges
        assert report.part_file == part_path(out, rank, 2)
        assert {r['id'] for r in _read(report.part_file)} == {
            i.id for i in items[rank::2] if i.id != 'dancing/d'}
    assert open(out).read() == open(single).read()


def test_missing_model_folder_says_what_to_put_there(tmp_path):
    with pytest.raises(FileNotFoundError, match='model folder not found.*config.json.*'
                                                'Nothing is downloaded'):
        VisionLanguageCaptioner(str(tmp_path / 'nowhere'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='no config.json'):
        VisionLanguageCaptioner(str(tmp_path / 'empty'))


def test_command_line_skips_unreadable_videos_and_needs_labels_for_label_prompts(
        tmp_path, videos, tiny_vlm_dirs, capsys, load_tool):
    open(osp.join(videos['root'], 'cooking', 'broken.mp4'), 'wb').write(b'not a video')
    tool = load_tool('tools/data/caption_videos.py')
    out = str(tmp_path / 'captions.jsonl')
    args = [videos['root'], '--model-dir', tiny_vlm_dirs['blip2'], '--out', out,
            '--segments', videos['segments'], '--frames', '2', '--batch-size', '3',
            '--max-new-tokens', '3', '--device', 'cpu']
    tool.main(args)
    printed = capsys.readouterr().out
    assert '6 captioned, 1 unreadable' in printed and 'cooking/broken' in printed
    assert len(_read(out)) == 6
    with pytest.raises(ValueError, match=r'\{label\}.*--labels'):
        tool.main(args + ['--prompt', 'a person {label}'])


def test_separate_key_frames_in_one_llava_prompt(tmp_path, videos, tiny_vlm_dirs):
    from PIL import Image
    captioner = VisionLanguageCaptioner(tiny_vlm_dirs['llava'], device='cpu', max_new_tokens=4)
    items = caption_items(videos['root'], videos['segments'])
    frames = [Image.fromarray(frame) for frame in key_frames(items[0], 3)]
    inputs = captioner.inputs([frames, frames[:1]], ['describe it', 'describe it'])
    image_token = captioner.tokenizer.convert_tokens_to_ids('<image>')
    # 16 patch features per 32x32 image (8x8 patches)
    assert (inputs['input_ids'] == image_token).sum(dim=1).tolist() == [48, 16]
    assert inputs['pixel_values'].shape[0] == 4
    out = str(tmp_path / 'captions.jsonl')
    report = caption_videos(items, captioner, out, num_frames=3, frame_layout='separate',
                            progress=False)
    assert report.captioned == 6 and len(_read(out)) == 6

    blip2 = VisionLanguageCaptioner(tiny_vlm_dirs['blip2'], device='cpu')
    with pytest.raises(ValueError, match='one image per prompt.*"grid"'):
        caption_videos(items, blip2, out, frame_layout='separate', progress=False)

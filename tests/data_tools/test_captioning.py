"""Captioning segments with tiny random BLIP-2 / LLaVA models loaded from folders."""
import json
import os.path as osp
import re

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
    with pytest.raises(ValueError, match=r'\{label\}.*pass labels') as err:  # the parameter
        tool.main(args + ['--prompt', 'a person {label}'])
    from vidrd.utils.cli import user_error_message  # the tool shows its flag
    assert re.search(r'\{label\}.*--labels', user_error_message(err.value, tool.FLAGS))


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


# -- key frames as one video: a processor that takes videos= (tiny random Qwen2-VL) -------------
def test_video_layout_gives_qwen2_vl_each_clip_as_one_video_with_its_timing(
        tmp_path, videos, tiny_qwen2_vl_dir, tiny_vlm_dirs, monkeypatch, load_tool):
    from vidrd.data_tools.captioning import sample_key_frames
    captioner = VisionLanguageCaptioner(tiny_qwen2_vl_dir, device='cpu', max_new_tokens=4)
    assert type(captioner.model).__name__ == 'Qwen2VLForConditionalGeneration'
    assert captioner.takes_videos
    items = caption_items(videos['root'], videos['segments'], videos['labels'])

    # where the key frames lie: segment cooking/a_000 is 0 .. 1.2 s of a 10 fps video
    clip = sample_key_frames(items[0], 4)
    assert (clip.fps, clip.clip_frames, clip.indices) == (10.0, 12, [1, 4, 7, 10])
    assert clip.timestamps == pytest.approx([0.1, 0.4, 0.7, 1.0])
    assert clip.sampled_fps == pytest.approx(4 * 10 / 12)

    # the processor gets videos= and their metadata: one video per prompt, no images
    seen = []
    processor_call = type(captioner.processor).__call__
    monkeypatch.setattr(type(captioner.processor), '__call__',
                        lambda self, *a, **kw: seen.append(kw) or processor_call(self, *a, **kw))
    inputs = captioner.inputs([clip, sample_key_frames(items[2], 3)], ['describe it'] * 2)
    assert 'pixel_values' not in inputs and inputs['video_grid_thw'].shape[0] == 2
    grid = inputs['video_grid_thw']
    tokens = (inputs['input_ids'] == captioner.model.config.video_token_id).sum(dim=1)
    assert tokens.tolist() == (grid.prod(dim=1) // 4).tolist()  # 2 x 2 patches merge into one
    assert grid[:, 0].tolist() == [2, 2]  # 4 frames, and 3 padded to 4: 2 temporal patches
    (kwargs,) = seen
    assert kwargs['do_sample_frames'] is False and len(kwargs['videos']) == 2
    metadata = kwargs['video_metadata'][0]
    assert (metadata.fps, metadata.total_num_frames, metadata.frames_indices) == (
        10.0, 12, [1, 4, 7, 10])
    assert metadata.timestamps == pytest.approx(clip.timestamps)
    monkeypatch.undo()

    # every segment (and the unsegmented video) captioned once; a killed run resumes to the
    # uninterrupted file
    straight = str(tmp_path / 'straight.jsonl')
    report = caption_videos(items, captioner, straight, num_frames=4, batch_size=2,
                            frame_layout='video', progress=False)
    assert report.captioned == 6 and [r['id'] for r in _read(straight)] == [i.id for i in items]
    assert all(r['caption'] for r in _read(straight))
    resumed = str(tmp_path / 'resumed.jsonl')
    real, calls = captioner.generate, []

    def killed_on_the_second_batch(images, texts):
        calls.append(images)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(images, texts)

    monkeypatch.setattr(captioner, 'generate', killed_on_the_second_batch)
    with pytest.raises(KeyboardInterrupt):
        caption_videos(items, captioner, resumed, num_frames=4, batch_size=2,
                       frame_layout='video', progress=False)
    assert all(type(v).__name__ == 'KeyFrameVideo' for v in calls[0])
    monkeypatch.setattr(captioner, 'generate', real)
    with open(resumed, 'a') as file:  # killed while writing the second batch's first line
        file.write('{"id": "dancing/c_000", "capt')
    report = caption_videos(items, captioner, resumed, num_frames=4, batch_size=2,
                            frame_layout='video', progress=False)
    assert report.skipped_done == 2 and report.captioned == 4
    assert open(resumed).read() == open(straight).read()

    # a processor without videos= is told which layouts it takes, from the command line too
    blip2 = VisionLanguageCaptioner(tiny_vlm_dirs['blip2'], device='cpu')
    assert not blip2.takes_videos
    with pytest.raises(ValueError, match='takes no videos.*"grid" or "separate"'):
        caption_videos(items, blip2, str(tmp_path / 'x.jsonl'), frame_layout='video',
                       progress=False)
    tool = load_tool('tools/data/caption_videos.py')
    out = str(tmp_path / 'cli.jsonl')
    tool.main([videos['root'], '--model-dir', tiny_qwen2_vl_dir, '--out', out, '--segments',
               videos['segments'], '--labels', videos['labels'], '--frames', '4',
               '--batch-size', '2', '--max-new-tokens', '4', '--frame-layout', 'video',
               '--device', 'cpu'])
    assert open(out).read() == open(straight).read()


def test_the_plan_shards_resumes_and_reads_no_video(tmp_path):
    """plan_captions decides the prompt, this shard's items and what is done, from the items and
    the part file alone; run_caption_plan does the rest."""
    from vidrd.data_tools.captioning import CaptionItem, plan_captions
    items = [CaptionItem(f'v{k}', f'v{k}', str(tmp_path / 'missing' / f'v{k}.mp4'),
                         label='cooking') for k in range(7)]
    out = str(tmp_path / 'captions.jsonl')
    part = part_path(out, 1, 2)
    with open(part, 'w') as file:
        file.write('{"id": "v1", "caption": "done"}\n{"id": "v3", "cap')  # killed mid-line
    plan = plan_captions(items, out, batch_size=2, num_shards=2, shard_id=1)
    assert plan.part_file == part and plan.done == {'v1'}
    assert [i.id for i in plan.shard_items] == ['v1', 'v3', 'v5']
    assert [[i.id for i in batch] for batch in plan.batches()] == [['v3'], ['v5']]
    assert '{label}' in plan.prompt  # every item has a label: the label prompt
    with pytest.raises(ValueError, match='num_frames and batch_size'):
        plan_captions(items, out, batch_size=0)

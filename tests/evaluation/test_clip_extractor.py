"""CLIP similarity: a local transformers folder (no download), embeddings, the metric's value."""
import json

import pytest
import torch

from vidrd.evaluation.feature_extractors import CLIPExtractor
from vidrd.evaluation.feature_extractors.clip import tiny_clip_config
from vidrd.evaluation.metrics import CLIPSimilarity
from vidrd.utils.checkpoint import WeightsNotFoundError


@pytest.fixture(scope='module')
def clip_folder(tmp_path_factory):
    """A tiny CLIP saved like a hub folder: config, safetensors weights, BPE tokenizer files."""
    from transformers import CLIPModel
    folder = tmp_path_factory.mktemp('clip')
    letters = 'abcdefghijklmnopqrstuvwxyz'
    vocab = {'<|startoftext|>': 0, '<|endoftext|>': 1}
    for ch in letters:
        vocab[ch] = len(vocab)
        vocab[ch + '</w>'] = len(vocab)
    (folder / 'vocab.json').write_text(json.dumps(vocab))
    (folder / 'merges.txt').write_text('#version: 0.2\n')
    (folder / 'tokenizer_config.json').write_text(json.dumps(
        dict(tokenizer_class='CLIPTokenizer', model_max_length=77, unk_token='<|endoftext|>',
             bos_token='<|startoftext|>', eos_token='<|endoftext|>', pad_token='<|endoftext|>')))
    config = tiny_clip_config()
    config.text_config.vocab_size = len(vocab)
    config.text_config.bos_token_id, config.text_config.eos_token_id = 0, 1
    config.text_config.pad_token_id = 1
    torch.manual_seed(0)
    CLIPModel(config).save_pretrained(str(folder))
    (folder / 'preprocessor_config.json').write_text(json.dumps(
        dict(image_mean=[0.5, 0.5, 0.5], image_std=[0.25, 0.25, 0.25])))
    return str(folder)


def test_local_folder_embeddings(clip_folder):
    extractor = CLIPExtractor(weights=clip_folder)
    assert extractor.mean == (0.5, 0.5, 0.5)
    frames = extractor.encode_video(torch.rand(2, 3, 3, 40, 48))
    text = extractor.encode_text(['a red circle', 'a blue square moving'])
    assert frames.shape == (2, 3, 16) and text.shape == (2, 16)
    assert torch.allclose(frames.norm(dim=-1), torch.ones(2, 3), atol=1e-5)
    assert torch.allclose(text.norm(dim=-1), torch.ones(2), atol=1e-5)
    assert not torch.allclose(text[0], text[1])


def test_preprocessing_resizes_shorter_side_and_normalises(clip_folder):
    extractor = CLIPExtractor(weights=clip_folder)
    frames = torch.full((1, 3, 20, 40), 0.75)
    x = extractor.preprocess_frames(frames)
    assert x.shape == (1, 3, 32, 32)
    assert torch.allclose(x, torch.ones_like(x), atol=1e-4)  # (0.75 - 0.5) / 0.25


def test_metric_is_mean_frame_text_cosine(clip_folder):
    extractor = CLIPExtractor(weights=clip_folder)
    metric = CLIPSimilarity(extractor=extractor, video_range=(0, 1), batch_size=2)
    g = torch.Generator().manual_seed(0)
    videos = [torch.rand(3, 2, 32, 32, generator=g) for _ in range(3)]
    captions = ['a red circle', 'a green square', 'a blue triangle']
    metric.process(None, [dict(video=v, caption=c) for v, c in zip(videos, captions)])
    result = metric.evaluate(3)
    frames = extractor.encode_video(torch.stack(videos))
    text = extractor.encode_text(captions)
    expected = torch.stack([(frames[i] @ text[i]).mean() for i in range(3)]).mean().item()
    assert result['CLIPSIM'] == pytest.approx(expected, abs=1e-6)


def test_missing_folder_and_random_mode(tmp_path):
    with pytest.raises(WeightsNotFoundError, match='clip-vit'):
        CLIPExtractor(weights=str(tmp_path / 'clip'))
    random = CLIPExtractor(weights=None, allow_random_weights=True)
    assert random.encode_text(['x']).shape == (1, 16)

"""CLIPTextEncoder against transformers' CLIPTextModel and the original implementation's outputs."""
import os.path as osp

import pytest
import torch
from safetensors.torch import load_file

from vidrd.models.text_encoders import CLIPTextEncoder
from vidrd.registry import MODELS
from vidrd.utils.checkpoint import CheckpointMismatchError, WeightsNotFoundError

TINY_CONFIG = dict(vocab_size=16, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                   num_attention_heads=2, max_position_embeddings=77, bos_token_id=0,
                   pad_token_id=1, eos_token_id=2)
DEMO_VOCAB = ['a', 'red', 'green', 'circle', 'square', 'moving', 'left', 'right']


@pytest.fixture(scope='module')
def reference(reference_dir):
    forward = load_file(osp.join(reference_dir, 'unet_forward.safetensors'))
    return dict(folder=osp.join(reference_dir, 'sd21_tiny', 'text_encoder'),
                checkpoint=osp.join(reference_dir, 'vidrd_official_tiny.pth'),
                input_ids=forward['input_ids'], text_embeds=forward['text_embeds'])


def test_folder_equals_transformers_and_original(reference):
    from transformers import CLIPTextModel
    ours = CLIPTextEncoder(pretrained=reference['folder'])
    oracle = CLIPTextModel.from_pretrained(reference['folder'], local_files_only=True).eval()
    with torch.no_grad():
        expected = oracle(input_ids=reference['input_ids']).last_hidden_state
    got = ours(reference['input_ids'])
    assert got.shape == (2, 77, 32)
    assert (got - expected).abs().max() <= 1e-4
    assert (got - reference['text_embeds']).abs().max() <= 1e-4
    # parameter names are the files' (`text_model.*`), whatever the transformers version
    folder_keys = set(load_file(osp.join(reference['folder'], 'model.safetensors')))
    assert set(ours.state_dict()) == folder_keys - {'text_model.embeddings.position_ids'}


def test_original_checkpoint_equals_folder(reference):
    # the released layout keeps the text encoder under `text_encoder.*` in `state_dict`
    from_checkpoint = CLIPTextEncoder(config=reference['folder'],
                                      checkpoint=reference['checkpoint'])
    from_folder = CLIPTextEncoder(pretrained=reference['folder'])
    for key, value in from_folder.state_dict().items():
        assert torch.equal(from_checkpoint.state_dict()[key], value), key
    assert (from_checkpoint(reference['input_ids'])
            - reference['text_embeds']).abs().max() <= 1e-4

    random_init = CLIPTextEncoder(config=reference['folder'])
    report = random_init.load_state_dict_from_original(reference['checkpoint'])
    assert report.ok and len(report.loaded) == len(from_folder.state_dict())
    assert torch.equal(random_init(reference['input_ids']), from_folder(reference['input_ids']))
    with pytest.raises(CheckpointMismatchError, match="'clip.'.*'text_encoder.'"):
        random_init.load_state_dict_from_original(reference['checkpoint'], prefix='clip.')


def test_pipeline_folder_brings_its_tokenizer(reference, tiny_clip_tokenizer, tmp_path):
    folder, vocab = tiny_clip_tokenizer  # tmp_path/tokenizer
    (tmp_path / 'text_encoder').symlink_to(reference['folder'])
    encoder = CLIPTextEncoder(pretrained=str(tmp_path))
    ids = encoder.tokenize(['a red cab'])
    assert ids.shape == (1, 77) and ids[0, 2] == vocab['red</w>']
    assert torch.equal(encoder.encode(['a red cab']), encoder(ids))


def test_word_tokenizer_demo_encoder_is_frozen():
    encoder = MODELS.build(dict(type='CLIPTextEncoder', config=TINY_CONFIG,
                                tokenizer=dict(type='WordTokenizer', vocab=DEMO_VOCAB)))
    assert not encoder.training and not any(p.requires_grad for p in encoder.parameters())
    encoder.train()  # a parent's train() must not switch dropout on
    assert not encoder.training and not encoder.text_model.training
    embeds = encoder.encode(['a red circle moving left', 'a green square moving right'])
    assert embeds.shape == (2, 77, 16) and not embeds.requires_grad
    assert not torch.allclose(embeds[0], embeds[1])
    assert torch.equal(encoder.encode('a red circle moving left'), embeds[:1])

    trainable = CLIPTextEncoder(config=TINY_CONFIG, frozen=False)
    trainable.train()
    assert trainable.training and all(p.requires_grad for p in trainable.parameters())
    assert trainable(torch.zeros(1, 77, dtype=torch.long)).requires_grad


def test_errors(tmp_path):
    with pytest.raises(WeightsNotFoundError, match='no_such_folder.*stable-diffusion-2-1-base'):
        CLIPTextEncoder(pretrained=str(tmp_path / 'no_such_folder'))
    with pytest.raises(WeightsNotFoundError, match='no config.json'):
        CLIPTextEncoder(pretrained=str(tmp_path))
    with pytest.raises(ValueError, match='pretrained=<folder> or config='):
        CLIPTextEncoder()
    encoder = CLIPTextEncoder(config=TINY_CONFIG)
    with pytest.raises(RuntimeError, match='no tokenizer'):
        encoder.encode(['a red circle'])
    with pytest.raises(ValueError, match=r'token ids must be in \[0, 16\)'):
        encoder(torch.full((1, 77), 16))
    with pytest.raises(ValueError, match='tokenizer has 20 ids'):
        CLIPTextEncoder(config=TINY_CONFIG, tokenizer=dict(type='WordTokenizer',
                                                           vocab=[f'w{i}' for i in range(16)]))

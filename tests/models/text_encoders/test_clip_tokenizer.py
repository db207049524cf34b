"""LocalCLIPTokenizer: transformers' CLIPTokenizer from a local folder, never the hub."""
import pytest
import torch

from vidrd.models.text_encoders import LocalCLIPTokenizer, WordTokenizer, build_tokenizer
from vidrd.utils.checkpoint import WeightsNotFoundError


def test_generated_folder_loads_and_pads(tiny_clip_tokenizer):
    folder, vocab = tiny_clip_tokenizer
    tokenizer = build_tokenizer(str(folder))
    assert isinstance(tokenizer, LocalCLIPTokenizer)
    ids = tokenizer(['a red cab', 'red'])
    assert ids.dtype == torch.long and ids.shape == (2, 77)
    bos, eos = vocab['<|startoftext|>'], vocab['<|endoftext|>']
    expected = [bos, vocab['a</w>'], vocab['red</w>'], vocab['c'], vocab['a'], vocab['b</w>'], eos]
    assert ids[0, :7].tolist() == expected
    assert (ids[0, 7:] == eos).all()  # CLIP pads with its end-of-text token
    assert tokenizer.decode(ids[0]) == 'a red cab'
    assert tokenizer.vocab_size == len(vocab)
    # a pipeline folder holding tokenizer/ works too
    assert torch.equal(LocalCLIPTokenizer(str(folder.parent))('red'), ids[1:])


def test_truncates_long_prompts(tiny_clip_tokenizer):
    ids = LocalCLIPTokenizer(str(tiny_clip_tokenizer[0]), max_length=8)(['a ' * 20])
    assert ids.shape == (1, 8) and ids[0, -1] == 1  # still ends with end-of-text


def test_errors(tmp_path):
    with pytest.raises(WeightsNotFoundError, match='no_tokenizer.*stable-diffusion-2-1-base'):
        LocalCLIPTokenizer(str(tmp_path / 'no_tokenizer'))
    (tmp_path / 'notes.txt').write_text('not a tokenizer')
    with pytest.raises(WeightsNotFoundError, match=r"vocab.json and merges.txt.*notes.txt"):
        LocalCLIPTokenizer(str(tmp_path))
    with pytest.raises(TypeError, match='tokenizer must be'):
        build_tokenizer(3)
    word = WordTokenizer(['a'])
    assert build_tokenizer(word) is word and build_tokenizer(None) is None

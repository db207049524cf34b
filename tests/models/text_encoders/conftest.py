"""Fixtures of the text-encoder tests: a tiny CLIP BPE tokenizer folder laid out like SD-2.1's."""
import json
import string

import pytest


def write_tiny_clip_tokenizer(folder) -> dict:
    """Single letters (word-inner and word-final) plus the merges r+e -> re, re+d</w> -> red</w>.

    Returns the vocabulary (token -> id).
    """
    folder.mkdir(parents=True, exist_ok=True)
    vocab = {'<|startoftext|>': 0, '<|endoftext|>': 1}
    for suffix in ('', '</w>'):
        for letter in string.ascii_lowercase:
            vocab[letter + suffix] = len(vocab)
    vocab['re'] = len(vocab)
    vocab['red</w>'] = len(vocab)
    (folder / 'vocab.json').write_text(json.dumps(vocab))
    (folder / 'merges.txt').write_text('#version: 0.2\nr e\nre d</w>\n')
    return vocab


@pytest.fixture
def tiny_clip_tokenizer(tmp_path):
    """(folder, vocab) of a freshly written tokenizer folder ``tmp_path/tokenizer``."""
    folder = tmp_path / 'tokenizer'
    return folder, write_tiny_clip_tokenizer(folder)

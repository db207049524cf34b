"""WordTokenizer: the word-level tokenizer of the embedded demo captions."""
import json

import pytest
import torch

from vidrd.models.text_encoders import WordTokenizer
from vidrd.registry import MODELS

VOCAB = ['a', 'red', 'green', 'circle', 'square', 'moving', 'left', 'right']


def test_round_trip_and_padding():
    tokenizer = WordTokenizer(VOCAB)
    ids = tokenizer(['a red circle moving left', 'A GREEN square'])
    assert ids.dtype == torch.long and ids.shape == (2, 77)
    # specials 0..3 (bos, pad, eos, unk); words from 4 in vocabulary order
    assert ids[0, :7].tolist() == [0, 4, 5, 7, 9, 10, 2]
    assert (ids[0, 7:] == 1).all() and (ids[1, 5:] == 1).all()
    assert tokenizer.decode(ids[0]) == 'a red circle moving left'
    assert tokenizer.decode(ids[1]) == 'a green square'
    assert tokenizer.vocab_size == 4 + len(VOCAB)
    assert torch.equal(tokenizer('a red circle'), tokenizer(['a red circle']))


def test_unknown_words_and_truncation():
    tokenizer = WordTokenizer(VOCAB, max_length=6)
    ids = tokenizer('a purple circle, moving left')
    assert ids.tolist() == [[0, 4, 3, 7, 3, 2]]  # 'purple' and ',' -> unk; eos kept
    assert tokenizer.decode(ids[0]) == 'a <unk> circle <unk>'


def test_special_ids_elsewhere_and_files(tmp_path):
    # CLIP puts bos/eos at the end of its vocabulary; words then fill 0, 1, 2, ...
    tokenizer = WordTokenizer(VOCAB, bos_token_id=8, eos_token_id=9, pad_token_id=10,
                              unk_token_id=11)
    assert tokenizer('a right')[0, :4].tolist() == [8, 0, 7, 9]
    assert tokenizer.vocab_size == 12

    as_json, as_text = tmp_path / 'vocab.json', tmp_path / 'vocab.txt'
    as_json.write_text(json.dumps(VOCAB))
    as_text.write_text('\n'.join(VOCAB) + '\n')
    built = MODELS.build(dict(type='WordTokenizer', vocab=str(as_json)))
    assert torch.equal(built('a red square'), WordTokenizer(str(as_text))('a red square'))

    from_captions = WordTokenizer.from_captions(['a red circle moving left', 'a green square'])
    assert from_captions.decode(from_captions('a green circle')[0]) == 'a green circle'


def test_errors(tmp_path):
    with pytest.raises(ValueError, match="'red' twice"):
        WordTokenizer(['red', 'Red'])
    with pytest.raises(ValueError, match='single word'):
        WordTokenizer(['red circle'])
    with pytest.raises(ValueError, match='must differ'):
        WordTokenizer(VOCAB, pad_token_id=2)
    with pytest.raises(FileNotFoundError, match='missing.txt'):
        WordTokenizer(str(tmp_path / 'missing.txt'))


def test_unknown_words_are_named_in_a_warning_once(caplog, monkeypatch):
    import logging

    import vidrd.models.text_encoders.word_tokenizer as module
    # mmengine's logger does not propagate to pytest's handler: log to a plain one
    monkeypatch.setattr(module, 'get_logger', lambda: logging.getLogger('word_tokenizer_test'))
    tokenizer = WordTokenizer(VOCAB)
    assert tokenizer.unknown_words('a purple hexagon, moving left') == ['purple', 'hexagon', ',']
    assert tokenizer.known_words('a purple hexagon') == ['a']
    with caplog.at_level(logging.WARNING):
        tokenizer('a purple hexagon')
        tokenizer('a purple circle')  # 'purple' was named already
    warnings = [r.getMessage() for r in caplog.records if r.levelname == 'WARNING']
    assert len(warnings) == 1 and "'purple', 'hexagon'" in warnings[0]

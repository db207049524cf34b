import pytest
import torch

from vidrd.models.long_video import encode_prompts, encode_storyline


class CountingEncoder:
    def __init__(self):
        self.calls = []

    def encode(self, prompts):
        self.calls.append(list(prompts))
        return torch.stack([torch.full((2, 3), float(len(p))) for p in prompts])


def test_encode_prompts_one_call_with_empty_or_negative_prompt():
    enc = CountingEncoder()
    cond, uncond = encode_prompts(enc, ['ab', 'abcd'])
    assert enc.calls == [['ab', 'abcd', '', '']]
    assert cond[:, 0, 0].tolist() == [2.0, 4.0] and uncond.abs().sum() == 0
    _, uncond = encode_prompts(enc, ['ab', 'abcd'], 'watermark')
    assert uncond[:, 0, 0].tolist() == [9.0, 9.0]
    with pytest.raises(ValueError, match='1 negative prompts for 2 prompts'):
        encode_prompts(enc, ['ab', 'abcd'], ['x'])
    with pytest.raises(TypeError, match='no encode'):
        encode_prompts(object(), ['ab'])


def test_encode_storyline_shares_repeated_prompts():
    enc = CountingEncoder()
    per_clip, uncond = encode_storyline(enc, ['a', 'bb', 'a'], 'n')
    assert enc.calls == [['a', 'bb', 'n']]
    assert per_clip[0] is per_clip[2] and per_clip[1].shape == (1, 2, 3)
    assert uncond.shape == (1, 2, 3) and uncond[0, 0, 0] == 1.0

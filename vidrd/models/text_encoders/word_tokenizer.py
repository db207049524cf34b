"""A word-level tokenizer for tiny text encoders trained from scratch (the embedded demo data)."""
import json
import os.path as osp
import re
from typing import Dict, Iterable, List, Sequence, Union

import torch

from vidrd.registry import MODELS
from vidrd.utils.logging import get_logger
from vidrd.utils.errors import DataError, InvalidValueError

_WORD = re.compile(r"[\w']+|[^\w\s]")  # words, and each punctuation mark on its own


@MODELS.register_module()
class WordTokenizer:
    """Whole words -> ids, laid out like CLIP's input: ``[bos, w_1 .. w_n, eos, pad, ...]``.

    Meant for captions with a small closed vocabulary ("a red circle moving left"), where a
    BPE tokenizer and a 49K-entry vocabulary would be most of the text encoder. Text is
    lower-cased and split into words and punctuation marks; a word outside the vocabulary maps
    to ``unk_token_id`` with a warning naming it (once per word; :meth:`unknown_words` lists
    them for a caller that wants to refuse such a prompt). Words take the ids 0, 1, 2, ... in vocabulary order, skipping the four
    special ids (so with the defaults the first word is id 4).

    Args:
        vocab: the words, or a file of them (``.json`` holding a list, else one word a line).
        max_length: length L of every output row (77, CLIP's context), bos and eos included;
            longer captions are truncated (with a warning) and keep their eos.
        bos_token_id, pad_token_id, eos_token_id, unk_token_id: the special ids; the defaults
            match a CLIP text config with ``bos_token_id=0, pad_token_id=1, eos_token_id=2``.

    ``tokenizer(prompts) -> LongTensor (B, max_length)``; ``decode(ids) -> str`` inverts it for
    known words.
    """

    def __init__(self, vocab: Union[Sequence[str], str], max_length: int = 77,
                 bos_token_id: int = 0, pad_token_id: int = 1, eos_token_id: int = 2,
                 unk_token_id: int = 3, lowercase: bool = True):
        words = self._read_vocab(vocab) if isinstance(vocab, str) else list(vocab)
        specials = dict(bos=bos_token_id, pad=pad_token_id, eos=eos_token_id, unk=unk_token_id)
        if len(set(specials.values())) != len(specials):
            raise ValueError(f'special token ids must differ, got {specials}')
        if max_length < 2:
            raise InvalidValueError(f'max_length must leave room for bos and eos, got {max_length}')
        self.max_length = int(max_length)
        self.bos_token_id, self.pad_token_id = bos_token_id, pad_token_id
        self.eos_token_id, self.unk_token_id = eos_token_id, unk_token_id
        self.lowercase = lowercase

        self.word_to_id: Dict[str, int] = {}
        next_id = 0
        for word in words:
            if not isinstance(word, str) or not word or _WORD.fullmatch(word) is None:
                raise InvalidValueError(
                    f'vocabulary entry {word!r} is not a single word or punctuation '
                    'mark')
            word = word.lower() if lowercase else word
            if word in self.word_to_id:
                raise InvalidValueError(f'vocabulary lists {word!r} twice')
            while next_id in specials.values():
                next_id += 1
            self.word_to_id[word] = next_id
            next_id += 1
        self.id_to_word = {i: w for w, i in self.word_to_id.items()}
        self._warned: set = set()
        self.vocab_size = max([next_id - 1, *specials.values()]) + 1

    def export_config(self, folder: str) -> dict:
        """A config that rebuilds this tokenizer (the vocabulary inline; no file needed)."""
        words = sorted(self.word_to_id, key=self.word_to_id.get)
        return dict(type='WordTokenizer', vocab=words, max_length=self.max_length,
                    bos_token_id=self.bos_token_id, pad_token_id=self.pad_token_id,
                    eos_token_id=self.eos_token_id, unk_token_id=self.unk_token_id,
                    lowercase=self.lowercase)

    @classmethod
    def from_captions(cls, captions: Iterable[str], **kwargs) -> 'WordTokenizer':
        """A tokenizer whose vocabulary is every word of ``captions`` (sorted)."""
        lowercase = kwargs.get('lowercase', True)
        words = {w for c in captions for w in _WORD.findall(c.lower() if lowercase else c)}
        return cls(sorted(words), **kwargs)

    @staticmethod
    def _read_vocab(path: str) -> List[str]:
        if not osp.isfile(path):
            raise FileNotFoundError(f'vocabulary file not found: {path!r} (a .json list of words '
                                    'or a text file with one word a line)')
        with open(path, encoding='utf-8') as f:
            if path.endswith('.json'):
                words = json.load(f)
                if not isinstance(words, list):
                    raise DataError(f'{path!r} must hold a JSON list of words')
                return words
            return [line.strip() for line in f if line.strip()]

    def __repr__(self) -> str:
        return (f'{type(self).__name__}({len(self.word_to_id)} words, '
                f'vocab_size={self.vocab_size}, max_length={self.max_length})')

    def unknown_words(self, text: str) -> List[str]:
        """The words of ``text`` outside the vocabulary (they would become ``<unk>``), in order."""
        text = text.lower() if self.lowercase else text
        return list(dict.fromkeys(w for w in _WORD.findall(text) if w not in self.word_to_id))

    def known_words(self, text: str) -> List[str]:
        """The words of ``text`` inside the vocabulary."""
        text = text.lower() if self.lowercase else text
        return [w for w in _WORD.findall(text) if w in self.word_to_id]

    def tokenize(self, text: str) -> List[int]:
        """Ids of the words of ``text``, without bos / eos / padding."""
        text = text.lower() if self.lowercase else text
        return [self.word_to_id.get(w, self.unk_token_id) for w in _WORD.findall(text)]

    def __call__(self, prompts: Union[str, Sequence[str]]) -> torch.Tensor:
        """LongTensor (B, max_length): ``[bos, words..., eos, pad...]`` per prompt."""
        if isinstance(prompts, str):
            prompts = [prompts]
        rows = []
        for prompt in prompts:
            unknown = [w for w in self.unknown_words(prompt) if w not in self._warned]
            if unknown:
                self._warned.update(unknown)
                get_logger().warning(
                    f'WordTokenizer: {", ".join(map(repr, unknown))} in {prompt!r} not in the '
                    f'vocabulary of {len(self.word_to_id)} words; they become <unk> and carry no '
                    f'meaning (known words: {", ".join(list(self.word_to_id)[:20])}...)')
            ids = self.tokenize(prompt)
            if len(ids) > self.max_length - 2:
                get_logger().warning(f'caption truncated to {self.max_length - 2} words: '
                                     f'{prompt!r}')
                ids = ids[:self.max_length - 2]
            row = [self.bos_token_id, *ids, self.eos_token_id]
            rows.append(row + [self.pad_token_id] * (self.max_length - len(row)))
        return torch.tensor(rows, dtype=torch.long).reshape(len(rows), self.max_length)

    def decode(self, ids: Union[torch.Tensor, Sequence[int]]) -> str:
        """Words of one row of ids (special ids dropped, unknown words as ``<unk>``)."""
        ids = ids.tolist() if torch.is_tensor(ids) else list(ids)
        skip = {self.bos_token_id, self.eos_token_id, self.pad_token_id}
        return ' '.join('<unk>' if i == self.unk_token_id else self.id_to_word.get(i, '<unk>')
                        for i in ids if i not in skip)

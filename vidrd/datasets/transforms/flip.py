"""Mirror a clip left-right, keeping the caption true.

A horizontal flip turns "a car driving left" into a video of a car driving right, and a
clockwise spin into a counter-clockwise one: for text-to-video data a flip that leaves the caption
alone teaches the model the wrong direction words. :class:`RandomHorizontalFlip` therefore swaps
direction words in the caption by default ("left" <-> "right", "leftward(s)" <-> "rightward(s)",
"leftmost" <-> "rightmost", "left-hand" <-> "right-hand", "clockwise" <-> "counterclockwise" /
"anticlockwise"), keeping their capitalisation.

Limits, and why ``direction_words`` can be set to ``'skip'``: the words are swapped wherever they
stand, including where they do not mean a direction ("he left the room", "right now", "the right
answer"), and text visible in the video is mirrored. With ``'skip'``, a clip whose caption holds a
direction word is never flipped (always correct, fewer flips); ``'ignore'`` flips without touching
the caption (only for captions known to hold no direction). Flipping is on with ``prob=0.5``
because a user lists this transform to get flips; leave it out of the pipeline for data with
writing or strong left-right semantics.
"""
import re

import numpy as np

from vidrd.registry import TRANSFORMS
from vidrd.utils.errors import InvalidValueError

_DIRECTION_PATTERN = re.compile(
    r'\b(counter-?clockwise|anti-?clockwise|clockwise|left|right)(wards?|most)?\b',
    flags=re.IGNORECASE)
_MIRROR = {'left': 'right', 'right': 'left', 'clockwise': 'counterclockwise',
           'counterclockwise': 'clockwise', 'counter-clockwise': 'clockwise',
           'anticlockwise': 'clockwise', 'anti-clockwise': 'clockwise'}


def _match_case(word: str, template: str) -> str:
    if template.isupper() and len(template) > 1:
        return word.upper()
    if template[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def mirror_caption(caption: str) -> str:
    """The caption of the left-right mirrored video: direction words swapped, case kept.

    >>> mirror_caption('A red circle moving Left, then turning clockwise')
    'A red circle moving Right, then turning counterclockwise'
    """
    def replace(match: 're.Match') -> str:
        root, suffix = match.group(1), match.group(2) or ''
        return _match_case(_MIRROR[root.lower()], root) + suffix
    return _DIRECTION_PATTERN.sub(replace, caption)


def has_direction_words(caption: str) -> bool:
    return _DIRECTION_PATTERN.search(caption) is not None


@TRANSFORMS.register_module()
class RandomHorizontalFlip:
    """Flip ``results['frames']`` (F, H, W, C) left-right with probability ``prob``.

    Args:
        prob: flip probability.
        direction_words: ``'swap'`` (default) swaps direction words in ``results['caption']``,
            ``'skip'`` does not flip clips whose caption holds one, ``'ignore'`` leaves the caption
            as it is. See the module docstring for why.

    Sets ``flip`` (bool) and, on a flip with ``'swap'``, updates ``caption`` (and a
    ``direction`` attribute, as MovingShapes gives).
    """

    def __init__(self, prob: float = 0.5, direction_words: str = 'swap'):
        if not 0.0 <= prob <= 1.0:
            raise InvalidValueError(f'prob must be in [0, 1], got {prob}')
        if direction_words not in ('swap', 'skip', 'ignore'):
            raise InvalidValueError("direction_words must be 'swap', 'skip' or 'ignore', "
                                    f'got {direction_words!r}')
        self.prob = prob
        self.direction_words = direction_words

    def __call__(self, results: dict) -> dict:
        caption = results.get('caption')
        flip = np.random.rand() < self.prob
        if flip and self.direction_words == 'skip' and caption and has_direction_words(caption):
            flip = False
        results['flip'] = bool(flip)
        if not flip:
            return results
        results['frames'] = np.ascontiguousarray(results['frames'][:, :, ::-1])
        if self.direction_words == 'swap':
            if caption:
                results['caption'] = mirror_caption(caption)
            # Ground-truth attributes (MovingShapes) must follow the mirrored motion too.
            if isinstance(results.get('direction'), str):
                results['direction'] = mirror_caption(results['direction'])
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(prob={self.prob}, '
                f'direction_words={self.direction_words!r})')

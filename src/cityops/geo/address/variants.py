"""Written variants of names: traditional characters, and one wrong character by sound.

- `to_simplified`: OpenCC's t2s conversion (the `OpenCC` package), so 松江區九亭鎮 reads as
  松江区九亭镇.
- `SoundMatcher`: finds the name a phone operator meant when one character was typed by its
  sound (石胡荡 for 石湖荡, 新滨 for 新浜): characters are compared by their toneless pinyin
  from `pypinyin`, every reading of a polyphonic character counted. It is only asked about the
  few characters in front of a division suffix (镇, 街道, 社区, 村…) that no exact name matched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import opencc
from pypinyin import Style, pinyin

_T2S = opencc.OpenCC("t2s")

#: Same-sounding character: the usual phone-operator slip.
HOMOPHONE_COST = 0.4
#: Near-same sound (Wu-accented or misheard: d/t, an/ang, z/zh…).
NEAR_COST = 0.6
#: Any other character.
OTHER_COST = 1.0
#: Pairs of initials and of finals that are easily confused.
_NEAR_INITIALS = {("d", "t"), ("b", "p"), ("g", "k"), ("z", "zh"), ("c", "ch"), ("s", "sh")}
_NEAR_INITIALS |= {("n", "l"), ("f", "h")}
_NEAR_FINALS = {("an", "ang"), ("en", "eng"), ("in", "ing"), ("ian", "iang"), ("uan", "uang")}
_INITIALS = ("zh", "ch", "sh", *"bpmfdtnlgkhjqxrzcsyw")
_HAN = re.compile(r"[\u4e00-\u9fff]")


#: Characters t2s leaves as they are, learnt as they are met: most text needs no conversion.
_UNCHANGED: set[str] = set()


def to_simplified(text: str) -> str:
    """Traditional characters to simplified ones (OpenCC t2s); other text unchanged."""
    if all(ch in _UNCHANGED or ch.isascii() for ch in text):
        return text
    converted: str = _T2S.convert(text)
    if converted == text:
        _UNCHANGED.update(text)  # set.update is atomic under the GIL: safe across threads
    return converted


@cache
def readings(char: str) -> frozenset[str]:
    """Every toneless pinyin reading of one character (empty for non-Han characters)."""
    if not _HAN.fullmatch(char):
        return frozenset()
    return frozenset(pinyin(char, style=Style.NORMAL, heteronym=True)[0])


def _split(syllable: str) -> tuple[str, str]:
    for initial in _INITIALS:
        if syllable.startswith(initial):
            return initial, syllable[len(initial) :]
    return "", syllable


def _near(a: str, b: str) -> bool:
    """Whether two syllables differ only by one easily confused initial or final."""
    (ia, fa), (ib, fb) = _split(a), _split(b)
    if fa == fb:
        return (ia, ib) in _NEAR_INITIALS or (ib, ia) in _NEAR_INITIALS
    if ia == ib:
        return (fa, fb) in _NEAR_FINALS or (fb, fa) in _NEAR_FINALS
    return False


@cache
def char_cost(written: str, meant: str) -> float:
    """How far a written character is from the one meant: 0, homophone, near sound, other."""
    if written == meant:
        return 0.0
    a, b = readings(written), readings(meant)
    if a & b:
        return HOMOPHONE_COST
    if any(_near(x, y) for x in a for y in b):
        return NEAR_COST
    return OTHER_COST


def name_cost(written: str, meant: str) -> float:
    """The summed character costs of two names of the same length."""
    return sum(char_cost(w, m) for w, m in zip(written, meant, strict=True))


def allowed_cost(length: int) -> float:
    """The most a name of this length may be off: one homophone in two characters, else one
    character (or a homophone and a near sound)."""
    return HOMOPHONE_COST if length <= 2 else OTHER_COST


@dataclass(frozen=True, slots=True)
class SoundMatch:
    """The name a written stem was taken for, and how far off it was."""

    written: str
    name: str
    cost: float


class SoundMatcher:
    """Names by length, to match a written stem against those it may be a typo of."""

    def __init__(self, names: Iterable[str]) -> None:
        # (length, position, character) → names: a name within the allowed cost shares at
        # least one character in place with the text, so only those names are scored.
        self._index: dict[tuple[int, int, str], list[str]] = {}
        for name in sorted(set(names)):
            if 2 <= len(name) <= 6 and all(_HAN.fullmatch(ch) for ch in name):
                for at, ch in enumerate(name):
                    self._index.setdefault((len(name), at, ch), []).append(name)

    def _candidates(self, written: str) -> set[str]:
        found: set[str] = set()
        for at, ch in enumerate(written):
            found.update(self._index.get((len(written), at, ch), ()))
        return found

    def best(self, written: str) -> SoundMatch | None:
        """The one name within the allowed cost that is clearly closest, else None."""
        limit = allowed_cost(len(written))
        scored = sorted(
            (cost, name)
            for name in self._candidates(written)
            if (cost := name_cost(written, name)) <= limit and cost > 0
        )
        if not scored:
            return None
        if len(scored) > 1 and scored[1][0] - scored[0][0] < 0.3:
            return None  # two names about as close: do not guess
        return SoundMatch(written, scored[0][1], scored[0][0])

    def find(self, text: str, end: int, floor: int = 0) -> SoundMatch | None:
        """The closest match among the stems of 2 to 4 characters ending at `end`, none of them
        reaching before `floor`; ties go to the longer stem."""
        found: list[SoundMatch] = []
        for length in (4, 3, 2):
            start = end - length
            stem = text[start:end]
            if start < floor or not all(_HAN.fullmatch(ch) for ch in stem):
                continue
            match = self.best(stem)
            if match is not None:
                found.append(match)
        return min(found, key=lambda m: m.cost, default=None)

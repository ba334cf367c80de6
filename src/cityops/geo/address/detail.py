"""The details of an address outside its division names: road, 弄, 支弄, 号, 幢, 室 and 组."""

from __future__ import annotations

import re
from collections.abc import Sequence

from cityops.geo.address.model import Hit, ParsedAddress

ROAD_SUFFIXES = ("公路", "大道", "大街", "路", "街", "巷", "弄")
_ROAD = re.compile(r"(?<![0-9A-Z])([\u4e00-\u9fff]{1,15}?(?:公路|大道|大街|路|街(?!道)|巷|弄))")
#: Words that end a place name before a road; the road starts after the last of them.
_ESTATE = re.compile(r".*(?:小区|花园|家园|新村|公寓|大厦|广场)")
_ID = r"(\d+[A-Z]?)"
_DETAIL_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("sublane", re.compile(rf"{_ID}支弄")),
    ("lane", re.compile(rf"{_ID}弄")),
    ("building", re.compile(rf"{_ID}(?:号楼|幢|栋|座)")),
    ("village_group", re.compile(r"(\d+)(?:村民小组|组|队)")),
    ("number", re.compile(rf"{_ID}号")),
    ("room", re.compile(rf"{_ID}室")),
)
_TRAILING_ID = re.compile(rf"{_ID}$")


def without(text: str, hits: Sequence[Hit]) -> str:
    """The text outside the hits, pieces joined by '|' so no token spans a removed name."""
    pieces: list[str] = []
    at = 0
    for hit in hits:
        pieces.append(text[at : hit.start])
        at = hit.end
    pieces.append(text[at:])
    return "|".join(pieces)


def _take(pattern: re.Pattern[str], rest: str) -> tuple[str | None, str]:
    """The first group of the first match, and the text with the match cut out."""
    found = pattern.search(rest)
    if found is None:
        return None, rest
    return found.group(1), rest[: found.start()] + "|" + rest[found.end() :]


def parse_detail(parsed: ParsedAddress, rest: str) -> None:
    """Road, 弄, 支弄, 号, 幢, 室 and 组 from the text outside the division names."""
    road, rest = _take(_ROAD, rest)
    if road is not None:
        road = _ESTATE.sub("", road)
        parsed.road = road if len(road) >= 2 and road not in ROAD_SUFFIXES else None
    for name, pattern in _DETAIL_RULES:
        value, rest = _take(pattern, rest)
        if value is not None:
            setattr(parsed, name, value)
    trailing = _TRAILING_ID.search(rest)
    if trailing is not None:  # 涞亭南路123 → 号 123; 45号301 → 室 301
        if parsed.number is None:
            parsed.number = trailing.group(1)
        elif parsed.room is None:
            parsed.room = trailing.group(1)

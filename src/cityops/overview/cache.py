"""A short-lived cache of computed overview parts, dropped by the case events of an area.

Keyed by (area code, the caller's case access, part, org-tree version): two callers with the same
scope share entries, a town never reads the district's. Bounded (LRU), so a screen running for
days cannot grow it. Case events drop the live parts of every area the case lies in at once (in
this process); the TTL bounds what another process's events or the passing of time leave stale.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cityops.overview.labels import STATIC_PARTS
from cityops.overview.schemas import Part

#: Lengths of the codes of a district, a unit, a community and a grid.
AREA_CODE_LENGTHS = (6, 9, 12, 15)


@dataclass(frozen=True, slots=True)
class CacheKey:
    """Which part of which area, computed for which reach, on which tree."""

    code: str
    access: tuple[object, ...]
    part: str
    tree_version: str


def areas_of(codes: Iterable[str | None]) -> set[str]:
    """Every area code a case with these codes lies in or is owned under (their prefixes)."""
    found: set[str] = set()
    for code in codes:
        if not code:
            continue
        found.update(code[:n] for n in AREA_CODE_LENGTHS if len(code) >= n)
    return found


class PartCache:
    """Parts by key for `ttl` seconds, at most `max_entries` of them."""

    def __init__(
        self, ttl: float, max_entries: int = 4096, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self._clock = clock
        self.max_entries = max_entries
        self._entries: OrderedDict[CacheKey, tuple[float, Part]] = OrderedDict()
        #: Moves on every drop: a computation begun before it does not store its result.
        self.generation = 0

    @property
    def enabled(self) -> bool:
        """Whether anything is kept at all."""
        return self.ttl > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: CacheKey) -> Part | None:
        """A fresh part, or None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] < self._clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: CacheKey, part: Part, generation: int) -> None:
        """Keep a part computed at `generation`, unless something was dropped since."""
        if not self.enabled or generation != self.generation:
            return
        self._entries[key] = (self._clock() + self.ttl, part)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def drop_areas(self, areas: set[str]) -> int:
        """Drop the live parts of these areas; return how many entries went."""
        self.generation += 1
        stale = [k for k in self._entries if k.code in areas and k.part not in STATIC_PARTS]
        for key in stale:
            del self._entries[key]
        return len(stale)

    def clear(self) -> None:
        """Drop everything."""
        self.generation += 1
        self._entries.clear()

"""Stems matched by sound in front of a division suffix that no exact name covers.

石胡塘镇: no name ends right before 镇, so the stems of 2 to 4 characters before it are compared
by sound with our units' (and the outside towns') stems (`cityops.geo.address.variants`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from cityops.geo.address.model import Alias, Form, Hit, Kind, ParsedAddress, strongest
from cityops.geo.address.variants import SoundMatcher

#: Suffixes after which an unmatched stem is matched by sound: a unit's, a community's.
UNIT_SUFFIX = re.compile(r"街道|镇|乡")
_SUFFIX = re.compile(r"(?P<unit>街道|镇|乡)|(?P<community>社区|居委|村委|村(?!民小组))")


class SoundNames:
    """Stems matched by sound in front of an unmatched division suffix (see the docstring)."""

    def __init__(self, aliases: Sequence[Alias]) -> None:
        units: dict[str, list[Alias]] = {}
        communities: dict[str, list[Alias]] = {}
        for alias in aliases:
            if alias.form not in (Form.BARE, Form.WEAK):
                continue
            if alias.kind in (Kind.UNIT, Kind.FORMER) or _outside_town(alias):
                units.setdefault(alias.key, []).append(alias)
            elif alias.kind is Kind.COMMUNITY:
                communities.setdefault(alias.key, []).append(alias)
        self._groups = {
            "unit": (units, SoundMatcher(units)),
            "community": (communities, SoundMatcher(communities)),
        }
        by_key: dict[str, list[Alias]] = {}
        for alias in aliases:
            by_key.setdefault(alias.key, []).append(alias)
        hits = [Hit(0, 0, key, strongest(group)) for key, group in by_key.items()]
        self._ours = {hit.key for hit in hits if _is_ours(hit)}
        self._stems_only = {hit.key for hit in hits if _community_stem(hit)}

    def not_towns(self, parsed: ParsedAddress, hits: list[Hit]) -> list[Hit]:
        """Drop a community's stem written as a town (新乐镇: 新乐 is a community of ours, but no
        town of ours is called so): the writer means a town we do not know."""
        kept = []
        for hit in hits:
            if hit.key in self._stems_only and UNIT_SUFFIX.match(parsed.normalised, hit.end):
                parsed.notes.append(f"{hit.key} followed by a town suffix is no town of ours")
                continue
            kept.append(hit)
        return kept

    def add(self, parsed: ParsedAddress, hits: list[Hit]) -> list[Hit]:
        """The hits plus those found by sound before suffixes that no hit covers."""
        text = parsed.normalised
        found: list[Hit] = []
        ours = [h for h in hits if h.key in self._ours]
        for match in _SUFFIX.finditer(text):
            at = match.start()
            floor = max((h.end for h in [*ours, *found] if h.start < at), default=0)
            if floor >= at:
                continue  # the suffix belongs to a name already found
            stems, matcher = self._groups[match.lastgroup or "unit"]
            sound = matcher.find(text, at, floor=floor)
            if sound is None:
                continue
            aliases = tuple(Alias(a.key, a.kind, a.code, Form.SOUND) for a in stems[sound.name])
            found.append(Hit(at - len(sound.written), match.end(), sound.name, aliases))
            parsed.notes.append(f"{sound.written} read as {sound.name} (by its sound)")
        if not found:
            return hits
        kept = [h for h in hits if not any(h.start < f.end and f.start < h.end for f in found)]
        return sorted([*kept, *found], key=lambda h: h.start)


def _outside_town(alias: Alias) -> bool:
    """Whether an alias is an outside township (9-digit code), not a community or an area."""
    return alias.kind is Kind.OUTSIDE and len(alias.code) == 9 and alias.code.isdigit()


def _community_stem(hit: Hit) -> bool:
    """Whether a name is only a community's stem (新乐, 焦家), ours or elsewhere."""
    return all(
        (a.kind is Kind.COMMUNITY and a.form in (Form.BARE, Form.WEAK))
        or (a.kind is Kind.OUTSIDE and len(a.code) == 12)
        for a in hit.aliases
    )


def _is_ours(hit: Hit) -> bool:
    """Whether a hit is a name of ours that a stem matched by sound may not reach into: a
    province, district or unit, or a community's full name (a bare stem such as 四村 in
    兰天四村社区 may be part of the mistyped name)."""
    return any(
        a.kind is not Kind.OUTSIDE
        and (a.kind is not Kind.COMMUNITY or a.form in (Form.OFFICIAL, Form.SUFFIXED))
        for a in hit.aliases
    )

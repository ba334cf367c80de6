"""The data types of address parsing: kinds and forms of names, hits, the parsed address."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    """What a name in the gazetteer denotes."""

    PROVINCE = "province"
    DISTRICT = "district"
    FOREIGN = "foreign_district"  # another district of Shanghai
    UNIT = "unit"
    COMMUNITY = "community"
    FORMER = "former_unit"  # a town merged into one of ours (五厍镇 → 泖港镇): the unit
    OUTSIDE = "outside"  # a township, county, city or province outside Shanghai's districts


class Form(StrEnum):
    """How a name was written; shorter forms are weaker evidence."""

    OFFICIAL = "official"  # the official name: 九亭镇, 张泾社区居委会
    SUFFIXED = "suffixed"  # another standard suffix: 张泾社区, 张泾居委会, 焦家村
    BARE = "bare"  # the stem alone: 九亭, 张泾
    WEAK = "weak"  # a village's stem without 村 (焦家): only read as such inside its unit
    SOUND = "sound"  # one character off by its sound (石胡荡镇 for 石湖荡镇)


#: Confidence factor per form of the name that placed the address.
FORM_FACTOR = {
    Form.OFFICIAL: 1.0,
    Form.SUFFIXED: 1.0,
    Form.BARE: 0.95,
    Form.WEAK: 0.85,
    Form.SOUND: 0.7,
}


@dataclass(frozen=True, slots=True)
class Division:
    """A district, township-level unit or community known to the gazetteer."""

    code: str
    name: str
    kind: Kind
    parent_code: str | None = None
    village: bool = False  # a village committee (村委会)
    virtual: bool = False  # a zone's virtual community (虚拟社区)


@dataclass(frozen=True, slots=True)
class Alias:
    """One written form of a division's name."""

    key: str
    kind: Kind
    code: str
    form: Form


@dataclass(frozen=True, slots=True)
class Hit:
    """A gazetteer name found at text[start:end], with every division it can denote."""

    start: int
    end: int
    key: str
    aliases: tuple[Alias, ...]

    def of_kind(self, *kinds: Kind) -> list[Alias]:
        """The readings of this hit of the given kinds."""
        return [a for a in self.aliases if a.kind in kinds]


@dataclass(frozen=True, slots=True)
class Named:
    """A division as a component of an address."""

    code: str
    name: str


@dataclass(slots=True)
class ParsedAddress:
    """The components of one address, and how sure the parse is of them."""

    input: str
    normalised: str
    province: str | None = None
    district: Named | None = None
    unit: Named | None = None
    community: Named | None = None
    road: str | None = None
    lane: str | None = None
    sublane: str | None = None
    number: str | None = None
    building: str | None = None
    room: str | None = None
    village_group: str | None = None
    outside: str | None = None  # another district of Shanghai named in the address
    unit_form: Form | None = None
    community_form: Form | None = None
    inferred: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    alternatives: list[Named] = field(default_factory=list)
    ambiguous: bool = False  # the text fits several places; `alternatives` lists them
    factor: float = 1.0  # product of the confidence factors of the rules applied

    def penalise(self, factor: float, note: str) -> None:
        """Lower the confidence and say why."""
        self.factor *= factor
        self.notes.append(note)


def strongest(aliases: Iterable[Alias]) -> tuple[Alias, ...]:
    """One alias per (kind, code): the strongest form."""
    order = list(Form)
    best: dict[tuple[Kind, str], Alias] = {}
    for alias in aliases:
        seen = best.get((alias.kind, alias.code))
        if seen is None or order.index(alias.form) < order.index(seen.form):
            best[(alias.kind, alias.code)] = alias
    return tuple(best.values())

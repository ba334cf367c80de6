"""Parse Songjiang addresses into components with explicit, readable rules.

An address such as 上海市松江区九亭镇九亭家园社区居委会涞亭南路123弄45号301室 is read in
three steps:

1. **Normalise** (`normalise`): NFKC folds full-width digits, letters and punctuation to their
   half-width forms; spaces, punctuation and brackets are dropped; ``#`` is read as 号, a
   trailing ``45-301`` as 45号301室, Chinese numerals in front of 号, 组, 弄, 幢, 室… become
   digits (三号 → 3号, 第十二组 → 12组), and ASCII letters are upper-cased.
2. **Names** (`NameMatcher`): one Aho-Corasick automaton over every name of the gazetteer:
   上海市, the district, its township-level units and its communities, each under its official
   name and the forms derived from it by rule (`unit_aliases`, `community_aliases`). Hits are
   taken leftmost-longest, so 西新桥 wins over 新桥 and 佘山度假区 over 佘山. A short form right
   before a road suffix is part of a road name, not a division: 中山 in 中山中路, 涞亭 in
   涞亭南路, 九亭 in 九亭大街.
3. **Resolve** (`AddressParser._resolve`): the unit is the first unit named; a short name
   that is both a unit and a community (泖港, 九里亭) is the unit unless a unit came before it.
   Communities are narrowed by the unit, then by the village form (N组 favours 村委会). A
   reading picked by context is noted and the others are listed as alternatives; what stays
   ambiguous is not picked at all. A community whose unit differs from the named unit is
   dropped with a note. Every such step multiplies `ParsedAddress.factor`, which the geocoder
   turns into a confidence.

The rest of the text (everything outside the division names) gives the road
(…路/街/公路/大道/巷, or a named 弄 such as 黑鱼弄), 弄, 支弄, 号, 幢/栋/号楼, 室 and 组.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import ahocorasick

#: The other districts of Shanghai: an address naming one of them is outside our gazetteer.
SHANGHAI_DISTRICTS = (
    "黄浦区",
    "徐汇区",
    "长宁区",
    "静安区",
    "普陀区",
    "虹口区",
    "杨浦区",
    "闵行区",
    "宝山区",
    "嘉定区",
    "浦东新区",
    "金山区",
    "松江区",
    "青浦区",
    "奉贤区",
    "崇明区",
)
PROVINCE = "上海市"

#: Other names of the development zones, in public use beside the division name.
ZONE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "佘山度假区": ("佘山国家旅游度假区", "佘山旅游度假区"),
    "松江工业区": ("松江经济技术开发区",),
}

#: Characters folded to the form the official names use.
_VARIANTS = str.maketrans({"邨": "村", "峯": "峰"})
_NUMERAL_DIGITS = str.maketrans("一二三四五六七八九", "123456789")
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4}
_CN_DIGITS |= {"五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}

_SPACE = re.compile(r"\s+")
_DASH_ROOM = re.compile(r"(\d+)[-‐‑‒–—―−](\d+)室?$")
_NUMBER_SUFFIX = r"(?:支弄|弄|号楼|号|组|队|幢|栋|室|村民小组)"
_CN_NUMBER = re.compile(rf"[零〇一二两三四五六七八九十百千]+(?={_NUMBER_SUFFIX})")
_ORDINAL = re.compile(r"第(?=\d)")
_NUMBERED_CUN = re.compile(r"[一二三四五六七八九](?=村)")

#: Text right after a short name that makes the name part of a road (中山 in 中山东路).
_ROAD_AFTER = re.compile(
    r"(?:[东西南北中一二三四五六七八九]|[塘泾浜港河桥湾])?(?:公路|大道|大街|路|街(?!道)|巷)"
)
_ROAD_SUFFIXES = ("公路", "大道", "大街", "路", "街", "巷", "弄")
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


class Kind(StrEnum):
    """What a name in the gazetteer denotes."""

    PROVINCE = "province"
    DISTRICT = "district"
    FOREIGN = "foreign_district"  # another district of Shanghai
    UNIT = "unit"
    COMMUNITY = "community"


class Form(StrEnum):
    """How a name was written; shorter forms are weaker evidence."""

    OFFICIAL = "official"  # the official name: 九亭镇, 张泾社区居委会
    SUFFIXED = "suffixed"  # another standard suffix: 张泾社区, 张泾居委会, 焦家村
    BARE = "bare"  # the stem alone: 九亭, 张泾
    WEAK = "weak"  # a village's stem without 村 (焦家): only read as such inside its unit


#: Confidence factor per form of the name that placed the address.
FORM_FACTOR = {Form.OFFICIAL: 1.0, Form.SUFFIXED: 1.0, Form.BARE: 0.95, Form.WEAK: 0.85}


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
    factor: float = 1.0  # product of the confidence factors of the rules applied

    def penalise(self, factor: float, note: str) -> None:
        """Lower the confidence and say why."""
        self.factor *= factor
        self.notes.append(note)


# --- normalisation ------------------------------------------------------------------------------


def chinese_number(text: str) -> int:
    """The value of a Chinese numeral: 十二 → 12, 一百零五 → 105, 二〇一 → 201."""
    if not any(ch in _CN_UNITS for ch in text):
        return int("".join(str(_CN_DIGITS[ch]) for ch in text))
    total, digit = 0, 0
    for ch in text:
        if ch in _CN_UNITS:
            total += (digit or 1) * _CN_UNITS[ch]
            digit = 0
        else:
            digit = _CN_DIGITS[ch]
    return total + digit


def _fold_char(ch: str) -> str:
    """Drop punctuation and symbols; keep letters, digits and CJK."""
    return "" if unicodedata.category(ch)[0] in "PSCZ" else ch


def normalise(text: str) -> str:
    """Fold an address to the form the rules read (see the module docstring)."""
    folded = _SPACE.sub("", unicodedata.normalize("NFKC", text))
    folded = _DASH_ROOM.sub(r"\1号\2室", folded).replace("#", "号")
    folded = "".join(map(_fold_char, folded))
    folded = _CN_NUMBER.sub(lambda m: str(chinese_number(m.group(0))), folded)
    return _ORDINAL.sub("", folded).translate(_VARIANTS).upper()


def normalise_name(name: str) -> str:
    """Fold a gazetteer name the way `normalise` folds the text it is searched in."""
    return "".join(map(_fold_char, unicodedata.normalize("NFKC", name))).translate(_VARIANTS)


# --- aliases by rule ----------------------------------------------------------------------------


def district_aliases(district: Division) -> list[tuple[str, Form]]:
    """松江区 → 松江区, 松江."""
    stem = district.name.removesuffix("新区").removesuffix("区")
    return [(district.name, Form.OFFICIAL), (stem, Form.BARE)]


def unit_aliases(unit: Division) -> list[tuple[str, Form]]:
    """九亭镇 → 九亭; 岳阳街道 → 岳阳; 上海松江出口加工区 → 松江出口加工区; zone synonyms."""
    forms = [(unit.name, Form.OFFICIAL)]
    for suffix in ("街道", "镇", "乡"):
        stem = unit.name.removesuffix(suffix)
        if stem != unit.name and len(stem) >= 2:
            forms.append((stem, Form.BARE))
    if unit.name.startswith("上海") and len(unit.name) > 4:
        forms.append((unit.name.removeprefix("上海"), Form.SUFFIXED))
    forms.extend((synonym, Form.SUFFIXED) for synonym in ZONE_SYNONYMS.get(unit.name, ()))
    return forms


def _residents_aliases(stem: str) -> list[tuple[str, Form]]:
    """张泾 → 张泾社区居委会, 张泾居委会, 张泾社区, 张泾居委…, and 张泾 unless it is a road."""
    suffixes = ("社区居委会", "社区居民委员会", "社区居委", "居民委员会", "居委会", "社区", "居委")
    forms = [(stem + suffix, Form.SUFFIXED) for suffix in suffixes]
    if len(stem) >= 2 and not stem.endswith(_ROAD_SUFFIXES):
        forms.append((stem, Form.BARE))  # 景德路 alone is the road, not the committee
    return forms


def _village_aliases(village: str) -> list[tuple[str, Form]]:
    """焦家村 → 焦家村村委会, 焦家村委会, 焦家村村民委员会, 焦家村, and 焦家 (weak)."""
    forms = [
        (village + "村委会", Form.SUFFIXED),
        (village + "村民委员会", Form.SUFFIXED),
        (village + "委会", Form.SUFFIXED),
        (village, Form.SUFFIXED),
    ]
    stem = village.removesuffix("村")
    if len(stem) >= 2:
        forms.append((stem, Form.WEAK))
    return forms


def community_aliases(community: Division) -> list[tuple[str, Form]]:
    """The official name, its suffix variants, its stem, and digit forms (蓝天一村 → 蓝天1村)."""
    name = community.name
    forms = [(name, Form.OFFICIAL)]
    if community.virtual:
        return forms
    if community.village and name.endswith("村委会"):
        forms += _village_aliases(name.removesuffix("村委会"))
    else:
        for suffix in ("社区居委会", "居委会"):
            if name.endswith(suffix):
                forms += _residents_aliases(name.removesuffix(suffix))
                break
    digits = [(_village_digits(k), f) for k, f in forms]
    return forms + [(k, f) for k, f in digits if (k, f) not in forms]


def _village_digits(name: str) -> str:
    """蓝天一村 → 蓝天1村: the digit form of a numbered estate (新村)."""
    return _NUMBERED_CUN.sub(lambda m: m.group(0).translate(_NUMERAL_DIGITS), name)


def gazetteer_aliases(divisions: Iterable[Division]) -> list[Alias]:
    """Every written form of every division, plus 上海市 and Shanghai's other districts."""
    aliases = [Alias(PROVINCE, Kind.PROVINCE, "31", Form.OFFICIAL)]
    aliases.append(Alias("上海", Kind.PROVINCE, "31", Form.BARE))
    ours = set()
    for division in divisions:
        if division.kind is Kind.DISTRICT:
            forms = district_aliases(division)
            ours.add(division.name)
        elif division.kind is Kind.UNIT:
            forms = unit_aliases(division)
        else:
            forms = community_aliases(division)
        for key, form in forms:
            aliases.append(Alias(normalise_name(key), division.kind, division.code, form))
    for name in SHANGHAI_DISTRICTS:
        if name not in ours:
            foreign = Division(name, name, Kind.FOREIGN)  # named by its name: no code here
            aliases += [Alias(k, Kind.FOREIGN, name, f) for k, f in district_aliases(foreign)]
    return aliases


# --- the name matcher ---------------------------------------------------------------------------


def _strongest(aliases: Iterable[Alias]) -> tuple[Alias, ...]:
    """One alias per (kind, code): the strongest form."""
    order = list(Form)
    best: dict[tuple[Kind, str], Alias] = {}
    for alias in aliases:
        seen = best.get((alias.kind, alias.code))
        if seen is None or order.index(alias.form) < order.index(seen.form):
            best[(alias.kind, alias.code)] = alias
    return tuple(best.values())


class NameMatcher:
    """Aho-Corasick over the gazetteer's names; hits leftmost-longest, road names excluded."""

    def __init__(self, aliases: Iterable[Alias]) -> None:
        by_key: dict[str, list[Alias]] = {}
        for alias in aliases:
            if alias.key:
                by_key.setdefault(alias.key, []).append(alias)
        self._automaton = ahocorasick.Automaton()
        for key, group in by_key.items():
            self._automaton.add_word(key, (key, _strongest(group)))
        self._automaton.make_automaton()

    def _all_hits(self, text: str) -> Iterator[Hit]:
        """Every occurrence of every key, short forms inside road names left out."""
        for end, (key, aliases) in self._automaton.iter(text):
            start = end + 1 - len(key)
            hit = Hit(start, end + 1, key, aliases)
            if _in_road_name(hit, text):
                continue
            yield hit

    def find(self, text: str) -> list[Hit]:
        """Non-overlapping hits, leftmost first and longest at each place."""
        chosen: list[Hit] = []
        reach = 0
        for hit in sorted(self._all_hits(text), key=lambda h: (h.start, -h.end)):
            if hit.start >= reach:
                chosen.append(hit)
                reach = hit.end
        return chosen


def _in_road_name(hit: Hit, text: str) -> bool:
    """Whether a short form starts a road name (中山东路, 九亭大街, 新泾路) or a river (黄浦江)."""
    if all(a.form in (Form.OFFICIAL, Form.SUFFIXED) for a in hit.aliases):
        return False
    if hit.of_kind(Kind.FOREIGN) and text.startswith("江", hit.end):
        return True
    return _ROAD_AFTER.match(text, hit.end) is not None


# --- the parser ---------------------------------------------------------------------------------


class AddressParser:
    """Parse addresses against a gazetteer of one district (see the module docstring)."""

    def __init__(self, divisions: Iterable[Division]) -> None:
        self.divisions = {d.code: d for d in divisions}
        self.district = next((d for d in self.divisions.values() if d.kind is Kind.DISTRICT), None)
        self.matcher = NameMatcher(gazetteer_aliases(self.divisions.values()))

    def named(self, code: str) -> Named:
        """A division of the gazetteer as a component."""
        return Named(code, self.divisions[code].name)

    def parse(self, text: str) -> ParsedAddress:
        """Split one address into its components."""
        parsed = ParsedAddress(input=text, normalised=normalise(text))
        hits = self.matcher.find(parsed.normalised)
        rest = _without(parsed.normalised, hits)
        _parse_detail(parsed, rest)
        self._resolve(parsed, hits)
        return parsed

    def parse_many(self, texts: Sequence[str]) -> list[ParsedAddress]:
        """Parse a batch; the same as parsing each one."""
        return [self.parse(text) for text in texts]

    # Resolution rules, in order. Each is small and says what it assumed.

    def _resolve(self, parsed: ParsedAddress, hits: list[Hit]) -> None:
        """Province, district, unit and community from the hits."""
        if any(h.of_kind(Kind.PROVINCE) for h in hits):
            parsed.province = PROVINCE
        if self._outside(parsed, hits):
            return
        remaining = self._pick_unit(parsed, hits)
        self._pick_community(parsed, remaining)
        self._fill_parents(parsed)

    def _outside(self, parsed: ParsedAddress, hits: list[Hit]) -> bool:
        """Rule 1: if another district of Shanghai is named before any of ours, stop there."""
        for hit in hits:
            if hit.of_kind(Kind.DISTRICT):
                parsed.district = self.named(hit.of_kind(Kind.DISTRICT)[0].code)
                return False
            if hit.of_kind(Kind.UNIT, Kind.COMMUNITY):
                return False
            if hit.of_kind(Kind.FOREIGN):
                parsed.outside = hit.of_kind(Kind.FOREIGN)[0].code
                parsed.notes.append(f"the address is in {parsed.outside}, outside the gazetteer")
                return True
        return False

    def _pick_unit(self, parsed: ParsedAddress, hits: list[Hit]) -> list[Hit]:
        """Rule 2: take the first unit named; return the hits left to read as communities."""
        remaining: list[Hit] = []
        for hit in hits:
            units = hit.of_kind(Kind.UNIT)
            communities = hit.of_kind(Kind.COMMUNITY)
            if not units:
                if communities:
                    remaining.append(hit)
                continue
            if parsed.unit is None:
                parsed.unit, parsed.unit_form = self.named(units[0].code), units[0].form
                continue
            if communities:  # 泖港镇泖港…: a second 泖港 after the unit is the community
                remaining.append(hit)
            elif units[0].code != parsed.unit.code:
                parsed.penalise(0.7, f"several units named; kept {parsed.unit.name}")
        return remaining

    def _pick_community(self, parsed: ParsedAddress, hits: list[Hit]) -> None:
        """Rule 3: the first hit that narrows to one community in the unit is the community."""
        for hit in hits:
            readings = self._narrow(parsed, hit)
            if len(readings) == 1:
                if parsed.community is None:
                    parsed.community = self.named(readings[0].code)
                    parsed.community_form = readings[0].form
                    if readings[0].form is Form.WEAK and len(hit.of_kind(Kind.COMMUNITY)) == 1:
                        parsed.notes.append(f"{hit.key} read as {parsed.community.name}")
                elif readings[0].code != parsed.community.code:
                    parsed.penalise(0.8, f"several communities named; kept {parsed.community.name}")
            elif len(readings) > 1 and parsed.community is None:
                parsed.alternatives = [self.named(a.code) for a in readings]
                parsed.penalise(0.7, f"{hit.key} may be any of {len(readings)} communities")

    def _narrow(self, parsed: ParsedAddress, hit: Hit) -> list[Alias]:
        """The community readings of a hit that fit the unit and the form of the address."""
        readings = hit.of_kind(Kind.COMMUNITY)
        unit = parsed.unit
        if unit is None:  # a village stem without its unit counts only before N组
            if parsed.village_group is None:
                readings = [a for a in readings if a.form is not Form.WEAK]
            return self._prefer(parsed, hit, readings)
        inside = [a for a in readings if self.divisions[a.code].parent_code == unit.code]
        strong = [a for a in readings if a.form is not Form.WEAK]
        if not inside and strong:
            where = self.divisions.get(self.divisions[strong[0].code].parent_code or "")
            elsewhere = where.name if where else "another unit"
            parsed.penalise(0.8, f"{hit.key} is in {elsewhere}, not {unit.name}: left out")
        return self._prefer(parsed, hit, inside)

    def _prefer(self, parsed: ParsedAddress, hit: Hit, readings: list[Alias]) -> list[Alias]:
        """Among several readings: villages when the address has 组, then the strongest form."""
        if len(readings) > 1 and parsed.village_group is not None:
            villages = [a for a in readings if self.divisions[a.code].village]
            readings = villages or readings
        if len(readings) > 1:
            strong = [a for a in readings if a.form is not Form.WEAK]
            readings = strong or readings
        if len(readings) == 1 and len(hit.of_kind(Kind.COMMUNITY)) > 1:
            chosen = readings[0].code
            others = [a.code for a in hit.of_kind(Kind.COMMUNITY) if a.code != chosen]
            parsed.alternatives = [self.named(code) for code in others]
            parsed.penalise(0.9, f"{hit.key} read as {self.divisions[chosen].name}")
        return readings

    def _fill_parents(self, parsed: ParsedAddress) -> None:
        """Rule 4: a community implies its unit, a unit implies the district."""
        if parsed.community is not None and parsed.unit is None:
            parent = self.divisions[parsed.community.code].parent_code
            if parent in self.divisions:
                parsed.unit = self.named(parent)
                parsed.inferred.append("unit")
                parsed.factor *= 0.95
        if parsed.unit is not None and parsed.district is None and self.district is not None:
            parsed.district = self.named(self.district.code)
            parsed.inferred.append("district")


def _without(text: str, hits: Sequence[Hit]) -> str:
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


def _parse_detail(parsed: ParsedAddress, rest: str) -> None:
    """Road, 弄, 支弄, 号, 幢, 室 and 组 from the text outside the division names."""
    road, rest = _take(_ROAD, rest)
    if road is not None:
        road = _ESTATE.sub("", road)
        parsed.road = road if len(road) >= 2 and road not in _ROAD_SUFFIXES else None
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

"""Parse Songjiang addresses into components with explicit, readable rules.

An address such as 上海市松江区九亭镇九亭家园社区居委会涞亭南路123弄45号301室 is read in
three steps:

1. **Normalise** (`normalise`): traditional characters become simplified (OpenCC t2s); NFKC
   folds full-width digits, letters and punctuation to their half-width forms; spaces,
   punctuation and brackets are dropped; ``#`` is read as 号, a trailing ``45-301`` as
   45号301室, Chinese numerals in front of 号, 组, 弄, 幢, 室… become digits (三号 → 3号,
   第十二组 → 12组), and ASCII letters are upper-cased.
2. **Names** (`NameMatcher`): one Aho-Corasick automaton over every name the parser knows:
   上海市, the district, its township-level units and its communities, each under its official
   name and the forms derived from it by rule (`unit_aliases`, `community_aliases`); towns
   merged into our units (五厍镇); and the names it must not read as ours: Shanghai's other
   districts, every township of them and of the neighbouring counties, those counties, their
   cities and provinces (`cityops.geo.address.names`). Hits are taken leftmost-longest, so 西新桥
   wins over 新桥 and 佘山度假区 over 佘山. A short form right before a road suffix is part of a
   road name, not a division: 中山 in 中山中路, 涞亭 in 涞亭南路, 九亭 in 九亭大街. A stem in
   front of a division suffix (镇, 街道, 社区, 村…) that no name matched is matched by sound,
   one character off at most (`sound`, `variants`): 石胡荡镇 → 石湖荡镇.
3. **Resolve** (`cityops.geo.address.resolve`): an address outside the district stops there;
   the unit is the first unit (or former town) named; a short name that is both a unit and a
   community (泖港, 九里亭) is the unit unless a unit came before it. Communities are narrowed
   by the unit (or found under the unit they were split from), then by the village form (N组
   favours 村委会). A reading picked by context is noted and the others are listed as
   alternatives; what stays ambiguous is not picked at all (`ambiguous`). Every such step
   multiplies `ParsedAddress.factor`, which the geocoder turns into a confidence.

The rest of the text (everything outside the division names) gives the road
(…路/街/公路/大道/巷, or a named 弄 such as 黑鱼弄), 弄, 支弄, 号, 幢/栋/号楼, 室 and 组.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence

import ahocorasick

from cityops.geo.address import names as address_names
from cityops.geo.address.detail import ROAD_SUFFIXES as _ROAD_SUFFIXES
from cityops.geo.address.detail import parse_detail, without
from cityops.geo.address.resolve import PROVINCE, Resolver
from cityops.geo.address.sound import SoundNames
from cityops.geo.address.variants import to_simplified

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
from cityops.geo.address.model import (  # noqa: E402  (re-exported: the parser's types)
    FORM_FACTOR,
    Alias,
    Division,
    Form,
    Hit,
    Kind,
    Named,
    ParsedAddress,
    strongest,
)

__all__ = [
    "FORM_FACTOR",
    "AddressParser",
    "Alias",
    "Division",
    "Form",
    "Hit",
    "Kind",
    "Named",
    "ParsedAddress",
    "normalise",
]


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


def normalise(text: str, *, simplify: bool = True) -> str:
    """Fold an address to the form the rules read (see the module docstring)."""
    text = to_simplified(text) if simplify else text
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


def former_aliases(merged: dict[str, str]) -> list[Alias]:
    """五厍镇 (merged into 泖港镇) → 五厍镇 and 五厍, both meaning the unit it became."""
    aliases = []
    for name, unit in merged.items():
        forms = unit_aliases(Division(unit, name, Kind.FORMER))
        aliases += [Alias(normalise_name(k), Kind.FORMER, unit, f) for k, f in forms]
    return aliases


def _stem(name: str, suffixes: Sequence[str]) -> str | None:
    """The name without the first of the suffixes it ends with, if two characters are left."""
    for suffix in suffixes:
        stem = name.removesuffix(suffix)
        if stem != name and len(stem) >= 2 and not stem.endswith(_ROAD_SUFFIXES):
            return stem
    return None


def outside_aliases(units: Iterable[address_names.OutsideUnit]) -> list[Alias]:
    """Outside townships (马桥镇, 马桥), counties (昆山市, 昆山), cities and provinces."""
    aliases = []
    for unit in units:
        aliases.append(Alias(normalise_name(unit.name), Kind.OUTSIDE, unit.code, Form.OFFICIAL))
        stem = _stem(unit.name, ("街道", "新镇", "镇", "乡"))
        if stem:
            aliases.append(Alias(normalise_name(stem), Kind.OUTSIDE, unit.code, Form.BARE))
    for name, _ in address_names.outside_areas():
        aliases.append(Alias(name, Kind.OUTSIDE, name, Form.OFFICIAL))
        stem = _stem(name, ("省", "市", "县", "区"))
        if stem:
            aliases.append(Alias(stem, Kind.OUTSIDE, name, Form.BARE))
    return aliases


def elsewhere_aliases(
    communities: Iterable[address_names.OutsideCommunity], ours: set[str]
) -> list[Alias]:
    """The written forms of outside communities that are also forms of ours (龙潭居委)."""
    aliases = []
    for community in communities:
        village = community.name.endswith("村委会")
        division = Division(community.code, community.name, Kind.COMMUNITY, village=village)
        for key, form in community_aliases(division):
            key = normalise_name(key)
            if key in ours:
                aliases.append(Alias(key, Kind.OUTSIDE, community.code, form))
    return aliases


# --- the name matcher ---------------------------------------------------------------------------


class NameMatcher:
    """Aho-Corasick over the gazetteer's names; hits leftmost-longest, road names excluded."""

    def __init__(self, aliases: Iterable[Alias]) -> None:
        by_key: dict[str, list[Alias]] = {}
        for alias in aliases:
            if alias.key:
                by_key.setdefault(alias.key, []).append(alias)
        self._automaton = ahocorasick.Automaton()
        for key, group in by_key.items():
            best = strongest(group)
            # Whether the name may start a road (a short form) or a river (another district).
            short = not all(a.form in (Form.OFFICIAL, Form.SUFFIXED) for a in best)
            foreign = any(a.kind is Kind.FOREIGN for a in best)
            self._automaton.add_word(key, (key, best, short, short and foreign))
        self._automaton.make_automaton()

    def _all_hits(self, text: str) -> Iterator[Hit]:
        """Every occurrence of every key, short forms inside road names left out."""
        for end, (key, aliases, short, foreign) in self._automaton.iter(text):
            if short and _in_road_name(text, end + 1, foreign):
                continue
            yield Hit(end + 1 - len(key), end + 1, key, aliases)

    def find(self, text: str) -> list[Hit]:
        """Non-overlapping hits, leftmost first and longest at each place."""
        chosen: list[Hit] = []
        reach = 0
        for hit in sorted(self._all_hits(text), key=lambda h: (h.start, -h.end)):
            if hit.start >= reach:
                chosen.append(hit)
                reach = hit.end
        return chosen


def _in_road_name(text: str, end: int, foreign: bool) -> bool:
    """Whether a short form ending at `end` starts a road name (中山东路, 九亭大街, 新泾路) or,
    for another district's, a river (黄浦江)."""
    if foreign and text.startswith("江", end):
        return True
    return _ROAD_AFTER.match(text, end) is not None


# --- the parser ---------------------------------------------------------------------------------


class AddressParser:
    """Parse addresses against a gazetteer of one district (see the module docstring)."""

    def __init__(self, divisions: Iterable[Division]) -> None:
        self.divisions = {d.code: d for d in divisions}
        self.district = next((d for d in self.divisions.values() if d.kind is Kind.DISTRICT), None)
        code = self.district.code if self.district else ""
        merged = {
            name: unit
            for name, unit in address_names.merged_towns(code).items()
            if unit in self.divisions
        }
        former_parents = {
            new: old
            for new, old in address_names.former_parents(code).items()
            if new in self.divisions and old in self.divisions
        }
        outside = [u for u in address_names.outside_units() if not u.code.startswith(code)]
        aliases = gazetteer_aliases(self.divisions.values())
        aliases += former_aliases(merged) + outside_aliases(outside)
        elsewhere = address_names.communities_elsewhere(code)
        aliases += elsewhere_aliases(
            elsewhere, {a.key for a in aliases if a.kind is Kind.COMMUNITY}
        )
        self.matcher = NameMatcher(aliases)
        self._sound = SoundNames(aliases)
        names = {u.code: f"{u.county}{u.name}" for u in outside}
        names |= {c.code: f"{c.county}{c.town}{c.name}" for c in elsewhere}
        names |= dict(address_names.outside_areas())
        when = {c.old_name: f" in {c.date}" for c in address_names.division_changes(code)}
        when |= {k.key: when[n] for n in merged for k in former_aliases({n: merged[n]})}
        self.resolver = Resolver(self.divisions, former_parents, names, when)

    def named(self, code: str) -> Named:
        """A division of the gazetteer as a component."""
        return Named(code, self.divisions[code].name)

    def parse(self, text: str) -> ParsedAddress:
        """Split one address into its components."""
        simplified = to_simplified(text)
        parsed = ParsedAddress(input=text, normalised=normalise(simplified, simplify=False))
        if simplified != text:
            parsed.notes.append("traditional characters read as simplified")
        hits = self._sound.not_towns(parsed, self.matcher.find(parsed.normalised))
        hits = self._sound.add(parsed, hits)
        rest = without(parsed.normalised, hits)
        parse_detail(parsed, rest)
        self.resolver.resolve(parsed, hits)
        return parsed

    def parse_many(self, texts: Sequence[str]) -> list[ParsedAddress]:
        """Parse a batch; the same as parsing each one."""
        return [self.parse(text) for text in texts]

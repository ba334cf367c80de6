"""Write messy-310117-dev.csv and messy-310117-heldout.csv: SYNTHETIC messy addresses.

Run: .venv/bin/python tests/geo/data/make_messy.py  (rewrites both CSVs beside this file)

Addresses written the way citizens, hotline operators and grid workers write them, one kind at
a time (see KINDS), composed from official names (the NBS 2023 division codes shipped in
src/cityops/data/, and Songjiang's division changes in src/cityops/data/geo/). Road names,
house numbers, shops and landmarks are INVENTED; nothing is copied from a list of real
addresses. The expected unit and community are facts of the composition (empty where the
address does not determine them: it must then not be placed there); this script never imports
cityops.geo. The two sets use different seeds and disjoint halves of the communities and of
the outside towns, so the held-out set is not the one the rules were tuned on.
"""

from __future__ import annotations

import csv
import io
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import opencc
from pypinyin import Style, pinyin

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[2] / "src" / "cityops" / "data"
SETS = {
    "dev": (HERE / "messy-310117-dev.csv", 7101),
    "heldout": (HERE / "messy-310117-heldout.csv", 9203),
}
#: Invented road names (none checked against a map) and invented landmarks.
ROADS = ["春申北路", "云锦路", "白鹭路", "望江路", "翠竹路", "荷风路", "新渠路", "桂林南路"]
ROADS += ["晨光路", "银杏路", "芦花东路", "长风公路", "静水路", "秋实路", "绿野大道", "松语路"]
EXTRAS = ["附近", "对面", "旁边", "门口", "路口", "东侧", "往南50米", "后门", "那边"]
SHOPS = ["全家便利店", "菜市场", "公交站", "快递驿站", "幼儿园", "垃圾房", "小超市"]
KINDS = ("clean", "informal", "outside", "old_parent", "former_town", "traditional")
KINDS += ("typo", "ambiguous", "road_only")
UNIT_SUFFIXES = ("街道", "镇")
HEADER = """\
# SYNTHETIC messy Songjiang (310117) addresses for the geocoder benchmark: {name} set, seed {seed}.
# Written by tests/geo/data/make_messy.py from official division names (NBS 2023 codes); roads,
# numbers and landmarks INVENTED. An empty expected code means the address does not determine
# that level and must not be placed there.
"""


@dataclass(frozen=True)
class Place:
    """A division with the names it is written by."""

    code: str
    name: str
    parent: str

    @property
    def stem(self) -> str:
        """The name without its suffix: 张泾社区居委会 → 张泾, 焦家村村委会 → 焦家村."""
        for suffix in ("社区居委会", "居委会", "村委会", "街道", "镇"):
            if self.name.endswith(suffix) and len(self.name) > len(suffix) + 1:
                return self.name.removesuffix(suffix)
        return self.name

    @property
    def village(self) -> bool:
        """Whether the division is a village committee."""
        return self.name.endswith("村委会")


def _csv(path: Path) -> list[dict[str, str]]:
    text = path.read_text("utf-8")
    return list(
        csv.DictReader(
            io.StringIO("\n".join(ln for ln in text.splitlines() if not ln.startswith("#")))
        )
    )


class World:
    """The names the addresses are composed from."""

    def __init__(self) -> None:
        div = DATA / "divisions" / "2023"
        self.units = {
            r["code"]: Place(r["code"], r["name"], r["parent_code"])
            for r in _csv(div / "310117-streets.csv")
        }
        self.communities = [
            Place(r["code"], r["name"], r["parent_code"])
            for r in _csv(div / "310117-villages.csv")
            if "虚拟社区" not in r["name"]
        ]
        self.outside = _csv(DATA / "geo" / "outside-townships.csv")
        changes = _csv(DATA / "geo" / "310117-division-changes.csv")
        self.merged = [(c["old_name"], c["new_code"]) for c in changes if c["change"] == "merged"]
        self.splits = {c["new_code"]: c["old_code"] for c in changes if c["change"] == "split"}
        town_stems = {r["name"]: _town_stem(r["name"]) for r in self.outside}
        ours = {c.stem.removesuffix("村") for c in self.communities}
        #: Bare names that are both one of our communities and a town outside: ambiguous alone.
        self.shared = sorted({town_stems[r["name"]] for r in self.outside} & ours)
        self.colliding = [
            r
            for r in self.outside
            if town_stems[r["name"]] in {c.stem.removesuffix("村") for c in self.communities}
        ]
        self.pool = sorted({ch for p in [*self.communities, *self.units.values()] for ch in p.name})
        self.pool += sorted({ch for r in self.outside for ch in r["name"]})

    def by(self, code: str) -> Place:
        """A community by code."""
        return next(c for c in self.communities if c.code == code)


def _town_stem(name: str) -> str:
    for suffix in ("街道", "镇", "乡"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name.removesuffix(suffix)
    return name


def _half(code: str, name: str) -> bool:
    """Whether a code belongs to this set's half (dev: even CRC, held-out: odd)."""
    return zlib.crc32(code.encode()) % 2 == (0 if name == "dev" else 1)


def door(rng: random.Random) -> str:
    """An invented road and door."""
    road = rng.choice(ROADS)
    return rng.choice(
        [
            f"{road}{rng.randint(1, 999)}号",
            f"{road}{rng.randint(1, 300)}弄{rng.randint(1, 80)}号",
            f"{road}{rng.randint(1, 400)}",
        ]
    )


def unit_form(rng: random.Random, unit: Place) -> str:
    """九亭镇 or 九亭 (the zones keep their name)."""
    short = unit.name.removesuffix("街道").removesuffix("镇")
    if unit.name.startswith("上海") or len(short) < 2 or unit.code > "310117500":
        return unit.name
    return rng.choice([unit.name, unit.name, short])


def community_form(rng: random.Random, c: Place) -> str:
    """The community as people write it: full, 社区, 居委, or 村."""
    if c.village:
        return rng.choice([c.name, c.stem, c.stem + "委会"])
    return rng.choice([c.name, c.stem + "社区", c.stem + "居委", c.stem + "居委会"])


def detail(rng: random.Random, c: Place) -> str:
    """组 and 号 for a village, a door for the rest."""
    if c.village:
        return f"{rng.randint(1, 12)}组{rng.randint(1, 60)}号"
    return door(rng)


Row = tuple[str, str, str, str]  # address, kind, expected unit, expected community


def clean(w: World, rng: random.Random, c: Place) -> Row:
    """Documented styles: 松江区九亭镇…社区…路…号, with or without province and district."""
    head = rng.choice(["上海市松江区", "松江区", "松江", "", "上海"])
    return (
        head + unit_form(rng, w.units[c.parent]) + community_form(rng, c) + detail(rng, c),
        "clean",
        c.parent,
        c.code,
    )


def informal(w: World, rng: random.Random, c: Place) -> Row:
    """Extra words, spaces, word order, a landmark: 菜市场对面 九亭 …社区."""
    unit = unit_form(rng, w.units[c.parent])
    parts = [unit, community_form(rng, c), detail(rng, c)]
    if rng.random() < 0.4:
        parts[0], parts[1] = parts[1], parts[0]
    extra = rng.choice(EXTRAS)
    text = rng.choice(
        [
            " ".join(parts) + extra,
            "".join(parts) + rng.choice(SHOPS) + extra,
            "（" + parts[0] + "）" + "".join(parts[1:]) + "，" + extra,
        ]
    )
    return (text, "informal", c.parent, c.code)


def outside(w: World, rng: random.Random, name: str) -> Row:
    """An outside town that shares a stem with one of ours, with its district or not."""
    towns = w.colliding if rng.random() < 0.5 else w.outside
    row = rng.choice([r for r in towns if _half(r["code"], name)])
    town = row["name"]
    head = rng.choice(["", row["county"], row["province"] + row["county"], row["province"]])
    if rng.random() < 0.2 and row in w.colliding:
        town, head = _town_stem(town), ""  # the bare stem: it is also one of ours
    village = rng.choice([c for c in w.communities if c.village]).stem if rng.random() < 0.3 else ""
    tail = f"{village}{rng.randint(1, 9)}组{rng.randint(1, 40)}号" if village else door(rng)
    return (head + town + tail, "outside", "", "")


def old_parent(w: World, rng: random.Random, c: Place) -> Row:
    """A community of a unit split off (九里亭街道) written under its former parent (九亭镇)."""
    old = w.units[w.splits[c.parent]]
    form = rng.choice([c.name, c.stem + "社区", c.stem + "居委"])
    return (
        rng.choice(["松江区", "", "松江"]) + unit_form(rng, old) + form + door(rng),
        "old_parent",
        c.parent,
        c.code,
    )


def former_town(w: World, rng: random.Random, _: str) -> Row:
    """A merged town's name (五厍镇) for the area it was: the unit it became, no community."""
    old, unit = rng.choice(w.merged)
    head = rng.choice(["松江区", "松江", "上海市松江区", ""])
    return (head + old + door(rng), "former_town", unit, "")


def traditional(w: World, rng: random.Random, c: Place) -> Row:
    """A clean address in traditional characters (OpenCC s2t, s2tw or s2hk)."""
    text, _, unit, community = clean(w, rng, c)
    converter = opencc.OpenCC(rng.choice(["s2t", "s2tw", "s2hk"]))
    return (converter.convert(text), "traditional", unit, community)


def _homophone(w: World, rng: random.Random, ch: str) -> str | None:
    sounds = set(pinyin(ch, style=Style.NORMAL, heteronym=True)[0])
    same = [o for o in w.pool if o != ch and sounds & set(pinyin(o, style=Style.NORMAL)[0])]
    return rng.choice(same) if same else None


def typo(w: World, rng: random.Random, c: Place) -> Row | None:
    """One character of the unit's or the community's name typed by its sound."""
    unit = w.units[c.parent]
    in_unit = rng.random() < 0.5 and not unit.name.startswith("上海")
    name = unit.stem if in_unit else c.stem.removesuffix("村") if c.village else c.stem
    at = rng.randrange(len(name))
    wrong = _homophone(w, rng, name[at])
    if wrong is None:
        return None
    typed = name[:at] + wrong + name[at + 1 :]
    if in_unit:
        text = (
            "松江区"
            + typed
            + unit.name.removeprefix(unit.stem)
            + community_form(rng, c)
            + detail(rng, c)
        )
    else:
        suffix = "村" if c.village else rng.choice(["社区", "居委会"])
        text = unit.name + typed + suffix + detail(rng, c)
    return (text, "typo", c.parent, c.code)


def ambiguous(w: World, rng: random.Random, _: str) -> Row:
    """A bare name that is one of our communities and a town elsewhere, nothing else named."""
    stem = rng.choice(w.shared)
    tail = door(rng) if rng.random() < 0.6 else rng.choice(SHOPS) + rng.choice(EXTRAS)
    return (
        rng.choice(["", "上海"]) + stem + tail,
        "ambiguous",
        "",
        "",
    )


def road_only(_: World, rng: random.Random, __: str) -> Row:
    """A road and door only: no division named."""
    return (
        rng.choice(["", "上海市", "松江区"]) + door(rng) + rng.choice(["", *EXTRAS]),
        "road_only",
        "",
        "",
    )


def generate(name: str, seed: int) -> list[Row]:
    """The set's rows: about 40 addresses per kind."""
    w = World()
    rng = random.Random(seed)
    mine = [c for c in w.communities if _half(c.code, name)]
    moved = [c for c in mine if c.parent in w.splits]
    rows: list[Row] = []
    per_community: list[Callable[[World, random.Random, Place], Row | None]] = [
        clean,
        informal,
        traditional,
        typo,
    ]
    for make in per_community:
        for c in rng.sample(mine, 40):
            row = make(w, rng, c)
            if row is not None:
                rows.append(row)
    rows += [old_parent(w, rng, c) for c in rng.sample(moved, min(30, len(moved)))]
    for make_named in (outside, former_town, ambiguous, road_only):
        rows += [make_named(w, rng, name) for _ in range(30)]
    return rows


def render(name: str, seed: int, rows: list[Row]) -> str:
    """The CSV text."""
    out = io.StringIO()
    out.write(HEADER.format(name=name, seed=seed))
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["address", "kind", "expected_unit_code", "expected_community_code"])
    writer.writerows(rows)
    return out.getvalue()


def main() -> None:
    """Rewrite both sets."""
    for name, (path, seed) in SETS.items():
        path.write_text(render(name, seed, generate(name, seed)), "utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()

"""Geocoding accuracy and speed: cityops beside jionlp and cpca on the same test sets, one run.

Run: .venv/bin/python bench/bench_geocode.py [--repeats 3] [--json PATH] [--set heldout|dev]

Exits non-zero when a goal of issue 21 is missed on the messy set (see bench/geocode_messy.py):
wrong placements ≤ 1 % and none at confidence ≥ 0.8, town ≥ 97 % and community ≥ 90 % on the
addresses that determine them, and throughput at least half of the geocoder before issue 21
(loaded from git as a separate module and timed in the same run).

Test set: tests/geo/data/addresses-310117.csv, Songjiang addresses composed from the official
NBS 2023 division names (road names and numbers invented), each with the unit and community it
was written from (see tests/geo/data/make_addresses.py).

Anchors, bench-only (not dependencies of cityops; install them into .venv by hand):
- jionlp (`jio.parse_location(address, town_village=True)`): a national parser that returns
  province, city, county and, when it recognised the county, town and village;
- cpca (`cpca.transform(addresses)`): province, city and county (区) only, no town.

Like is compared with like: each tool is scored only at the levels it answers. District: the
share of addresses placed in 松江区 (all of them are). Unit: the share whose township-level unit
is right. Community: over the addresses that name one, the share whose community is right; a
tool's village name is mapped to a code by its stem (张泾社区 → 张泾), which is unique in the
district. cpca answers no unit or community, so those cells say n/a. A second table repeats
the scores on the addresses that spell the unit's official name in full (九亭镇, not 九亭),
the form a national parser is built for. Speed: addresses per second, best of --repeats, after
one warm-up call, in this process. If an anchor cannot be imported, or fails at run time (for
example because it wants to download data), its row says it was skipped and why.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import importlib.metadata
import json
import sys
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geocode_messy as messy
from cityops.geo.address.geocode import Geocoder, units_from_divisions
from cityops.org.divisions import shipped_division_set

TEST_SET = Path(__file__).resolve().parents[1] / "tests" / "geo" / "data" / "addresses-310117.csv"
DISTRICT = "310117"
SUFFIXES = ("社区居民委员会", "社区居委会", "村民委员会", "居民委员会", "村委会", "居委会")
SUFFIXES += ("社区居委", "社区", "居委", "委会")


@dataclass(frozen=True)
class Row:
    """One test address and its answer."""

    address: str
    unit: str
    community: str
    style: str


@dataclass(frozen=True)
class Answer:
    """What a tool said; None where it said nothing at that level."""

    district: bool
    unit: str | None
    community: str | None


@dataclass
class Result:
    """A tool's answers and timing, or why it was skipped."""

    name: str
    levels: tuple[str, ...]
    answers: list[Answer] = field(default_factory=list)
    rate: float = 0.0
    skipped: str = ""


def load_rows() -> list[Row]:
    """The test set, comment lines skipped."""
    lines = [ln for ln in TEST_SET.read_text("utf-8").splitlines() if not ln.startswith("#")]
    return [
        Row(r["address"], r["expected_unit_code"], r["expected_community_code"], r["style"])
        for r in csv.DictReader(lines)
    ]


def stem(name: str) -> str:
    """A community name without its suffix: 张泾社区居委会 → 张泾, 焦家村村委会 → 焦家村."""
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


class Names:
    """Official names → codes, for mapping the anchors' answers."""

    def __init__(self) -> None:
        divisions = shipped_division_set(DISTRICT, 2023)
        self.units = {u.name: u.code for u in divisions.units}
        self.unit_names = {u.code: u.name for u in divisions.units}
        self.communities = {stem(c.name): c.code for c in divisions.communities}

    def unit(self, name: object) -> str | None:
        """The code of a unit name as a tool wrote it."""
        return self.units.get(name) if isinstance(name, str) else None

    def community(self, name: object) -> str | None:
        """The code of a community name as a tool wrote it, by stem."""
        return self.communities.get(stem(name)) if isinstance(name, str) else None


def best_rate(work: Callable[[], object], n: int, repeats: int) -> float:
    """Items per second of the best of several runs."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return n / min(times)


def run_cityops(addresses: Sequence[str], repeats: int) -> Result:
    """Our geocoder, built from the shipped divisions and generated boundaries (no database)."""
    geocoder = Geocoder(units_from_divisions(shipped_division_set(DISTRICT, 2023), "松江区"), [])
    result = Result(
        f"cityops {importlib.metadata.version('cityops')}", ("district", "unit", "community")
    )
    geocoder.geocode(addresses[0])
    result.rate = best_rate(
        lambda: [geocoder.geocode(a) for a in addresses], len(addresses), repeats
    )
    for answer in (geocoder.geocode(a) for a in addresses):
        parsed = answer.parsed
        result.answers.append(
            Answer(
                parsed.district is not None and parsed.district.code == DISTRICT,
                parsed.unit.code if parsed.unit else None,
                parsed.community.code if parsed.community else None,
            )
        )
    return result


def _anchor(module: str) -> tuple[Any, str]:
    """Import an anchor, or say why it cannot be."""
    try:
        return importlib.import_module(module), importlib.metadata.version(module)
    except Exception as exc:  # any failure to import skips the anchor, with the reason
        return None, f"{type(exc).__name__}: {exc}"


def run_jionlp(addresses: Sequence[str], names: Names, repeats: int) -> Result:
    """jionlp's parse_location with town and village."""
    jio, version = _anchor("jionlp")
    result = Result(f"jionlp {version}" if jio else "jionlp", ("district", "unit", "community"))
    if jio is None:
        result.skipped = version
        return result

    def parse(text: str) -> dict[str, Any]:
        parsed: dict[str, Any] = jio.parse_location(text, town_village=True)
        return parsed

    try:
        parse(addresses[0])
        result.rate = best_rate(lambda: [parse(a) for a in addresses], len(addresses), repeats)
        for found in (parse(a) for a in addresses):
            result.answers.append(
                Answer(
                    found.get("county") == "松江区",
                    names.unit(found.get("town")),
                    names.community(found.get("village")),
                )
            )
    except Exception as exc:  # e.g. a download at run time: report, do not fail the bench
        result.skipped = f"failed at run time: {type(exc).__name__}: {exc}"
    return result


def run_cpca(addresses: Sequence[str], repeats: int) -> Result:
    """cpca's transform (province, city, county only)."""
    cpca, version = _anchor("cpca")
    result = Result(f"cpca {version}" if cpca else "cpca", ("district",))
    if cpca is None:
        result.skipped = version
        return result
    try:
        cpca.transform(list(addresses[:1]))
        result.rate = best_rate(lambda: cpca.transform(list(addresses)), len(addresses), repeats)
        frame = cpca.transform(list(addresses))
        result.answers = [Answer(code == DISTRICT, None, None) for code in frame["adcode"]]
    except Exception as exc:  # report, do not fail the bench
        result.skipped = f"failed at run time: {type(exc).__name__}: {exc}"
    return result


def official_form(row: Row, names: Names) -> bool:
    """Whether the address spells its unit's official name in full."""
    text = "".join(unicodedata.normalize("NFKC", row.address).split())
    return names.unit_names[row.unit] in text


def score(result: Result, rows: Sequence[Row], keep: Sequence[bool]) -> dict[str, float | None]:
    """Accuracy per level over the kept rows; None for levels the tool does not answer."""
    pairs = [(r, a) for r, a, k in zip(rows, result.answers, keep, strict=True) if k]
    named = [(r, a) for r, a in pairs if r.community]
    scores: dict[str, float | None] = {"n": len(pairs)}
    scores["district"] = sum(a.district for _, a in pairs) / len(pairs)
    unit = "unit" in result.levels
    scores["unit"] = sum(a.unit == r.unit for r, a in pairs) / len(pairs) if unit else None
    community = "community" in result.levels and named
    scores["community"] = (
        sum(a.community == r.community for r, a in named) / len(named) if community else None
    )
    scores["community_wrong"] = (
        sum(a.community not in (None, r.community) for r, a in named) / len(named)
        if community
        else None
    )
    return scores


def _cell(value: float | None) -> str:
    return "n/a" if value is None else f"{value:6.1%}"


def table(
    title: str, results: Sequence[Result], rows: Sequence[Row], keep: Sequence[bool]
) -> list[dict[str, Any]]:
    """Print one table and return its figures."""
    named = sum(1 for r, k in zip(rows, keep, strict=True) if k and r.community)
    print(f"\n{title} ({sum(keep)} addresses, {named} naming a community)")
    header = ("tool", "district", "unit", "community", "wrong comm.", "addr/s (all)")
    print(
        f"{header[0]:<16} {header[1]:>9} {header[2]:>8} {header[3]:>10} {header[4]:>12} {header[5]:>13}"
    )
    out = []
    for result in results:
        if result.skipped:
            print(f"{result.name:<16} skipped: {result.skipped}")
            out.append({"tool": result.name, "skipped": result.skipped})
            continue
        s = score(result, rows, keep)
        print(
            f"{result.name:<16} {_cell(s['district']):>9} {_cell(s['unit']):>8} "
            f"{_cell(s['community']):>10} {_cell(s['community_wrong']):>12} {result.rate:>13,.0f}"
        )
        out.append({"tool": result.name, **s, "addresses_per_second": result.rate})
    return out


def run_messy(name: str, old: Sequence[str], names: Names, repeats: int) -> tuple[Any, list[str]]:
    """The messy set scored per kind for cityops, the baseline and jionlp; the goals missed."""
    cases = messy.load(name)
    divisions = shipped_division_set(DISTRICT, 2023)
    ours = Geocoder(units_from_divisions(divisions, "松江区"), [])
    base_module = messy.baseline_module()
    base = base_module.Geocoder(base_module.units_from_divisions(divisions, "松江区"), [])
    tools = {
        "cityops": messy.score(cases, lambda t: messy.cityops_answer(ours, t)),
        "baseline": messy.score(cases, lambda t: messy.cityops_answer(base, t)),
    }
    jio, version = _anchor("jionlp")
    if jio is not None:
        tools["jionlp"] = messy.score(cases, lambda t: messy.jionlp_answer(jio, names, t))
    else:
        print(f"jionlp skipped: {version}")
    print(f"\nMessy set ({name}, SYNTHETIC): {messy.SETS[name].relative_to(messy.ROOT)}")
    print(f"baseline = the geocoder at {messy.BASELINE_REV} (before issue 21); jionlp {version}")
    kinds = messy.print_kinds(tools)
    bands = messy.print_bands(tools)
    texts = [*old, *(c.address for c in cases)]
    rates = messy.speeds({"baseline": base.geocode, "cityops": ours.geocode}, texts, 5 * repeats)
    ratio = rates["cityops"] / rates["baseline"]
    print(
        f"\nThroughput on {len(texts)} addresses (clean + messy): cityops "
        f"{rates['cityops']:,.0f}/s, baseline {rates['baseline']:,.0f}/s, ratio {ratio:.2f}"
    )
    missed = messy.goals(tools["cityops"], ratio)
    return {"kinds": kinds, "bands": bands, "addresses_per_second": rates}, missed


def main() -> None:
    """Run every tool on the test set and print the comparison."""
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--repeats", type=int, default=3)
    args.add_argument("--json", type=Path, help="also write the figures here")
    args.add_argument("--set", choices=sorted(messy.SETS), default="heldout")
    options = args.parse_args()
    rows = load_rows()
    addresses = [r.address for r in rows]
    names = Names()
    results = [
        run_cityops(addresses, options.repeats),
        run_jionlp(addresses, names, options.repeats),
        run_cpca(addresses, options.repeats),
    ]
    print(f"\nTest set: {TEST_SET.relative_to(TEST_SET.parents[3])}")
    print("Scored only at the levels each tool answers: cpca stops at the district (区), so its")
    print("unit and community are n/a; jionlp answers a town and village only under a county it")
    print("recognised. Community columns count addresses that name a community.")
    everything = table("All addresses", results, rows, [True] * len(rows))
    official = table(
        "Addresses spelling the unit's official name (九亭镇, not 九亭)",
        results,
        rows,
        [official_form(r, names) for r in rows],
    )
    figures, missed = run_messy(options.set, addresses, names, options.repeats)
    if options.json:
        options.json.write_text(
            json.dumps(
                {"all": everything, "official_unit_name": official, "messy": figures}, indent=2
            ),
            "utf-8",
        )
    if missed:
        print(f"\n{len(missed)} goal(s) missed: {'; '.join(missed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()

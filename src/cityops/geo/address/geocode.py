"""Forward and reverse geocoding over the org tree and the standard address library.

The gazetteer is the org tree itself: the district, its township-level units and communities
under the names `cityops.geo.address.parse` derives from them, each with the representative point of
its polygon as the coordinate at that level. Those polygons are generated (see
`cityops.geo.boundaries`), so a result placed at community, unit or district level says
`approximate: true`. The standard address library (table `std_address`, imported from CSV)
places doors exactly and roads by their own point or the mean of their doors.

Forward: parse → standard address by key → road → community → unit → district → none, the
first that has a coordinate. Reverse: the divisions containing the point (`DivisionIndex`)
and the nearest standard address within a radius (an STRtree over the addresses projected to
CGCS2000 / 3° Gauss-Krüger zone 40, EPSG:4549, so distances are in metres).

Confidence = the level's factor (`LEVEL_FACTOR`) x the form of the name that placed it
(`FORM_FACTOR`: a bare 九亭 counts less than 九亭镇, a name matched by its sound much less) x
the factors of the parser's rules (an inferred unit, an ambiguity resolved by context, a
conflict left out, a community found under its former parent). It is calibrated on a messy
test set (`bench/bench_geocode.py`): at `TRUSTED_CONFIDENCE` or above no placement was wrong.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import math
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import mapping, shape
from shapely.strtree import STRtree
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cityops.geo import crs as crs_module
from cityops.geo.address.models import StdAddress
from cityops.geo.address.parse import (
    FORM_FACTOR,
    AddressParser,
    Division,
    Kind,
    Named,
    ParsedAddress,
)
from cityops.geo.boundaries import district_outline, generate_boundaries
from cityops.geo.lookup import DivisionIndex, Placement
from cityops.kit.db import utcnow
from cityops.org.divisions import DivisionSet
from cityops.org.models import COMMUNITY_LEVELS, TOWN_LEVELS, OrgLevel, OrgUnit
from cityops.org.tree import OrgTreeCache

#: The projected CRS of distances: CGCS2000 / 3° Gauss-Krüger CM 120°E, metres.
METRIC_CRS = crs_module.CRS.GK_ZONE_40
#: Rows per standard address import, and per IN (...) query while importing.
MAX_IMPORT_ROWS = 200_000
_CHUNK = 500
#: A standard address must lie in this box (lon/lat): catches swapped axes and wrong CRSs.
SHANGHAI_BOX = (120.8, 30.6, 122.2, 31.9)


class Level(StrEnum):
    """How finely an address was placed."""

    STD_ADDRESS = "std_address"
    ROAD = "road"
    COMMUNITY = "community"
    UNIT = "unit"
    DISTRICT = "district"
    NONE = "none"


#: Confidence of a placement at each level before the parse's own factors. Confidence says how
#: sure the placement is to be right at its level (the level says how fine it is): a unit named
#: in full is as sure as a community named in full; a road's imported point or the mean of its
#: doors a little less than the door itself.
LEVEL_FACTOR = {
    Level.STD_ADDRESS: 1.0,
    Level.ROAD: 0.95,
    Level.COMMUNITY: 0.95,
    Level.UNIT: 0.95,
    Level.DISTRICT: 0.95,
    Level.NONE: 0.0,
}
#: A caller may act on a placement at or above this confidence without a person checking it
#: (no wrong placement at or above it on the held-out messy set, `bench/bench_geocode.py`).
TRUSTED_CONFIDENCE = 0.8


class StdAddressError(ValueError):
    """A standard address file cannot be imported; the message names the lines."""


@dataclass(frozen=True, slots=True)
class Place:
    """A division of the gazetteer with its coordinate (WGS84), if it has a polygon."""

    division: Division
    point: tuple[float, float] | None
    approximate: bool


@dataclass(frozen=True, slots=True)
class StdRecord:
    """One standard address as the geocoder holds it."""

    id: int
    address: str
    norm_key: str
    unit_code: str
    community_code: str | None
    road: str | None
    number: str | None
    lon: float
    lat: float


@dataclass(slots=True)
class Geocoded:
    """The answer for one address; lon/lat in WGS84 until `Geocoder.geocode_many` converts."""

    parsed: ParsedAddress
    level: Level = Level.NONE
    lon: float | None = None
    lat: float | None = None
    approximate: bool = False
    confidence: float = 0.0
    std_address: StdRecord | None = None

    @property
    def ambiguous(self) -> bool:
        """Whether the text fits several places; `parsed.alternatives` lists them."""
        return self.parsed.ambiguous

    @property
    def candidates(self) -> list[Named]:
        """The places an ambiguous (or context-resolved) address may also be."""
        return self.parsed.alternatives


@dataclass(frozen=True, slots=True)
class Nearest:
    """The standard address nearest to a point, within the radius; lon/lat WGS84."""

    record: StdRecord
    distance_m: float


@dataclass(frozen=True, slots=True)
class Reversed:
    """The divisions containing a point and the nearest standard address."""

    placement: Placement
    nearest: Nearest | None


def door_key(parsed: ParsedAddress, unit_code: str, community_code: str | None) -> str | None:
    """The key a standard address is found by: unit, road, 弄, 支弄, 号; or village, 组, 号.

    Building (幢) and room (室) lie below the door and are not part of it. An empty unit code
    makes the loose key used when an address names no unit.
    """
    if parsed.road:
        parts = (unit_code, parsed.road, parsed.lane, parsed.sublane, parsed.number)
        return "R|" + "|".join(p or "" for p in parts)
    if community_code and parsed.number:
        return "V|" + "|".join((community_code, parsed.village_group or "", parsed.number))
    return None


def _loose(key: str) -> str:
    """A road key without its unit (R|unit|road|… → R||road|…); village keys stay."""
    parts = key.split("|")
    if parts[0] == "R":
        parts[1] = ""
    return "|".join(parts)


# --- the gazetteer from the org tree -----------------------------------------------------------


def division_of(unit: OrgUnit | UnitRow) -> Division | None:
    """The gazetteer entry of an org unit; None for grids and multi-grid units."""
    if unit.level == OrgLevel.DISTRICT:
        return Division(unit.code, unit.name, Kind.DISTRICT, unit.parent_code)
    if unit.level in TOWN_LEVELS:
        return Division(unit.code, unit.name, Kind.UNIT, unit.parent_code)
    if unit.level in COMMUNITY_LEVELS:
        return Division(
            unit.code,
            unit.name,
            Kind.COMMUNITY,
            unit.parent_code,
            village=unit.level == OrgLevel.VILLAGE_COMMITTEE,
            virtual=unit.level == OrgLevel.VIRTUAL_COMMUNITY,
        )
    return None


@dataclass(frozen=True, slots=True)
class UnitRow:
    """What the gazetteer reads of an org unit (an `OrgUnit` or a generated stand-in)."""

    code: str
    name: str
    level: str
    parent_code: str | None
    geometry: str | None
    geometry_approximate: bool


def _representative(geometry: str | None) -> tuple[float, float] | None:
    """A point inside a GeoJSON polygon (its representative point), or None."""
    if not geometry or geometry == "null":
        return None
    polygon = shape(json.loads(geometry))
    if polygon.is_empty:
        return None
    point = polygon.representative_point()
    return float(point.x), float(point.y)


# --- the geocoder -------------------------------------------------------------------------------


class Geocoder:
    """An immutable gazetteer plus standard address index; safe to share between threads."""

    def __init__(self, units: Iterable[OrgUnit | UnitRow], records: Iterable[StdRecord]) -> None:
        self.places: dict[str, Place] = {}
        for unit in units:
            division = division_of(unit)
            if division is not None:
                point = _representative(unit.geometry)
                self.places[division.code] = Place(division, point, unit.geometry_approximate)
        self.parser = AddressParser(place.division for place in self.places.values())
        self.records = list(records)
        self._index_records()
        self._steps = (  # the finest level first
            self._by_std_address,
            self._by_road,
            self._by_community,
            self._by_unit,
            self._by_district,
        )

    def _index_records(self) -> None:
        """Keys, loose keys, roads and the metric STRtree of the standard addresses."""
        self._by_key = {r.norm_key: r for r in self.records}
        self._by_loose: dict[str, list[StdRecord]] = defaultdict(list)
        roads: dict[tuple[str, str], list[StdRecord]] = defaultdict(list)
        self._road_units: dict[str, set[str]] = defaultdict(set)
        for record in self.records:
            self._by_loose[_loose(record.norm_key)].append(record)
            if record.road:
                roads[(record.unit_code, record.road)].append(record)
                self._road_units[record.road].add(record.unit_code)
        self._roads = {key: _road_point(rows) for key, rows in roads.items()}
        lon = np.array([r.lon for r in self.records], dtype=np.float64)
        lat = np.array([r.lat for r in self.records], dtype=np.float64)
        x, y = crs_module.transform_array(lon, lat, crs_module.CRS.WGS84, METRIC_CRS)
        self._tree = STRtree(shapely.points(x, y))

    # forward

    def geocode(self, text: str) -> Geocoded:
        """Place one address (WGS84)."""
        parsed = self.parser.parse(text)
        answer = Geocoded(parsed)
        if parsed.outside is None:
            for step in self._steps:
                if step(answer):
                    break
        answer.confidence = round(min(1.0, answer.confidence), 3)
        return answer

    def geocode_many(self, texts: Sequence[str], target: str) -> list[Geocoded]:
        """Place a batch and convert the coordinates to `target` (a resolved CRS name)."""
        answers = [self.geocode(text) for text in texts]
        placed = [a for a in answers if a.lon is not None and a.lat is not None]
        if placed and target not in (crs_module.CRS.WGS84, crs_module.CRS.CGCS2000):
            xs = np.array([a.lon for a in placed], dtype=np.float64)
            ys = np.array([a.lat for a in placed], dtype=np.float64)
            tx, ty = crs_module.transform_array(xs, ys, crs_module.CRS.WGS84, target)
            for answer, x, y in zip(placed, tx.tolist(), ty.tolist(), strict=True):
                answer.lon, answer.lat = x, y
        return answers

    def _by_std_address(self, answer: Geocoded) -> bool:
        """A door (or road point) of the standard address library, by key."""
        parsed = answer.parsed
        unit = parsed.unit.code if parsed.unit else ""
        key = door_key(parsed, unit, parsed.community.code if parsed.community else None)
        if key is None:
            return False
        record = self._by_key.get(key)
        factor = 1.0
        if record is None and not unit:
            candidates = self._by_loose.get(key, [])
            if len(candidates) != 1:
                return False
            record, factor = candidates[0], 0.9
            parsed.notes.append("placed by a standard address without a unit in the text")
        if record is None:
            return False
        self._adopt(parsed, record.unit_code, record.community_code)
        level = Level.STD_ADDRESS if record.number or parsed.village_group else Level.ROAD
        answer.std_address = record
        self._place(answer, level, (record.lon, record.lat), False, factor)
        return True

    def _by_road(self, answer: Geocoded) -> bool:
        """A road known to the library: its own point, or the mean of its doors."""
        parsed = answer.parsed
        if parsed.road is None:
            return False
        factor = 1.0
        unit = parsed.unit.code if parsed.unit else None
        if unit is None:
            units = self._road_units.get(parsed.road, set())
            if len(units) != 1:
                if units:
                    parsed.alternatives = [self.parser.named(u) for u in sorted(units)]
                    parsed.notes.append(f"road {parsed.road} runs through {len(units)} units")
                return False
            unit, factor = next(iter(units)), 0.9
            self._adopt(parsed, unit, None)
        point = self._roads.get((unit, parsed.road))
        if point is None:
            return False
        self._place(answer, Level.ROAD, point[:2], point[2], factor)
        return True

    def _by_community(self, answer: Geocoded) -> bool:
        """The community's point."""
        return self._by_division(answer, answer.parsed.community, Level.COMMUNITY)

    def _by_unit(self, answer: Geocoded) -> bool:
        """The unit's point."""
        return self._by_division(answer, answer.parsed.unit, Level.UNIT)

    def _by_district(self, answer: Geocoded) -> bool:
        """The district's point."""
        return self._by_division(answer, answer.parsed.district, Level.DISTRICT)

    def _by_division(self, answer: Geocoded, named: Named | None, level: Level) -> bool:
        """The representative point of the division's (generated) polygon."""
        if named is None:
            return False
        place = self.places.get(named.code)
        if place is None or place.point is None:
            return False
        parsed = answer.parsed
        form = parsed.community_form if level is Level.COMMUNITY else parsed.unit_form
        in_text = level is Level.DISTRICT or level.value not in parsed.inferred
        factor = FORM_FACTOR[form] if form is not None and in_text else 1.0
        self._place(answer, level, place.point, place.approximate, factor)
        return True

    def _place(
        self,
        answer: Geocoded,
        level: Level,
        point: tuple[float, float],
        approximate: bool,
        factor: float,
    ) -> None:
        answer.level = level
        answer.lon, answer.lat = point
        answer.approximate = approximate
        answer.confidence = LEVEL_FACTOR[level] * answer.parsed.factor * factor

    def _adopt(self, parsed: ParsedAddress, unit: str, community: str | None) -> None:
        """Fill the unit, community and district that a matched record implies."""
        if parsed.unit is None and unit in self.places:
            parsed.unit = self.parser.named(unit)
            parsed.inferred.append("unit")
        if parsed.community is None and community and community in self.places:
            parsed.community = self.parser.named(community)
            parsed.inferred.append("community")
        if parsed.district is None and self.parser.district is not None and parsed.unit:
            parsed.district = self.parser.named(self.parser.district.code)
            parsed.inferred.append("district")

    # reverse

    def nearest(
        self, lon: NDArray[np.float64], lat: NDArray[np.float64], radius_m: float
    ) -> list[Nearest | None]:
        """The nearest standard address to each WGS84 point, within `radius_m` metres."""
        found: list[Nearest | None] = [None] * len(lon)
        if not self.records or not len(lon):
            return found
        x, y = crs_module.transform_array(lon, lat, crs_module.CRS.WGS84, METRIC_CRS)
        finite = np.isfinite(x) & np.isfinite(y)
        points = shapely.points(np.where(finite, x, 0.0), np.where(finite, y, 0.0))
        (query_i, tree_i), distance = self._tree.query_nearest(
            points[finite], max_distance=radius_m, return_distance=True, all_matches=False
        )
        rows = np.flatnonzero(finite)
        for qi, ti, d in zip(query_i.tolist(), tree_i.tolist(), distance.tolist(), strict=True):
            found[int(rows[qi])] = Nearest(self.records[ti], float(d))
        return found

    def reverse_many(
        self,
        index: DivisionIndex,
        lon: NDArray[np.float64],
        lat: NDArray[np.float64],
        radius_m: float,
    ) -> list[Reversed]:
        """Divisions and nearest standard address of each WGS84 point."""
        places = index.locate(lon, lat)
        nearest = self.nearest(lon, lat, radius_m)
        return [Reversed(p, n) for p, n in zip(places, nearest, strict=True)]


def _road_point(rows: Sequence[StdRecord]) -> tuple[float, float, bool]:
    """A road's imported point when it has one (not approximate), else its doors' mean."""
    own = [r for r in rows if not r.number]
    if own:
        return own[0].lon, own[0].lat, False
    return (
        float(np.mean([r.lon for r in rows])),
        float(np.mean([r.lat for r in rows])),
        True,
    )


# --- loading, caching ---------------------------------------------------------------------------


def _record(row: StdAddress) -> StdRecord:
    return StdRecord(
        row.id,
        row.address,
        row.norm_key,
        row.unit_code,
        row.community_code,
        row.road,
        row.number,
        row.lon,
        row.lat,
    )


async def _gazetteer_units(session: AsyncSession, district_code: str) -> list[OrgUnit]:
    """The district, its units and communities (not grids), with their polygons."""
    levels = [OrgLevel.DISTRICT, *TOWN_LEVELS, *COMMUNITY_LEVELS]
    stmt = select(OrgUnit).where(
        OrgUnit.code.startswith(district_code, autoescape=True), OrgUnit.level.in_(levels)
    )
    return list((await session.scalars(stmt)).all())


async def std_records(session: AsyncSession) -> list[StdRecord]:
    """Every standard address, in id order."""
    rows = (await session.scalars(select(StdAddress).order_by(StdAddress.id))).all()
    return [_record(row) for row in rows]


async def load_parser(session: AsyncSession, district_code: str) -> AddressParser:
    """An address parser over the district's current org tree."""
    units = await _gazetteer_units(session, district_code)
    return AddressParser(d for d in map(division_of, units) if d is not None)


async def load_geocoder(session: AsyncSession, district_code: str) -> Geocoder:
    """A geocoder over the district's org tree and the whole standard address library."""
    units = [
        UnitRow(u.code, u.name, u.level, u.parent_code, u.geometry, u.geometry_approximate)
        for u in await _gazetteer_units(session, district_code)
    ]
    records = await std_records(session)
    return await asyncio.to_thread(Geocoder, units, records)


async def std_fingerprint(session: AsyncSession) -> str:
    """A cheap value that changes whenever standard addresses change."""
    stmt = select(func.count(), func.max(StdAddress.id), func.max(StdAddress.updated_at))
    count, top, latest = (await session.execute(stmt)).one()
    return f"{count}:{top}:{latest.isoformat() if latest else '-'}"


class GeocoderCache:
    """Hold a Geocoder for the current org tree and address library; rebuild when either moves."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        tree: OrgTreeCache,
        district_code: str,
        check_seconds: float = 10.0,
    ) -> None:
        self._sessions = sessions
        self._tree = tree
        self._district = district_code
        self._check_seconds = check_seconds
        self._geocoder: Geocoder | None = None
        self._built_for: tuple[str, str] | None = None
        self._library = ""
        self._checked_at = -math.inf
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        """Check the library on the next read (after an import in this process)."""
        self._checked_at = -math.inf

    async def current(self) -> Geocoder:
        """The geocoder, rebuilt if the tree or the library moved."""
        tree_version = (await self._tree.current()).version
        fresh = time.monotonic() - self._checked_at < self._check_seconds
        if (
            self._geocoder is not None
            and fresh
            and self._built_for == (tree_version, self._library)
        ):
            return self._geocoder
        async with self._lock, self._sessions() as session:
            if time.monotonic() - self._checked_at >= self._check_seconds:
                self._library = await std_fingerprint(session)
                self._checked_at = time.monotonic()
            wanted = (tree_version, self._library)
            if self._geocoder is None or self._built_for != wanted:
                self._geocoder = await load_geocoder(session, self._district)
                self._built_for = wanted
        return self._geocoder


# --- importing the standard address library ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class StdAddressInput:
    """One row of a standard address file, coordinates already in WGS84."""

    line: int
    address: str
    lon: float
    lat: float
    unit_code: str
    community_code: str
    source: str


@dataclass(frozen=True, slots=True)
class StdImportSummary:
    """What an import wrote."""

    rows: int
    inserted: int
    updated: int
    duplicates: int


#: Chinese column names accepted for the English ones.
_HEADERS = {
    "地址": "address",
    "标准地址": "address",
    "经度": "lon",
    "纬度": "lat",
    "街镇代码": "unit_code",
    "居村代码": "community_code",
    "来源": "source",
}


def _decode(content: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 as government files often are."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return content.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise StdAddressError("the file is neither UTF-8 nor GB18030 text") from exc


def _float(value: str | None, line: int, name: str) -> float:
    try:
        number = float((value or "").strip())
    except ValueError:
        raise StdAddressError(f"line {line}: {name} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise StdAddressError(f"line {line}: {name} is not finite")
    return number


def read_std_address_csv(content: bytes, source_crs: str) -> list[StdAddressInput]:
    """Rows of `address,lon,lat[,unit_code,community_code,source]`, converted to WGS84."""
    reader = csv.DictReader(io.StringIO(_decode(content)))
    if reader.fieldnames is not None:
        reader.fieldnames = [_HEADERS.get(n.strip(), n.strip()) for n in reader.fieldnames]
    missing = {"address", "lon", "lat"} - set(reader.fieldnames or ())
    if missing:
        raise StdAddressError(f"missing column(s) {', '.join(sorted(missing))}")
    raw: list[tuple[int, dict[str, str | None]]] = []
    for line, record in enumerate(reader, start=2):
        if len(raw) >= MAX_IMPORT_ROWS:
            raise StdAddressError(f"more than {MAX_IMPORT_ROWS} rows; split the file")
        raw.append((line, record))
    xs = np.array([_float(r["lon"], n, "lon") for n, r in raw], dtype=np.float64)
    ys = np.array([_float(r["lat"], n, "lat") for n, r in raw], dtype=np.float64)
    lon, lat = crs_module.transform_array(xs, ys, source_crs, crs_module.CRS.WGS84)
    rows: list[StdAddressInput] = []
    for (line, record), x, y in zip(raw, lon.tolist(), lat.tolist(), strict=True):
        address = (record.get("address") or "").strip()
        if not address or len(address) > 255 or "\x00" in address:
            raise StdAddressError(f"line {line}: the address is empty, too long or has NUL")
        west, south, east, north = SHANGHAI_BOX
        if not (west <= x <= east and south <= y <= north):
            raise StdAddressError(f"line {line}: ({x:.5f}, {y:.5f}) is not in Shanghai")
        rows.append(
            StdAddressInput(
                line,
                address,
                x,
                y,
                (record.get("unit_code") or "").strip(),
                (record.get("community_code") or "").strip(),
                (record.get("source") or "").strip()[:500],
            )
        )
    return rows


def _row_values(
    parser: AddressParser, row: StdAddressInput, source: str
) -> dict[str, object] | str:
    """The table values of one input row, or the reason it cannot be imported."""
    parsed = parser.parse(row.address)
    unit = row.unit_code or (parsed.unit.code if parsed.unit else "")
    community = row.community_code or (parsed.community.code if parsed.community else "")
    known = parser.divisions
    if unit not in known or known[unit].kind is not Kind.UNIT:
        return f"line {row.line}: no unit: name it in the address or give unit_code"
    if community and (community not in known or known[community].parent_code != unit):
        return f"line {row.line}: community {community} is not in unit {unit}"
    key = door_key(parsed, unit, community or None)
    if key is None:
        return f"line {row.line}: not a door or road (needs a road, or a village and 号)"
    if len(key) > 255 or any(len(v or "") > 16 for v in (parsed.lane, parsed.number)):
        return f"line {row.line}: the address is too long to key"
    return {
        "address": row.address,
        "norm_key": key,
        "unit_code": unit,
        "community_code": community or None,
        "road": (parsed.road or "")[:64] or None,
        "lane": parsed.lane,
        "sublane": (parsed.sublane or "")[:16] or None,
        "number": parsed.number,
        "village_group": (parsed.village_group or "")[:16] or None,
        "lon": row.lon,
        "lat": row.lat,
        "source": row.source or source,
    }


def prepare_std_addresses(
    parser: AddressParser, rows: Sequence[StdAddressInput], source: str
) -> tuple[list[dict[str, object]], int]:
    """Table values per distinct key (the last row of a key wins) and the duplicate count."""
    values: dict[str, dict[str, object]] = {}
    errors: list[str] = []
    for row in rows:
        result = _row_values(parser, row, source)
        if isinstance(result, str):
            errors.append(result)
        else:
            values[str(result["norm_key"])] = result
    if errors:
        shown = "; ".join(errors[:20])
        more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
        raise StdAddressError(f"{len(errors)} row(s) refused: {shown}{more}")
    return list(values.values()), len(rows) - len(values)


async def write_std_addresses(
    session: AsyncSession, values: Sequence[dict[str, object]], *, rows: int, duplicates: int
) -> StdImportSummary:
    """Insert or update prepared standard addresses by key."""
    existing: dict[str, int] = {}
    keys = [str(v["norm_key"]) for v in values]
    for start in range(0, len(keys), _CHUNK):
        stmt = select(StdAddress.norm_key, StdAddress.id).where(
            StdAddress.norm_key.in_(keys[start : start + _CHUNK])
        )
        existing.update({key: ident for key, ident in (await session.execute(stmt)).all()})
    fresh = [v for v in values if v["norm_key"] not in existing]
    now = utcnow()
    known = [
        {**v, "id": existing[str(v["norm_key"])], "updated_at": now}
        for v in values
        if v["norm_key"] in existing
    ]
    if fresh:
        await session.execute(insert(StdAddress), fresh)
    if known:
        await session.execute(update(StdAddress), known)
    await session.flush()
    return StdImportSummary(rows, len(fresh), len(known), duplicates)


async def import_std_addresses(
    session: AsyncSession, parser: AddressParser, rows: Sequence[StdAddressInput], source: str
) -> StdImportSummary:
    """Prepare and write standard addresses, all or nothing."""
    values, duplicates = prepare_std_addresses(parser, rows, source)
    return await write_std_addresses(session, values, rows=len(rows), duplicates=duplicates)


def units_from_divisions(divisions: DivisionSet, district_name: str) -> list[UnitRow]:
    """Gazetteer rows straight from a division set and generated boundaries (no database)."""
    children: dict[str, list[str]] = defaultdict(list)
    for row in divisions.communities:
        children[row.parent_code].append(row.code)
    codes = [row.code for row in divisions.units]
    shapes = generate_boundaries(divisions.district_code, codes, children)
    geometry = {b.code: json.dumps(b.geometry) for b in shapes}
    outline = json.dumps(mapping(district_outline(divisions.district_code)))
    rows = [UnitRow(divisions.district_code, district_name, OrgLevel.DISTRICT, None, outline, True)]
    for row in [*divisions.units, *divisions.communities]:
        rows.append(
            UnitRow(row.code, row.name, row.level, row.parent_code, geometry.get(row.code), True)
        )
    return rows

"""HTTP endpoints of geocoding under /api/v1/geo: forward, reverse, standard address import."""

from __future__ import annotations

import asyncio
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, Form, Query, Request, UploadFile
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cityops.auth import audit
from cityops.auth.deps import require
from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.geo import crs as crs_module
from cityops.geo.address.geocode import (
    Geocoded,
    GeocoderCache,
    Level,
    Nearest,
    Reversed,
    StdAddressError,
    prepare_std_addresses,
    read_std_address_csv,
    write_std_addresses,
)
from cityops.geo.address.parse import Named
from cityops.geo.lookup import DivisionIndex, Match
from cityops.geo.schemas import Coordinate, DivisionRef
from cityops.geo.service import DivisionIndexCache
from cityops.kit.errors import OutOfScope, ProblemError
from cityops.kit.web import ClientIp, DbSession

router = APIRouter(prefix="/api/v1/geo", tags=["geo"])
Reader = Annotated[Principal, Depends(require(Perm.ORG_READ))]
Importer = Annotated[Principal, Depends(require(Perm.ORG_IMPORT))]
FiniteQuery = Annotated[
    float, Query(allow_inf_nan=False, ge=-crs_module.COORD_LIMIT, le=crs_module.COORD_LIMIT)
]

MAX_ADDRESS_LENGTH = 200
MAX_GEOCODE_BATCH = 10_000
MAX_ADDRESS_FILE = 20 * 1024 * 1024
#: Body limits these paths need (for BodySizeLimit's overrides): 10,000 addresses as JSON with
#: \uXXXX escapes, as Python clients send them, take about 1.1 MB, over the 1 MiB default.
GEOCODE_BODY_LIMITS = {
    "/api/v1/geo/geocode": 8 * 1024 * 1024,
    "/api/v1/geo/addresses/import": MAX_ADDRESS_FILE + 64 * 1024,
}
DEFAULT_RADIUS_M = 100.0
MAX_RADIUS_M = 5_000.0
Address = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ADDRESS_LENGTH)
]
Radius = Annotated[float, Field(gt=0, le=MAX_RADIUS_M, allow_inf_nan=False)]


class NamedRef(BaseModel):
    """A division named (or implied) by an address."""

    code: str
    name: str


class AddressComponents(BaseModel):
    """What the parser read; `inferred` on the result lists what was implied, not written."""

    province: str | None
    district: NamedRef | None
    unit: NamedRef | None
    community: NamedRef | None
    road: str | None
    lane: str | None = Field(description="弄")
    sublane: str | None = Field(description="支弄")
    number: str | None = Field(description="号")
    building: str | None = Field(description="幢/栋/号楼")
    room: str | None = Field(description="室")
    village_group: str | None = Field(description="组 (村民小组)")


class StdAddressRef(BaseModel):
    """The standard address that placed the result."""

    id: int
    address: str


class GeocodeResult(BaseModel):
    """One address placed: components, coordinate, level and confidence."""

    input: str
    normalised: str
    components: AddressComponents
    lon: float | None
    lat: float | None
    crs: str
    level: Level
    confidence: float = Field(
        ge=0,
        le=1,
        description="How likely the placement is right; at or above 0.8 it can be trusted "
        "(docs/geo.md, 'Levels, coordinates and confidence')",
    )
    ambiguous: bool = Field(
        description="The text fits several places and none was chosen: see `alternatives`"
    )
    approximate: bool = Field(
        description="True when the coordinate comes from a generated polygon or a road's mean"
    )
    std_address: StdAddressRef | None
    inferred: list[str]
    alternatives: list[NamedRef]
    notes: list[str]


class GeocodeBatchRequest(BaseModel):
    """Up to 10,000 addresses."""

    model_config = ConfigDict(extra="forbid")

    addresses: list[Address] = Field(min_length=1, max_length=MAX_GEOCODE_BATCH)
    crs: str = Field(default="wgs84", max_length=64)


class GeocodeBatchResult(BaseModel):
    """One result per address, in order."""

    crs: str
    items: list[GeocodeResult]


class NearestAddress(BaseModel):
    """The nearest standard address, in the request's CRS, and its distance in metres."""

    id: int
    address: str
    lon: float
    lat: float
    distance_m: float


class ReverseResult(BaseModel):
    """The divisions containing a point and the nearest standard address within the radius."""

    lon: float
    lat: float
    crs: str
    inside_district: bool
    district: DivisionRef | None
    unit: DivisionRef | None
    community: DivisionRef | None
    grid: DivisionRef | None
    multigrid: DivisionRef | None
    nearest: NearestAddress | None


class ReverseBatchRequest(BaseModel):
    """Up to 10,000 points in one CRS."""

    model_config = ConfigDict(extra="forbid")

    points: list[Coordinate] = Field(min_length=1, max_length=MAX_GEOCODE_BATCH)
    crs: str = Field(default="wgs84", max_length=64)
    radius_m: Radius = DEFAULT_RADIUS_M


class ReverseBatchResult(BaseModel):
    """One result per point, in order."""

    crs: str
    items: list[ReverseResult]
    approximate_boundaries: bool


class AddressImportResult(BaseModel):
    """What an import of standard addresses wrote."""

    rows: int
    inserted: int
    updated: int
    duplicates: int = Field(description="Rows whose key an earlier row of the file had")


# --- helpers ------------------------------------------------------------------------------------


def _resolved(name: str, where: list[str]) -> str:
    """A CRS name resolved, or a 422 problem naming the field."""
    try:
        return crs_module.resolve_crs(name)
    except crs_module.CRSError as exc:
        raise ProblemError(
            422, "validation", str(exc), errors=[{"loc": where, "msg": str(exc), "type": "crs"}]
        ) from exc


def geocoder_cache(request: Request) -> GeocoderCache:
    """The app's geocoder cache, made on first use."""
    state = request.app.state
    cache: GeocoderCache | None = getattr(state, "geocoder", None)
    if cache is None:
        cache = GeocoderCache(state.sessions, state.org_tree, state.settings.district_code)
        state.geocoder = cache
    return cache


async def _division_index(request: Request) -> DivisionIndex:
    cache: DivisionIndexCache = request.app.state.division_index
    return await cache.current()


def _named(named: Named | None) -> NamedRef | None:
    return NamedRef(code=named.code, name=named.name) if named else None


def _result(answer: Geocoded, crs: str) -> GeocodeResult:
    parsed = answer.parsed
    record = answer.std_address
    return GeocodeResult(
        input=parsed.input,
        normalised=parsed.normalised,
        components=AddressComponents(
            province=parsed.province,
            district=_named(parsed.district),
            unit=_named(parsed.unit),
            community=_named(parsed.community),
            road=parsed.road,
            lane=parsed.lane,
            sublane=parsed.sublane,
            number=parsed.number,
            building=parsed.building,
            room=parsed.room,
            village_group=parsed.village_group,
        ),
        lon=answer.lon,
        lat=answer.lat,
        crs=crs,
        level=answer.level,
        confidence=answer.confidence,
        ambiguous=answer.ambiguous,
        approximate=answer.approximate,
        std_address=StdAddressRef(id=record.id, address=record.address) if record else None,
        inferred=parsed.inferred,
        alternatives=[NamedRef(code=a.code, name=a.name) for a in parsed.alternatives],
        notes=parsed.notes,
    )


def _ref(match: Match | None) -> DivisionRef | None:
    if match is None:
        return None
    return DivisionRef(code=match.code, name=match.name, approximate=match.approximate)


def _nearest(found: Nearest | None, crs: str) -> NearestAddress | None:
    if found is None:
        return None
    lon, lat = crs_module.transform(found.record.lon, found.record.lat, "wgs84", crs)
    return NearestAddress(
        id=found.record.id,
        address=found.record.address,
        lon=lon,
        lat=lat,
        distance_m=round(found.distance_m, 2),
    )


def _reverse_result(x: float, y: float, crs: str, item: Reversed) -> ReverseResult:
    place = item.placement
    return ReverseResult(
        lon=x,
        lat=y,
        crs=crs,
        inside_district=place.inside_district,
        district=_ref(place.district),
        unit=_ref(place.unit),
        community=_ref(place.community),
        grid=_ref(place.grid),
        multigrid=_ref(place.multigrid),
        nearest=_nearest(item.nearest, crs),
    )


async def _reverse(
    request: Request, xs: NDArray[np.float64], ys: NDArray[np.float64], crs: str, radius: float
) -> list[ReverseResult]:
    """Reverse-geocode points given in `crs`; answers keep the request's coordinates."""
    geocoder = await geocoder_cache(request).current()
    index = await _division_index(request)
    lon, lat = crs_module.transform_array(xs, ys, crs, crs_module.CRS.WGS84)
    found = await asyncio.to_thread(geocoder.reverse_many, index, lon, lat, radius)
    return [
        _reverse_result(x, y, crs, item)
        for x, y, item in zip(xs.tolist(), ys.tolist(), found, strict=True)
    ]


# --- endpoints ----------------------------------------------------------------------------------


@router.get("/geocode", response_model=GeocodeResult, summary="Geocode one address")
async def geocode_one(
    request: Request,
    principal: Reader,
    address: Annotated[str, Query(min_length=1, max_length=MAX_ADDRESS_LENGTH)],
    crs: Annotated[str, Query(max_length=64)] = "wgs84",
) -> GeocodeResult:
    """Parse a Songjiang address and place it; `level: none` when it cannot be placed."""
    target = _resolved(crs, ["query", "crs"])
    if not address.strip():
        raise ProblemError(
            422,
            "validation",
            "the address is empty",
            errors=[{"loc": ["query", "address"], "msg": "empty address", "type": "empty"}],
        )
    geocoder = await geocoder_cache(request).current()
    return _result(geocoder.geocode_many([address.strip()], target)[0], target)


@router.post("/geocode", response_model=GeocodeBatchResult, summary="Geocode many addresses")
async def geocode_batch(
    request: Request, body: GeocodeBatchRequest, principal: Reader
) -> GeocodeBatchResult:
    """Place up to 10,000 addresses; each result is what the single call would answer."""
    target = _resolved(body.crs, ["body", "crs"])
    geocoder = await geocoder_cache(request).current()
    answers = await asyncio.to_thread(geocoder.geocode_many, body.addresses, target)
    return GeocodeBatchResult(crs=target, items=[_result(a, target) for a in answers])


@router.get("/reverse", response_model=ReverseResult, summary="Reverse-geocode one point")
async def reverse_one(
    request: Request,
    principal: Reader,
    lon: FiniteQuery,
    lat: FiniteQuery,
    crs: Annotated[str, Query(max_length=64)] = "wgs84",
    radius_m: Annotated[float, Query(gt=0, le=MAX_RADIUS_M)] = DEFAULT_RADIUS_M,
) -> ReverseResult:
    """The divisions containing a point and the nearest standard address within `radius_m`."""
    source = _resolved(crs, ["query", "crs"])
    items = await _reverse(request, np.array([lon]), np.array([lat]), source, radius_m)
    return items[0]


@router.post("/reverse", response_model=ReverseBatchResult, summary="Reverse-geocode many points")
async def reverse_batch(
    request: Request, body: ReverseBatchRequest, principal: Reader
) -> ReverseBatchResult:
    """Up to 10,000 points in one call; the answer keeps their order."""
    source = _resolved(body.crs, ["body", "crs"])
    array = np.asarray(body.points, dtype=np.float64).reshape(-1, 2)
    items = await _reverse(request, array[:, 0], array[:, 1], source, body.radius_m)
    approximate = any(
        ref.approximate for item in items for ref in (item.unit, item.community, item.grid) if ref
    )
    return ReverseBatchResult(crs=source, items=items, approximate_boundaries=approximate)


@router.post(
    "/addresses/import", response_model=AddressImportResult, summary="Import standard addresses"
)
async def import_addresses(
    request: Request,
    file: UploadFile,
    session: DbSession,
    ip: ClientIp,
    principal: Importer,
    crs: Annotated[str, Form(max_length=64)] = "wgs84",
) -> AddressImportResult:
    """Import a 标准地址库 CSV (address, lon, lat[, unit_code, community_code, source]).

    Rows are keyed by what the parser reads (unit, road, 弄, 支弄, 号; or village, 组, 号): an
    existing key is updated, a new one inserted. Any bad row refuses the whole file (422).
    """
    source_crs = _resolved(crs, ["body", "crs"])
    content = await file.read(MAX_ADDRESS_FILE + 1)
    if len(content) > MAX_ADDRESS_FILE:
        raise ProblemError(413, "body-too-large", f"files are limited to {MAX_ADDRESS_FILE} bytes")
    label = (file.filename or "addresses.csv").replace("\x00", "")[:128]
    cache = geocoder_cache(request)
    parser = (await cache.current()).parser
    try:
        rows = await asyncio.to_thread(read_std_address_csv, content, source_crs)
        values, duplicates = await asyncio.to_thread(
            prepare_std_addresses, parser, rows, f"imported from {label}"
        )
    except StdAddressError as exc:
        raise ProblemError(422, "validation", str(exc)) from exc
    outside = sorted({str(v["unit_code"]) for v in values} - _allowed(principal, values))
    if outside:
        raise OutOfScope(outside[0])
    summary = await write_std_addresses(session, values, rows=len(rows), duplicates=duplicates)
    await audit.record(
        session,
        action="geo.import_addresses",
        result="success",
        actor=principal,
        target=label,
        client_ip=ip,
        detail={"inserted": summary.inserted, "updated": summary.updated},
    )
    cache.invalidate()
    return AddressImportResult(
        rows=summary.rows,
        inserted=summary.inserted,
        updated=summary.updated,
        duplicates=summary.duplicates,
    )


def _allowed(principal: Principal, values: list[dict[str, object]]) -> set[str]:
    """The unit codes of the rows that the importer's scope covers."""
    return {str(v["unit_code"]) for v in values if principal.scope.allows(str(v["unit_code"]))}

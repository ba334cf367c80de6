"""Opening cases: idempotent by (source, source key), located, routed, and checked for twins.

Every source adapter (12345 orders, urban grid, town systems, Open311, mobile H5, IoT/AI/video
events) calls `intake` with a `NewCase` and its own `Actor`; the generic HTTP endpoint does too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial

from cityops.cases.access import Actor, CaseAccess
from cityops.cases.catalog.codes import category_code, find_category
from cityops.cases.catalog.shipped import UnknownCategoryError
from cityops.cases.errors import invalid
from cityops.cases.events import CaseCreated
from cityops.cases.flow.routing import (
    Divisions,
    LocationError,
    divisions_at_point,
    divisions_of_code,
    route,
)
from cityops.cases.flow.service import CaseService
from cityops.cases.flow.table import FINAL, Status
from cityops.cases.intake.contact import Contact, seal
from cityops.cases.models import CaseRecord
from cityops.cases.repository import Twin, TwinSearch
from cityops.geo import crs as crs_module
from cityops.geo.lookup import DivisionIndex
from cityops.kit.errors import Conflict, OutOfScope, ProblemError
from cityops.org.tree import OrgTree

EARTH_RADIUS_M = 6_371_008.8
OPEN_STATUSES = tuple(s.value for s in Status if s not in FINAL)


class Source(StrEnum):
    """Where a case comes from (案件来源)."""

    GRID = "grid"  # 网格巡查 / urban-grid system
    HOTLINE_12345 = "hotline_12345"
    TOWN_SYSTEM = "town_system"  # a town's own dispatch system
    IOT = "iot"
    AI = "ai"
    VIDEO = "video"
    MOBILE = "mobile"  # grid workers' and staff's phones (the portal's /m/report)
    CITIZEN = "citizen"  # residents: the portal's H5 page (/citizen), 随申拍-like apps
    OPEN311 = "open311"
    UPPER_PLATFORM = "upper_platform"  # the city platform
    COMMAND = "command"  # an incident declared by command and dispatch (指挥体系)


class Urgency(StrEnum):
    """How urgent a case is (紧急程度)."""

    NORMAL = "normal"  # 一般
    URGENT = "urgent"  # 紧急
    CRITICAL = "critical"  # 特急


@dataclass(frozen=True, slots=True)
class NewCase:
    """A report to open a case from: a location (any supported CRS) or an org code."""

    source: str
    category: str
    text: str
    source_key: str | None = None
    lon: float | None = None
    lat: float | None = None
    crs: str = "wgs84"
    org_code: str | None = None
    address: str = ""
    contact: Contact | None = None
    urgency: str = Urgency.NORMAL
    photos: tuple[str, ...] = ()
    occurred_at: datetime | None = None
    component_id: str | None = None  # 部件标识码, checked by the adapter that takes it


@dataclass(frozen=True, slots=True)
class Candidate:
    """An open case nearby of the same category: perhaps the same problem."""

    id: int
    status: str
    created_at: datetime
    distance_m: float


@dataclass(slots=True)
class Intake:
    """The case (new or the one already opened for the source key) and merge candidates."""

    case: CaseRecord
    created: bool
    duplicates: list[Candidate] = field(default_factory=list)


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def to_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """A point in WGS84/CGCS2000, from any supported CRS; 422 on a bad CRS or point."""
    try:
        name = crs_module.resolve_crs(crs)
        x, y = crs_module.transform(lon, lat, name, crs_module.CRS.WGS84)
    except crs_module.CRSError as exc:
        raise invalid("location", str(exc), "crs") from exc
    if not (math.isfinite(x) and math.isfinite(y)):
        raise invalid("location", f"({lon}, {lat}) in {crs} cannot be converted")
    return x, y


def _place(
    data: NewCase, tree: OrgTree, index: DivisionIndex, district: str
) -> tuple[Divisions, float | None, float | None]:
    try:
        if data.lon is not None and data.lat is not None:
            lon, lat = to_wgs84(data.lon, data.lat, data.crs)
            return divisions_at_point(index, lon, lat, district), lon, lat
        if data.org_code:
            return divisions_of_code(tree, data.org_code, district), None, None
    except LocationError as exc:
        raise invalid("location" if data.lon is not None else "org_code", str(exc)) from exc
    raise invalid("location", "give a location (lon, lat) or the org_code of the place")


async def existing_case(svc: CaseService, access: CaseAccess, data: NewCase) -> Intake | None:
    """The case already opened for this source key, if the caller may see it; 409 if not."""
    if not data.source_key:
        return None
    found = await svc.repo.by_source_key(data.source, data.source_key)
    if found is None:
        return None
    if not access.allows(found):
        raise Conflict(f"source key {data.source_key!r} of {data.source} is already used")
    return Intake(found, created=False)


async def intake(
    svc: CaseService,
    access: CaseAccess,
    actor: Actor,
    data: NewCase,
    tree: OrgTree,
    index: DivisionIndex,
) -> Intake:
    """Open a case, or return the one already opened for (source, source_key)."""
    try:
        category = find_category(data.category)
    except UnknownCategoryError as exc:
        raise invalid("category", f"{exc}; see GET /api/v1/cases/categories", "category") from exc
    code = category_code(category)
    try:
        divisions, lon, lat = _place(data, tree, index, svc.settings.district_code)
        place = divisions.codes()[0]
        if not access.scope.allows(place):
            raise OutOfScope(place)
    except ProblemError:
        # A repeated report gets its first case back, even if it no longer places.
        repeat = await existing_case(svc, access, data)
        if repeat is not None:
            return repeat
        raise
    search = twin_search(svc, code, lon, lat)
    facts = await svc.repo.intake_facts(access, data.source, data.source_key or None, search)
    if facts.existing_id is not None:
        repeat = await existing_case(svc, access, data)
        if repeat is not None:
            return repeat
    rules = await svc.env.rules.current(svc.repo, facts.rules_stamp)
    routed = route(category, divisions, rules)
    case = CaseRecord(
        id=facts.next_id,
        source=data.source,
        source_key=data.source_key or None,
        category=code,
        component_id=data.component_id,
        text=data.text,
        lon=lon,
        lat=lat,
        address=data.address,
        unit_code=divisions.unit_code,
        community_code=divisions.community_code,
        grid_code=divisions.grid_code,
        multigrid_code=divisions.multigrid_code,
        owner_code=routed.owner_code,
        loop_level=routed.loop_level.value,
        status=Status.RECEIVED.value,
        department_key=routed.department_key,
        escalate_on_breach=routed.escalate_on_breach,
        rule_id=routed.rule_ids[0] if routed.rule_ids else None,
        urgency=data.urgency,
        photos=list(data.photos),
        created_by_id=actor.account_id,
        created_by=actor.name,
        occurred_at=data.occurred_at,
        created_at=svc.now,
        updated_at=svc.now,
    )
    contact = data.contact or None  # a Contact with nothing in it is not kept
    # Sealing binds the contact to the row's id: the repository seals as soon as the id is
    # known (before the INSERT when it was drawn ahead, which saves an UPDATE).
    sealer = partial(seal, contact=contact, cipher=svc.env.cipher()) if contact else None
    await svc.repo.insert_case(case, sealer)
    await svc.log(
        case,
        actor,
        "created",
        None,
        detail={
            "source": case.source,
            "source_key": case.source_key,
            "category": case.category,
            "rules": list(routed.rule_ids),
        },
    )
    svc.emit(
        CaseCreated.about(
            case,
            svc.now,
            f"{CaseCreated.name}:{case.id}",
            source=case.source,
            source_key=case.source_key,
            category=case.category,
            status=case.status,
        )
    )
    return Intake(case, created=True, duplicates=candidates(svc, lon, lat, facts.twins))


def twin_search(
    svc: CaseService, category: str, lon: float | None, lat: float | None
) -> TwinSearch | None:
    """The box and window in which open cases of the category may be the same problem."""
    if lon is None or lat is None:
        return None
    radius = svc.settings.case_duplicate_radius_m
    dlat = math.degrees(radius / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
    since = svc.now - timedelta(hours=svc.settings.case_duplicate_hours)
    box = (lon - dlon, lat - dlat, lon + dlon, lat + dlat)
    return TwinSearch(category, box, (since, svc.now), OPEN_STATUSES)


def candidates(
    svc: CaseService, lon: float | None, lat: float | None, twins: Sequence[Twin]
) -> list[Candidate]:
    """The twins within the radius, nearest first: merge candidates."""
    if lon is None or lat is None:
        return []
    radius = svc.settings.case_duplicate_radius_m
    found = [
        Candidate(twin.id, twin.status, twin.created_at, distance_m(lon, lat, *twin.at))
        for twin in twins
    ]
    return sorted((c for c in found if c.distance_m <= radius), key=lambda c: (c.distance_m, c.id))

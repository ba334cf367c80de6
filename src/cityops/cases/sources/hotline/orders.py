"""The 12345 adapter: turn a hotline work order into a case, placed, routed and called back.

An order is idempotent by its number (工单编号, the case's source key): a repeat returns the
case already opened. Its place is the point it gives (any CRS), else its address geocoded by the
platform's gazetteer: a door or road places it at a point, a community or town by that
division's code; an address that cannot be placed inside the district is refused (422). Its
callbacks go to the order's own URL (an allowed host) or the system's configured default, and
are signed with the system's secret; without a secret there are no callbacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from urllib.parse import urlsplit

from sqlalchemy import select

from cityops.cases.access import Actor, CaseAccess
from cityops.cases.catalog.codes import category_code, find_category
from cityops.cases.catalog.shipped import Category, Kind, UnknownCategoryError, shipped_catalog
from cityops.cases.errors import invalid
from cityops.cases.flow.service import CaseService
from cityops.cases.intake.contact import Contact
from cityops.cases.intake.opening import Intake, NewCase, Source, existing_case, intake
from cityops.cases.sources.hotline.callbacks import secret_ref_of
from cityops.cases.sources.hotline.models import HotlineOrder
from cityops.cases.sources.hotline.schemas import HotlineOrderIn
from cityops.config import HotlineSystem, Settings
from cityops.geo.address.geocode import Geocoder, Level
from cityops.geo.lookup import DivisionIndex
from cityops.org.tree import OrgTree

DEFAULT_PORTS = {"http": 80, "https": 443}
POINT_LEVELS = (Level.STD_ADDRESS, Level.ROAD)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an order lies: a point (in its CRS) or a division code, and how it was found."""

    lon: float | None = None
    lat: float | None = None
    crs: str = "wgs84"
    org_code: str | None = None
    located_by: str = "point"
    level: str | None = None
    confidence: float | None = None


@dataclass(slots=True)
class Received:
    """The case of an order (new or already received) and its hotline row."""

    result: Intake
    order: HotlineOrder | None


def request_type_of(text: str) -> Category:
    """The 12345 request type (诉求类型) by name, alias or code; 422 if unknown."""
    catalog = shipped_catalog(Kind.HOTLINE)
    value = text.strip().removeprefix("hotline:")
    try:
        return catalog.get(value)
    except UnknownCategoryError:
        pass
    try:
        return catalog.find(value)
    except UnknownCategoryError:
        names = "、".join(c.name for c in catalog)
        raise invalid("request_type", f"unknown request type {text!r}; one of {names}") from None


def case_category(order: HotlineOrderIn, request_type: Category) -> str:
    """The case's category: the 部件/事件 class when given, else the request type."""
    if order.category is None:
        return category_code(request_type)
    try:
        found = find_category(order.category)
    except UnknownCategoryError as exc:
        raise invalid("category", f"{exc}; see GET /api/v1/cases/categories") from exc
    if found.kind is Kind.HOTLINE:
        raise invalid("category", "give the request type in request_type, a 部件/事件 class here")
    return category_code(found)


def _entry(entry: str) -> tuple[str, int | None] | None:
    """An allowlist entry as (host, port or None); None when it cannot be read."""
    try:
        parts = urlsplit("//" + entry.strip())
        return (parts.hostname or "", parts.port) if parts.hostname else None
    except ValueError:
        return None


def host_allowed(url: str, allowed: list[str]) -> bool:
    """Whether the URL's host (and port) is on the list: host, host:port, or *.suffix."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    for entry in filter(None, map(_entry, allowed)):
        name, entry_port = entry
        if entry_port is not None and entry_port != port:
            continue
        if name.startswith("*.") and host.endswith(name[1:]):
            return True
        if host == name:
            return True
    return False


def callback_of(
    url: str | None, system_name: str, system: HotlineSystem | None, settings: Settings
) -> str | None:
    """The URL an order's callbacks go to, or None; 422 for a refused host or no secret."""
    default = system.callback_url if system else None
    if url is None:
        return default
    allowed = list(settings.hotline_callback_hosts)
    if default:
        allowed.append(urlsplit(default).netloc.rpartition("@")[2])
    if not host_allowed(url, allowed):
        host = urlsplit(url).netloc
        raise invalid(
            "callback_url",
            f"callbacks to {host} are not allowed: the host must be in "
            "CITYOPS_HOTLINE_CALLBACK_HOSTS or be the system's configured callback host",
        )
    if system is None:
        raise invalid(
            "callback_url",
            f"no signing secret is configured for {system_name} (CITYOPS_HOTLINE_SYSTEMS): "
            "callbacks cannot be signed",
        )
    return url


def place_of(order: HotlineOrderIn, geocoder: Geocoder) -> Placement:
    """The order's point if it gives one, else its address placed by the gazetteer."""
    if order.location is not None:
        return Placement(order.location.lon, order.location.lat, order.location.crs)
    answer = geocoder.geocode(order.address.strip())
    parsed = answer.parsed
    level, confidence = answer.level.value, answer.confidence
    if parsed.outside is not None:
        raise invalid("address", f"{order.address!r} lies in {parsed.outside}, not this district")
    if answer.level in POINT_LEVELS and answer.lon is not None and answer.lat is not None:
        return Placement(answer.lon, answer.lat, "wgs84", None, "geocoder", level, confidence)
    named = {Level.COMMUNITY: parsed.community, Level.UNIT: parsed.unit}.get(answer.level)
    if named is not None:
        return Placement(
            org_code=named.code, located_by="geocoder", level=level, confidence=confidence
        )
    raise invalid(
        "address",
        f"{order.address!r} cannot be placed inside the district (geocoded to level {level}): "
        "name the street/town and community, or give a location",
    )


def new_case(order: HotlineOrderIn, category: str, place: Placement) -> NewCase:
    """The report an order stands for."""
    caller = order.caller
    return NewCase(
        source=Source.HOTLINE_12345,
        category=category,
        text=order.content,
        source_key=order.order_no,
        lon=place.lon,
        lat=place.lat,
        crs=place.crs,
        org_code=place.org_code,
        address=order.address,
        contact=Contact(caller.name, caller.phone) if caller else None,
        urgency=order.urgency.value,
    )


async def order_of(svc: CaseService, case_id: int) -> HotlineOrder | None:
    """The hotline row of a case, if it came as a 12345 order through this adapter."""
    return await svc.session.scalar(select(HotlineOrder).where(HotlineOrder.case_id == case_id))


@dataclass(frozen=True, slots=True)
class Context:
    """What receiving an order needs besides the order: who sends it and the platform's maps."""

    svc: CaseService
    access: CaseAccess
    actor: Actor
    tree: OrgTree
    index: DivisionIndex
    geocoder: Geocoder


async def receive_order(ctx: Context, order: HotlineOrderIn) -> Received:
    """Open the case of an order, or return the one already opened for its number."""
    svc, settings = ctx.svc, ctx.svc.settings
    system = settings.hotline_systems.get(ctx.actor.name)
    callback = callback_of(order.callback_url, ctx.actor.name, system, settings)
    request_type = request_type_of(order.request_type)
    category = case_category(order, request_type)
    probe = NewCase(Source.HOTLINE_12345, category, order.content, order.order_no)
    repeat = await existing_case(svc, ctx.access, probe)
    if repeat is not None:
        return Received(repeat, await order_of(svc, repeat.case.id))
    place = place_of(order, ctx.geocoder)
    result = await intake(
        svc, ctx.access, ctx.actor, new_case(order, category, place), ctx.tree, ctx.index
    )
    row = HotlineOrder(
        order_no=order.order_no,
        case_id=result.case.id,
        request_type=category_code(request_type),
        system_account_id=ctx.actor.account_id,
        system_name=ctx.actor.name,
        callback_url=callback,
        secret_ref=secret_ref_of(ctx.actor.name) if callback else None,
        called_at=order.called_at.astimezone(UTC) if order.called_at else None,
        hotline_due_at=order.deadline.astimezone(UTC) if order.deadline else None,
        located_by=place.located_by,
        geocode_level=place.level,
        geocode_confidence=place.confidence,
        created_at=svc.now,
    )
    svc.session.add(row)
    await svc.session.flush()
    return Received(result, row)

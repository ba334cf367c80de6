"""From a GeoReport POST form to the platform's `NewCase`: service, place, component, key.

Location, in the spec's order of preference: `lat`/`long` (WGS84; the optional `crs` field is
a cityops extension for apps that hold GCJ-02 or BD-09), else `address_id` (an id of the
standard address library, 标准地址库), else `address_string`, geocoded: a door or road gives a
point, a community or town gives the place without a point, anything vaguer is refused.

Idempotence (the spec has none): a client may send `Idempotency-Key` (header) or the
`idempotency_key` field. The source key is then `<client account>:<device>:<key>`, where
`<device>` is a short hash of `device_id` (else `account_id`), so two devices counting their
own reports from 1 never collide and no device identifier is stored in clear.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth.principal import Principal
from cityops.cases.catalog.codes import category_code
from cityops.cases.catalog.shipped import Category, Kind
from cityops.cases.intake.contact import Contact
from cityops.cases.intake.opening import NewCase, Source
from cityops.cases.sources.components import ComponentIdError, check_component_id
from cityops.cases.sources.open311.form import KEY_PATTERN, ReportForm, bad
from cityops.cases.sources.open311.services import COMPONENT_ATTRIBUTE, category_of
from cityops.geo.address.api import geocoder_cache
from cityops.geo.address.geocode import Level
from cityops.geo.address.models import StdAddress

IDEMPOTENCY_HEADER = "idempotency-key"


@dataclass(frozen=True, slots=True)
class Place:
    """Where a report is: a point (lon, lat in `crs`) or an org code, and an address text."""

    lon: float | None = None
    lat: float | None = None
    crs: str = "wgs84"
    org_code: str | None = None
    address: str = ""


def service_of(form: ReportForm) -> Category:
    """The category of the form's service_code (400 if missing, 404 if unknown)."""
    code = form.get("service_code")
    if code is None:
        raise bad("service_code", "is required (see GET services.json)")
    return category_of(code)


def component_of(form: ReportForm, category: Category, district: str) -> str | None:
    """The checked component ID of a component report, if given; 400 on anything else."""
    allowed = {COMPONENT_ATTRIBUTE} if category.kind is Kind.COMPONENT else set()
    unknown = sorted(set(form.attributes) - allowed)
    if unknown:
        raise bad(f"attribute[{unknown[0]}]", "is not an attribute of this service")
    values = [v for v in form.attributes.get(COMPONENT_ATTRIBUTE, []) if v.strip()]
    if not values:
        return None
    name = f"attribute[{COMPONENT_ATTRIBUTE}]"
    if len(values) > 1:
        raise bad(name, "takes one value")
    try:
        parsed, found = check_component_id(values[0], district)
    except ComponentIdError as exc:
        raise bad(name, exc.message) from None
    if found.key != category.key:
        raise bad(name, f"{parsed} is a {found.name} ({found.key}), not a {category.name}")
    return str(parsed)


async def place_of(request: Request, session: AsyncSession, form: ReportForm) -> Place:
    """The report's place: lat/long, else address_id, else a geocoded address_string."""
    text = form.get("address_string") or ""
    point = form.point()
    if point is not None:
        return Place(point[0], point[1], form.get("crs") or "wgs84", address=text)
    address_id = form.get("address_id")
    if address_id is not None:
        row = await session.get(StdAddress, int(address_id))
        if row is None:
            raise bad("address_id", f"no standard address has id {address_id}")
        return Place(row.lon, row.lat, address=text or row.address)
    if text:
        return await _geocoded(request, text)
    raise bad("lat", "give lat and long, address_id or address_string")


async def _geocoded(request: Request, text: str) -> Place:
    geocoder = await geocoder_cache(request).current()
    found = await asyncio.to_thread(geocoder.geocode, text)
    parsed = found.parsed
    if found.level in (Level.STD_ADDRESS, Level.ROAD) and found.lon is not None:
        return Place(found.lon, found.lat, address=text)
    if found.level is Level.COMMUNITY and parsed.community is not None:
        return Place(org_code=parsed.community.code, address=text)
    if found.level is Level.UNIT and parsed.unit is not None:
        return Place(org_code=parsed.unit.code, address=text)
    raise bad(
        "address_string",
        "cannot be placed inside the district finely enough: send lat and long",
    )


def source_key(request: Request, principal: Principal, form: ReportForm) -> str | None:
    """The case's source key when the client sent an idempotency key, else None."""
    header = request.headers.get(IDEMPOTENCY_HEADER, "").strip() or None
    field = form.get("idempotency_key")
    if header is not None and not KEY_PATTERN.match(header):
        raise bad("Idempotency-Key", "use 1-64 characters of A-Z a-z 0-9 . _ : ~ -")
    if header and field and header != field:
        raise bad("idempotency_key", "differs from the Idempotency-Key header")
    key = header or field
    if key is None:
        return None
    who = form.get("device_id") or form.get("account_id")
    device = "-"
    if who is not None:
        kind = "device" if form.get("device_id") else "account"
        device = hashlib.sha256(f"{kind}:{who}".encode()).hexdigest()[:12]
    return f"{principal.account_id}:{device}:{key}"


def new_case(
    form: ReportForm, category: Category, place: Place, component: str | None, key: str | None
) -> NewCase:
    """The platform's report for a GeoReport request."""
    media = form.get("media_url")
    return NewCase(
        source=Source.OPEN311,
        category=category_code(category),
        text=form.get("description") or category.name,
        source_key=key,
        lon=place.lon,
        lat=place.lat,
        crs=place.crs,
        org_code=place.org_code,
        address=place.address,
        contact=Contact(form.name(), form.get("phone"), form.get("email")),
        photos=(media,) if media else (),
        component_id=component,
    )

"""Cases as GeoReport service requests: status, notes, agency, times, place — never a person.

A request shows no reporter data at all (name, phone, email stay in the encrypted contact). An
anonymous reader also gets the description with phone numbers, ID card numbers and email
addresses blanked out (best effort, by pattern), since citizens write them into free text; the
client that filed the request reads its own text unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cityops.cases.catalog.codes import find_category
from cityops.cases.catalog.shipped import UnknownCategoryError
from cityops.cases.flow.table import FINAL, Status
from cityops.cases.models import CaseRecord
from cityops.cases.sources.open311.services import notice, service_code
from cityops.kit.workcal import SHANGHAI
from cityops.org.models import Department
from cityops.org.tree import OrgTree

#: Case states that GeoReport calls closed (the workflow's final ones); the rest are open.
CLOSED = FINAL

STATUS_NOTES: dict[str, str] = {
    Status.RECEIVED: "已受理，待立案",
    Status.REGISTERED: "已立案，待派遣",
    Status.DISPATCHED: "已派遣至处置单位",
    Status.SIGNED: "处置单位已签收",
    Status.IN_PROGRESS: "正在处置",
    Status.HANDLED: "已处置完毕，待核查",
    Status.VERIFYING: "正在核查处置结果",
    Status.VERIFIED: "核查通过，待结案",
    Status.RETURNED: "处置单位退回，重新派遣中",
    Status.SUSPENDED: "暂缓处置（挂账）",
    Status.CLOSED: "已结案",
    Status.EVALUATED: "已结案并回访",
    Status.VOIDED: "经核实不予立案",
    Status.MERGED: "与同一问题的其他报告合并处理",
}

HIDDEN = "[已隐去]"
_PERSONAL = re.compile(
    r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+"  # email
    r"|(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])"  # 18-digit resident ID
    r"|(?<![0-9])(?:\+?86[ \-]?)?1[3-9][0-9](?:[ \-]?[0-9]{4}){2}(?![0-9])"  # mobile
    r"|(?<![0-9])0[1-9][0-9]{1,2}[ \-]?[0-9]{7,8}(?![0-9])"  # landline with area code
)


def redact(text: str) -> str:
    """Blank out what looks like an email, phone number or resident ID number."""
    return _PERSONAL.sub(HIDDEN, text)


def w3(value: datetime | None) -> str | None:
    """A time as GeoReport writes it (W3C ISO 8601 with offset), in Shanghai time."""
    if value is None:
        return None
    return value.astimezone(SHANGHAI).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class RequestView:
    """What rendering needs besides the cases: the org tree and the departments by id."""

    tree: OrgTree
    departments: dict[int, Department]
    own: bool  # the reader filed these requests: show the description unchanged


def status_of(case: CaseRecord) -> str:
    """open or closed."""
    return "closed" if case.status in CLOSED else "open"


def _agency(case: CaseRecord, view: RequestView) -> str | None:
    department = view.departments.get(case.department_id) if case.department_id else None
    if department is not None:
        unit = view.tree.get(department.org_code)
        town_level = unit is not None and unit.level != "district"
        return f"{unit.name}{department.name}" if unit and town_level else department.name
    owner = view.tree.get(case.owner_code)
    return owner.name if owner else None


def _service(case: CaseRecord) -> tuple[str, str, str | None]:
    try:
        category = find_category(case.category)
    except UnknownCategoryError:
        return case.category.replace(":", "-"), case.category, None
    return service_code(category), category.name, notice(category)


def request_of(case: CaseRecord, view: RequestView) -> dict[str, Any]:
    """One service request, fields in the spec's order."""
    code, name, service_notice = _service(case)
    closed = case.status in CLOSED
    updated = case.closed_at if closed and case.closed_at else case.updated_at
    return {
        "service_request_id": str(case.id),
        "status": status_of(case),
        "status_notes": STATUS_NOTES.get(case.status, case.status),
        "service_name": name,
        "service_code": code,
        "description": case.text if view.own else redact(case.text),
        "agency_responsible": _agency(case, view),
        "service_notice": service_notice,
        "requested_datetime": w3(case.created_at),
        "updated_datetime": w3(updated),
        "expected_datetime": None if closed else w3(case.handle_due_at),
        "address": case.address or None,
        "address_id": None,
        "zipcode": None,
        "lat": case.lat,
        "long": case.lon,
        "media_url": case.photos[0] if case.photos else None,
    }

"""Shape cases for the API: names from the org tree, departments, the CRS asked for."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cityops.cases.catalog.codes import category_code, find_category
from cityops.cases.catalog.shipped import Category, UnknownCategoryError
from cityops.cases.http.schemas import (
    CaseDetail,
    CaseIntakeRead,
    CaseRead,
    CategoryRead,
    DepartmentRef,
    DivisionsRead,
    DuplicateCandidate,
    ExtensionRead,
    LocationRead,
    ReporterRead,
    TimeLimitRead,
    TimerRead,
)
from cityops.cases.intake.opening import Intake
from cityops.cases.models import CaseExtension, CaseRecord, CaseTimer
from cityops.geo import crs as crs_module
from cityops.org.models import Department
from cityops.org.tree import OrgTree


@dataclass(frozen=True, slots=True)
class View:
    """What rendering needs besides the case: the tree, departments by id, the output CRS."""

    tree: OrgTree
    departments: dict[int, Department]
    crs: str = crs_module.CRS.WGS84


def _location(case: CaseRecord, crs: str) -> LocationRead | None:
    if case.lon is None or case.lat is None:
        return None
    x, y = crs_module.transform(case.lon, case.lat, crs_module.CRS.WGS84, crs)
    return LocationRead(lon=x, lat=y, crs=crs)


def category_name(code: str) -> str:
    """The name of a category code (the code itself when the catalogue no longer has it)."""
    try:
        return find_category(code).name
    except UnknownCategoryError:
        return code  # a category a district has since removed from its catalogue


def _fields(case: CaseRecord, view: View) -> dict[str, Any]:
    owner = view.tree.get(case.owner_code)
    department = view.departments.get(case.department_id) if case.department_id else None
    reporter = None
    if case.reporter_name_masked or case.reporter_phone_masked or case.reporter_email_masked:
        reporter = ReporterRead(
            name=case.reporter_name_masked,
            phone=case.reporter_phone_masked,
            email=case.reporter_email_masked,
        )
    return {
        "id": case.id,
        "source": case.source,
        "source_key": case.source_key,
        "category": case.category,
        "category_name": category_name(case.category),
        "component_id": case.component_id,
        "text": case.text,
        "location": _location(case, view.crs),
        "address": case.address,
        "divisions": DivisionsRead(
            unit=case.unit_code,
            community=case.community_code,
            grid=case.grid_code,
            multigrid=case.multigrid_code,
        ),
        "owner_code": case.owner_code,
        "owner_name": owner.name if owner else None,
        "loop_level": case.loop_level,
        "status": case.status,
        "department_key": case.department_key,
        "department": DepartmentRef(
            id=department.id, key=department.key, name=department.name, org_code=department.org_code
        )
        if department
        else None,
        "parent_id": case.parent_id,
        "urgency": case.urgency,
        "photos": list(case.photos or []),
        "reporter": reporter,
        "returns": case.returns,
        "reworks": case.reworks,
        "overdue": case.overdue,
        "supervision": case.supervision,
        "satisfaction": case.satisfaction,
        "sign_due_at": case.sign_due_at,
        "handle_due_at": case.handle_due_at,
        "occurred_at": case.occurred_at,
        "created_at": case.created_at,
        "updated_at": case.updated_at,
        "closed_at": case.closed_at,
        "created_by": case.created_by,
    }


def case_read(case: CaseRecord, view: View) -> CaseRead:
    """A case for lists."""
    return CaseRead(**_fields(case, view))


def intake_read(result: Intake, view: View) -> CaseIntakeRead:
    """The answer to an intake."""
    return CaseIntakeRead(
        **_fields(result.case, view),
        created=result.created,
        duplicate_candidates=[
            DuplicateCandidate(
                id=c.id, distance_m=round(c.distance_m, 1), status=c.status, created_at=c.created_at
            )
            for c in result.duplicates
        ],
    )


def detail_read(
    case: CaseRecord,
    view: View,
    allowed: Sequence[str],
    timers: Sequence[CaseTimer],
    pending: CaseExtension | None,
) -> CaseDetail:
    """A case with the caller's allowed actions, its timers and a pending extension."""
    return CaseDetail(
        **_fields(case, view),
        allowed_actions=list(allowed),
        timers=[
            TimerRead(kind=t.kind, state=t.state, due_at=t.due_at, warn_at=t.warn_at)
            for t in timers
        ],
        pending_extension=ExtensionRead(
            id=pending.id,
            hours=pending.hours,
            days=pending.days,
            reason=pending.reason,
            requested_by=pending.requested_by,
            requested_at=pending.requested_at,
        )
        if pending
        else None,
    )


def category_read(category: Category) -> CategoryRead:
    """A catalogue row."""
    return CategoryRead(
        code=category_code(category),
        kind=category.kind.value,
        name=category.name,
        aliases=list(category.aliases),
        department=category.department,
        loop_level=category.loop_level.value,
        sign_for=TimeLimitRead(value=category.sign_for.value, unit=category.sign_for.unit.value),
        handle=TimeLimitRead(value=category.handle.value, unit=category.handle.unit.value),
        registration=category.registration,
        closing=category.closing,
        synthetic=category.synthetic,
    )

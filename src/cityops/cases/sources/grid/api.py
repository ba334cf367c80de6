"""Urban-grid intake (数字城管 / 网格化 事部件): reports of components and events.

The urban-grid system (a system client with an API key) forwards its 案卷 here; a grid worker
(网格员) may report directly. A component (部件) report carries the 16-digit component ID,
which gives its category; an event (事件) report names its event category. The place is a
point (any supported CRS) or the code of a grid.

Idempotence: the urban-grid system's report number (案卷号) is the case's source key, so a
re-sent 案卷 returns the case already opened (200). A grid worker's own report numbers are
namespaced by the worker's account (`worker:<account>:<no>`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cityops.auth.principal import Principal
from cityops.auth.roles import Role
from cityops.cases.catalog.codes import category_code, find_category
from cityops.cases.catalog.shipped import Category, Kind, UnknownCategoryError, shipped_catalog
from cityops.cases.errors import invalid
from cityops.cases.http.api import view_of
from cityops.cases.http.deps import Creator, Env, OutputCrs
from cityops.cases.http.schemas import CATEGORY, CaseIntakeRead, Location, ReporterIn, new_case
from cityops.cases.http.views import intake_read
from cityops.cases.intake.claims import check_grant
from cityops.cases.intake.opening import Source, Urgency
from cityops.cases.sources.common import REPORT_NO, open_case, require_system_client
from cityops.cases.sources.components import (
    ComponentIdError,
    check_component_id,
    component_problem,
)
from cityops.kit.errors import Forbidden
from cityops.kit.web import NO_NUL, AwareInstant, DbSession
from cityops.org.models import OrgLevel
from cityops.org.schemas import CODE_PATTERN
from cityops.org.tree import OrgTree

router = APIRouter(prefix="/api/v1/sources/grid", tags=["sources"])


class ReportKind(StrEnum):
    """部件 or 事件."""

    COMPONENT = "component"
    EVENT = "event"


class GridReport(BaseModel):
    """One 案卷 of the urban-grid system, or a grid worker's report."""

    model_config = ConfigDict(extra="forbid")

    report_no: str | None = Field(
        default=None,
        pattern=REPORT_NO,
        description="案卷号 of the urban-grid system (required for it; optional for a worker)",
    )
    kind: ReportKind
    component_id: str | None = Field(
        default=None,
        max_length=32,
        pattern=NO_NUL,
        description="16-digit 部件标识码: county(6) + major(2) + minor(2) + serial(6)",
    )
    category: str | None = Field(
        default=None,
        pattern=CATEGORY,
        description='Event category: "event:0102", "0102" or its name; for a component, '
        "optional and must match the component ID",
    )
    text: str = Field(min_length=1, max_length=4000, pattern=NO_NUL)
    location: Location | None = None
    org_code: str | None = Field(
        default=None, pattern=CODE_PATTERN, description="The grid (网格) when no point is known"
    )
    address: str = Field(default="", max_length=256, pattern=NO_NUL)
    reporter: ReporterIn | None = None
    urgency: Urgency = Urgency.NORMAL
    photos: list[Annotated[str, StringConstraints(max_length=512, pattern=NO_NUL)]] = Field(
        default_factory=list, max_length=20
    )
    occurred_at: AwareInstant | None = None


def _reporter_role(principal: Principal) -> None:
    if principal.role == Role.GRID_WORKER:
        return
    if principal.role == Role.SYSTEM_CLIENT:
        require_system_client(principal, "urban-grid intake")
        check_grant(principal, Source.GRID)  # the 案卷号 are the urban-grid system's own
        return
    raise Forbidden(
        f"urban-grid intake is for the urban-grid system and grid workers, not {principal.role}"
        "; use POST /api/v1/cases"
    )


def _event_category(text: str | None) -> Category:
    if text is None:
        raise invalid("category", "an event report needs its category (事件小类)")
    value = text.strip()
    try:
        if ":" in value:
            category = find_category(value)
        elif value.isdigit():
            category = shipped_catalog(Kind.EVENT).get(value)
        else:
            category = shipped_catalog(Kind.EVENT).find(value)
    except UnknownCategoryError as exc:
        raise invalid("category", f"{exc}; see GET /api/v1/cases/categories?kind=event") from exc
    if category.kind is not Kind.EVENT:
        raise invalid("category", f"{category_code(category)} is not an event category")
    return category


def _classify(body: GridReport, district: str) -> tuple[Category, str | None]:
    """The category and checked component ID of a report."""
    if body.kind is ReportKind.EVENT:
        if body.component_id is not None:
            raise invalid("component_id", "an event report has no component ID")
        return _event_category(body.category), None
    if body.component_id is None:
        raise invalid("component_id", "a component report needs its 16-digit component ID")
    try:
        parsed, category = check_component_id(body.component_id, district)
    except ComponentIdError as exc:
        raise component_problem(exc, ["body", "component_id"]) from None
    if body.category is not None:
        try:
            named = find_category(body.category)
        except UnknownCategoryError as exc:
            raise invalid("category", str(exc)) from exc
        if named != category:
            raise invalid(
                "category",
                f"{category_code(named)} does not match component {parsed} "
                f"({category_code(category)} {category.name})",
            )
    return category, str(parsed)


def _check_grid(tree: OrgTree, code: str | None) -> None:
    if code is None:
        return
    node = tree.get(code)
    if node is None or node.level != OrgLevel.GRID:
        raise invalid("org_code", f"{code} is not a grid (网格) code")


def _source_key(principal: Principal, report_no: str | None) -> str | None:
    if principal.role == Role.SYSTEM_CLIENT:
        if report_no is None:
            raise invalid("report_no", "the urban-grid system must send its 案卷号")
        return report_no
    return f"worker:{principal.account_id}:{report_no}" if report_no else None


@router.post(
    "/reports",
    response_model=CaseIntakeRead,
    status_code=201,
    summary="Urban-grid report (部件/事件)",
    responses={200: {"description": "The case already opened for this 案卷号"}},
)
async def report(
    body: GridReport,
    principal: Creator,
    env: Env,
    session: DbSession,
    response: Response,
    tasks: BackgroundTasks,
    crs: OutputCrs,
) -> CaseIntakeRead:
    """Open a case from a 部件 or 事件 report; a repeated 案卷号 returns the first case (200)."""
    _reporter_role(principal)
    category, component = _classify(body, env.settings.district_code)
    _check_grid(await env.tree.current(), body.org_code)
    key = _source_key(principal, body.report_no)
    opened = await open_case(
        session,
        env,
        principal,
        new_case(
            body,
            source=Source.GRID,
            category=category_code(category),
            source_key=key,
            component_id=component,
        ),
        tasks,
    )
    if not opened.result.created:
        response.status_code = 200
    view = await view_of(env, opened.svc, [opened.result.case], crs)
    return intake_read(opened.result, view)

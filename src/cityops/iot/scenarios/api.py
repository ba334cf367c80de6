"""HTTP endpoints under /api/v1/iot/scenarios: templates, instances and scene events."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Query, Request

from cityops.auth.deps import require
from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.iot.scenarios import repository as repo
from cityops.iot.scenarios.models import ScenarioInstance
from cityops.iot.scenarios.runtime import AppDirectory
from cityops.iot.scenarios.schemas import (
    Code,
    InstanceCreate,
    InstanceRead,
    InstanceUpdate,
    SceneEventRead,
    Status,
    TemplateBody,
    TemplateCreate,
    TemplateRead,
)
from cityops.iot.scenarios.service import (
    InstanceService,
    SceneEventService,
    TemplateService,
    stats_of,
)
from cityops.kit.web import MAX_INT, DbSession

router = APIRouter(prefix="/api/v1/iot/scenarios", tags=["iot scenarios"])
Reader = Annotated[Principal, Depends(require(Perm.IOT_READ, Perm.IOT_SCENARIO))]
Author = Annotated[Principal, Depends(require(Perm.IOT_SCENARIO))]
RowId = Annotated[int, Path(ge=1, le=MAX_INT)]
CodePath = Annotated[Code, Path()]


def _engine(request: Request) -> Any:
    return getattr(request.app.state, "iot_scenarios", None)


async def _reload(request: Request) -> None:
    engine = _engine(request)
    if engine is not None:
        await engine.reload()


def _district(request: Request) -> str:
    code: str = request.app.state.settings.district_code
    return code


@router.get("/templates", response_model=list[TemplateRead], summary="Scenario templates")
async def list_templates(principal: Reader, session: DbSession) -> list[Any]:
    """Every template version, newest first per code (the district's catalogue)."""
    return await repo.templates(session)


@router.post(
    "/templates", response_model=TemplateRead, status_code=201, summary="Author a template"
)
async def create_template(
    request: Request, principal: Author, session: DbSession, body: TemplateCreate
) -> Any:
    """Version 1 of a new template (district authors only)."""
    row = await TemplateService(session, _district(request)).create(principal, body)
    await session.flush()
    return row


@router.post(
    "/templates/{code}/versions",
    response_model=TemplateRead,
    status_code=201,
    summary="Publish a new template version",
)
async def publish_version(
    request: Request, code: CodePath, principal: Author, session: DbSession, body: TemplateBody
) -> Any:
    """The next version; running instances stay on theirs until upgraded explicitly."""
    row = await TemplateService(session, _district(request)).publish(principal, code, body)
    await session.flush()
    return row


async def _read(request: Request, session: DbSession, row: ScenarioInstance) -> InstanceRead:
    latest = await repo.latest_versions(session)
    read = InstanceRead.model_validate(row)
    read.latest_version = latest.get(row.template_code, row.template_version)
    read.stats = stats_of(_engine(request), row.id)
    return read


@router.get("/instances", response_model=list[InstanceRead], summary="Scenario instances")
async def list_instances(
    request: Request, principal: Reader, session: DbSession
) -> list[InstanceRead]:
    """The instances in the caller's scope, with the engine's counters."""
    rows = await repo.instances(session, principal.scope)
    return [await _read(request, session, row) for row in rows]


@router.post("/instances", response_model=InstanceRead, status_code=201, summary="Instantiate")
async def create_instance(
    request: Request,
    principal: Author,
    session: DbSession,
    body: InstanceCreate,
    background: BackgroundTasks,
) -> InstanceRead:
    """Run a template version on the owner's devices with overrides inside its bounds."""
    row = await InstanceService(session, AppDirectory(request.app)).create(principal, body)
    background.add_task(_reload, request)
    return await _read(request, session, row)


@router.get("/instances/{instance_id}", response_model=InstanceRead, summary="One instance")
async def get_instance(
    request: Request, instance_id: RowId, principal: Reader, session: DbSession
) -> InstanceRead:
    """An instance in the caller's scope."""
    row = await InstanceService(session, None).get(principal, instance_id)
    return await _read(request, session, row)


@router.patch("/instances/{instance_id}", response_model=InstanceRead, summary="Change an instance")
async def update_instance(
    request: Request,
    instance_id: RowId,
    principal: Author,
    session: DbSession,
    body: InstanceUpdate,
    background: BackgroundTasks,
) -> InstanceRead:
    """New overrides, an explicit upgrade (`template_version`), or enable/disable."""
    row = await InstanceService(session, None).update(principal, instance_id, body)
    background.add_task(_reload, request)
    return await _read(request, session, row)


@router.get("/health", summary="The engine's counters")
async def engine_health(request: Request, principal: Reader) -> dict[str, Any]:
    """Shed readings (inbox full), and per instance in scope: processed, errors, shed, disabled."""
    engine = _engine(request)
    if engine is None:
        return {
            "running": False,
            "inbox": 0,
            "shed_batches": 0,
            "shed_readings": 0,
            "unrouted": 0,
            "instances": {},
        }
    found: dict[str, Any] = engine.health_in(principal.scope)
    return found


@router.get("/events", response_model=list[SceneEventRead], summary="Scene events")
async def list_events(
    principal: Reader,
    session: DbSession,
    status: Annotated[list[Status] | None, Query()] = None,
    instance_id: Annotated[int | None, Query(ge=1, le=MAX_INT)] = None,
) -> list[Any]:
    """Scene events in scope; by default the open ones (active and acknowledged)."""
    statuses = tuple(status or ("active", "acknowledged"))
    return await SceneEventService(session).list(principal, statuses, instance_id)


@router.post("/events/{event_id}/ack", response_model=SceneEventRead, summary="Acknowledge")
async def ack_event(event_id: RowId, principal: Author, session: DbSession) -> Any:
    """Active → acknowledged; records who."""
    return await SceneEventService(session).ack(principal, event_id)


@router.post("/events/{event_id}/clear", response_model=SceneEventRead, summary="Clear")
async def clear_event(event_id: RowId, principal: Author, session: DbSession) -> Any:
    """Active or acknowledged → cleared by a person; records who and when."""
    return await SceneEventService(session).clear(principal, event_id)

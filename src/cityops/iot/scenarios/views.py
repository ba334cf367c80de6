"""What the portal's scenario page shows and does, through the same services as the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth.principal import Principal
from cityops.iot.scenarios import repository as repo
from cityops.iot.scenarios.schemas import (
    SEVERITY_LABELS,
    STATUS_LABELS,
    InstanceRead,
    SceneEventRead,
    TemplateRead,
)
from cityops.iot.scenarios.service import SceneEventService, stats_of

KIND_LABELS = {
    "threshold": "阈值（持续时间、回差）",
    "rate": "变化率",
    "no_data": "无数据/离线",
    "composite": "双传感器组合",
    "geofence": "电子围栏",
}


@dataclass(frozen=True, slots=True)
class ScenarioBoard:
    """Templates (latest versions), the instances and the open alarms in the caller's scope."""

    templates: list[TemplateRead]
    instances: list[InstanceRead]
    alarms: list[SceneEventRead]
    labels: dict[str, dict[str, str]]


async def scenario_board(session: AsyncSession, principal: Principal, engine: Any) -> ScenarioBoard:
    """The page's data; instances and alarms are limited to the caller's data scope."""
    latest = await repo.latest_versions(session)
    templates = [
        TemplateRead.model_validate(t)
        for t in await repo.templates(session)
        if latest.get(t.code) == t.version
    ]
    instances = []
    for row in await repo.instances(session, principal.scope):
        read = InstanceRead.model_validate(row)
        read.latest_version = latest.get(row.template_code, row.template_version)
        read.stats = stats_of(engine, row.id)
        instances.append(read)
    events = await SceneEventService(session).list(principal, ("active", "acknowledged"))
    alarms = [SceneEventRead.model_validate(e) for e in events]
    labels = {"severity": SEVERITY_LABELS, "status": STATUS_LABELS, "kind": KIND_LABELS}
    return ScenarioBoard(templates, instances, alarms, labels)


async def act_on_scene_event(
    session: AsyncSession, principal: Principal, event_id: int, action: Literal["ack", "clear"]
) -> None:
    """Acknowledge or clear a scene event in the caller's scope (ProblemError when refused)."""
    service = SceneEventService(session)
    if action == "ack":
        await service.ack(principal, event_id)
    else:
        await service.clear(principal, event_id)

"""The engine's database work: load what runs, record outcomes, trip the breaker."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.iot.events import SceneEvent
from cityops.iot.readings import DeviceInfo
from cityops.iot.scenarios.kinds import Clearing, Firing, Outcome
from cityops.iot.scenarios.models import ScenarioInstance, ScenarioTemplate, SceneEventRow
from cityops.iot.scenarios.spec import RunSpec
from cityops.kit.bus import Bus
from cityops.kit.db import utcnow

OPEN = ("active", "acknowledged")


@dataclass(frozen=True, slots=True)
class Pending:
    """An outcome waiting to be recorded: for which device, and when its reading came in."""

    device_id: str
    outcome: Outcome
    received_at: datetime | None  # None for a tick's outcome


async def load_specs(session: AsyncSession) -> list[RunSpec]:
    """Every instance with its pinned template version."""
    stmt = select(ScenarioInstance, ScenarioTemplate).join(
        ScenarioTemplate,
        (ScenarioTemplate.code == ScenarioInstance.template_code)
        & (ScenarioTemplate.version == ScenarioInstance.template_version),
    )
    return [spec_of(i, t) for i, t in (await session.execute(stmt)).all()]


def spec_of(instance: ScenarioInstance, template: ScenarioTemplate) -> RunSpec:
    """The run spec of an instance and its template version."""
    return RunSpec(
        instance_id=instance.id,
        owner_code=instance.owner_code,
        name=instance.name,
        template_code=template.code,
        template_version=template.version,
        title=template.title,
        kind=template.kind,
        params=dict(instance.params),
        severities=tuple(template.severities),
        opens_case=template.opens_case,
        category=template.category,
        device_ids=frozenset(instance.device_ids),
        profile=instance.profile,
        enabled=instance.enabled,
    )


async def open_levels(session: AsyncSession, instance_id: int) -> dict[str, int]:
    """The level of each device's open scene event of an instance (to resume after a restart)."""
    stmt = select(SceneEventRow.device_id, SceneEventRow.level).where(
        SceneEventRow.instance_id == instance_id, SceneEventRow.status.in_(OPEN)
    )
    return {d: lv for d, lv in (await session.execute(stmt)).all()}


async def open_events(
    session: AsyncSession, instance_id: int, device_ids: set[str]
) -> dict[str, SceneEventRow]:
    """The open scene event of each of these devices for an instance (one query)."""
    stmt = select(SceneEventRow).where(
        SceneEventRow.instance_id == instance_id,
        SceneEventRow.device_id.in_(sorted(device_ids)),
        SceneEventRow.status.in_(OPEN),
    )
    return {row.device_id: row for row in await session.scalars(stmt)}


async def record(
    session: AsyncSession,
    bus: Bus,
    spec: RunSpec,
    devices: dict[str, DeviceInfo | None],
    pending: Sequence[Pending],
) -> list[SceneEvent]:
    """Write the outcomes in a few statements; stage a SceneEvent per new case-opening firing."""
    opened = await open_events(session, spec.instance_id, {p.device_id for p in pending})
    fired: list[tuple[SceneEventRow, Firing]] = []
    for item in pending:
        row, outcome = opened.get(item.device_id), item.outcome
        if isinstance(outcome, Clearing):
            if row is not None:
                row.status, row.cleared_at = "cleared", outcome.at
                del opened[item.device_id]
        elif row is None:
            row = _row(spec, item.device_id, outcome)
            row.opened_case = opens_case(spec, devices.get(item.device_id))
            session.add(row)
            opened[item.device_id] = row
            fired.append((row, outcome))
        elif outcome.level > row.level:  # de-duplicated while open; a higher level escalates
            row.level, row.severity = outcome.level, spec.severity(outcome.level)
            row.detail = outcome.detail[:2000]
    if not fired:
        return []
    await session.flush()  # one batched INSERT: the rows' ids are the firings' ids
    staged: list[SceneEvent] = []
    for row, outcome in fired:
        device = devices.get(row.device_id)
        if row.opened_case and device is not None:
            event = _event(spec, device, row, outcome)
            bus.stage(session, event)
            staged.append(event)
    return staged


def opens_case(spec: RunSpec, device: DeviceInfo | None) -> bool:
    """Whether a firing opens a case: the scenario says so and the device's place is known."""
    return bool(spec.opens_case and spec.category and device is not None)


def _row(spec: RunSpec, device_id: str, outcome: Firing) -> SceneEventRow:
    return SceneEventRow(
        instance_id=spec.instance_id,
        template_code=spec.template_code,
        title=spec.title,
        device_id=device_id,
        owner_code=spec.owner_code,
        severity=spec.severity(outcome.level),
        level=outcome.level,
        status="active",
        value=str(outcome.value)[:64],
        detail=outcome.detail[:2000],
        fired_at=outcome.at,
        recorded_at=utcnow(),
    )


def _event(spec: RunSpec, device: DeviceInfo, row: SceneEventRow, outcome: Firing) -> SceneEvent:
    """The case-opening event of a firing; its key is the firing's (the row's) id."""
    site = f"（{device.site}）" if device.site else ""
    return SceneEvent(
        owner_code=device.owner_code,
        key=f"iot-scene-{row.id}",
        occurred_at=outcome.at,
        category=spec.category or "",
        lon=device.lon,
        lat=device.lat,
        text=f"【物联感知】{spec.title}：{device.name or row.device_id}{site}，{outcome.detail}"[
            :2000
        ],
        device_id=row.device_id,
        scenario=spec.template_code,
    )


async def trip(session: AsyncSession, instance_id: int, reason: str) -> None:
    """Disable an instance with the breaker's reason (shown to its owner)."""
    await session.execute(
        update(ScenarioInstance)
        .where(ScenarioInstance.id == instance_id)
        .values(enabled=False, disabled_reason=reason[:2000], updated_at=utcnow())
    )

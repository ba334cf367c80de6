"""Queries of templates, instances and scene events; every read of owned rows is scoped."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.iot.scenarios.models import ScenarioInstance, ScenarioTemplate, SceneEventRow
from cityops.iot.scenarios.shipped import BASE_SCENARIOS
from cityops.kit.scope import DataScope, scoped

#: The most rows one list answers.
PAGE = 500


async def ensure_base_templates(session: AsyncSession, district_code: str) -> int:
    """Seed version 1 of every base scenario the database lacks; how many were added."""
    have = set((await session.scalars(select(ScenarioTemplate.code).distinct())).all())
    added = 0
    for base in BASE_SCENARIOS:
        if base.code in have:
            continue
        session.add(
            ScenarioTemplate(
                code=base.code,
                version=1,
                title=base.title,
                kind=base.kind,
                params={n: s.model_dump() for n, s in base.params.items()},
                severities=list(base.severities),
                opens_case=base.opens_case,
                category=base.category,
                description=base.description,
                source=base.source,
                synthetic=base.synthetic,
                owner_code=district_code,
                created_by="system",
            )
        )
        added += 1
    return added


async def templates(session: AsyncSession, code: str | None = None) -> list[ScenarioTemplate]:
    """Every template version (of one code), newest version first."""
    stmt = select(ScenarioTemplate).order_by(ScenarioTemplate.code, ScenarioTemplate.version.desc())
    if code is not None:
        stmt = stmt.where(ScenarioTemplate.code == code)
    return list((await session.scalars(stmt.limit(PAGE))).all())


async def template(
    session: AsyncSession, code: str, version: int | None
) -> ScenarioTemplate | None:
    """One version of a template (the latest when `version` is None)."""
    stmt = select(ScenarioTemplate).where(ScenarioTemplate.code == code)
    if version is not None:
        stmt = stmt.where(ScenarioTemplate.version == version)
    return (await session.scalars(stmt.order_by(ScenarioTemplate.version.desc()).limit(1))).first()


async def latest_versions(session: AsyncSession) -> dict[str, int]:
    """The newest version of every template code."""
    stmt = select(ScenarioTemplate.code, func.max(ScenarioTemplate.version)).group_by(
        ScenarioTemplate.code
    )
    return {c: int(v) for c, v in (await session.execute(stmt)).all()}


async def instances(session: AsyncSession, scope: DataScope) -> list[ScenarioInstance]:
    """The instances in scope, newest first."""
    stmt = select(ScenarioInstance).order_by(ScenarioInstance.id.desc()).limit(PAGE)
    return list((await session.scalars(scoped(stmt, ScenarioInstance.owner_code, scope))).all())


async def instance(
    session: AsyncSession, scope: DataScope, instance_id: int
) -> ScenarioInstance | None:
    """One instance, if it is in scope."""
    stmt = select(ScenarioInstance).where(ScenarioInstance.id == instance_id)
    return (await session.scalars(scoped(stmt, ScenarioInstance.owner_code, scope))).first()


async def scene_events(
    session: AsyncSession, scope: DataScope, statuses: tuple[str, ...], instance_id: int | None
) -> list[SceneEventRow]:
    """Scene events in scope with the given statuses, newest first."""
    stmt = select(SceneEventRow).where(SceneEventRow.status.in_(statuses))
    if instance_id is not None:
        stmt = stmt.where(SceneEventRow.instance_id == instance_id)
    stmt = scoped(
        stmt.order_by(SceneEventRow.id.desc()).limit(PAGE), SceneEventRow.owner_code, scope
    )
    return list((await session.scalars(stmt)).all())


async def scene_event(
    session: AsyncSession, scope: DataScope, event_id: int
) -> SceneEventRow | None:
    """One scene event, if it is in scope."""
    stmt = select(SceneEventRow).where(SceneEventRow.id == event_id)
    return (await session.scalars(scoped(stmt, SceneEventRow.owner_code, scope))).first()

"""A restart keeps the scene events' life cycle: an open event resumes its firing state."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import select

from cityops.iot.readings import DeviceInfo
from cityops.iot.scenarios.engine import ScenarioEngine
from cityops.iot.scenarios.models import ScenarioInstance, ScenarioTemplate, SceneEventRow
from cityops.kit.bus import InProcessBus
from cityops.kit.db import create_engine, create_sessionmaker, unit_of_work
from tests.conftest import Backend
from tests.iot.scenarios.conftest import SIJING, MemoryDirectory, reading

PARAMS = {"key": "level", "lines": [5.0], "direction": "above", "duration_s": 0, "hysteresis": 0.5}


@pytest.fixture(autouse=True)
def _both(backend: Backend) -> None:
    """Every test here runs on SQLite and on PostgreSQL."""


def test_an_event_opened_before_a_restart_is_not_raised_again_and_clears_after(
    backend: Backend,
) -> None:
    async def run() -> list[tuple[str, str | None]]:
        db = create_engine(backend.settings.database_url)
        sessions = create_sessionmaker(db)
        code = f"restart_{uuid.uuid4().hex[:8]}"
        device = DeviceInfo(f"rs-{code}", SIJING, "gauge", "d", 121.2, 31.0)
        async with unit_of_work(sessions) as session:
            session.add(
                ScenarioTemplate(
                    code=code,
                    version=1,
                    title=code,
                    kind="threshold",
                    params={},
                    severities=["minor"],
                    opens_case=False,
                    owner_code="310117",
                    created_by="t",
                )
            )
            instance = ScenarioInstance(
                owner_code=SIJING,
                name=code,
                template_code=code,
                template_version=1,
                device_ids=[device.device_id],
                overrides={},
                params=PARAMS,
                enabled=True,
                disabled_reason="",
                created_by="t",
            )
            session.add(instance)
        directory = MemoryDirectory([device])
        first = ScenarioEngine(sessions, InProcessBus(), directory)
        await first.start()
        await first.feed([reading(device, "level", 6.0, 0)])
        await first.idle()
        await first.stop()  # the process ends with the event open
        second = ScenarioEngine(sessions, InProcessBus(), directory)
        await second.start()
        await second.feed([reading(device, "level", 6.5, 10)])  # still past: no second row
        await second.feed([reading(device, "level", 4.0, 20)])  # back: clears the first
        await second.idle()
        await second.stop()
        async with unit_of_work(sessions) as session:
            stmt = select(SceneEventRow).where(SceneEventRow.instance_id == instance.id)
            rows = [
                (r.status, r.cleared_at and r.cleared_at.isoformat())
                for r in await session.scalars(stmt)
            ]
        await db.dispose()
        return rows

    assert asyncio.run(run()) == [("cleared", "2026-07-01T08:00:20+00:00")]

"""Isolation: a scenario that raises or is slow never holds back the others (counted, no clock)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from cityops.iot.readings import DeviceInfo
from cityops.iot.scenarios.engine import ScenarioEngine
from cityops.iot.scenarios.kinds import KINDS, Outcome, Params, Sample
from cityops.iot.scenarios.kinds.threshold import Threshold, ThresholdState
from cityops.iot.scenarios.models import ScenarioInstance, ScenarioTemplate
from cityops.kit.bus import InProcessBus
from cityops.kit.db import create_engine, create_sessionmaker, unit_of_work
from tests.conftest import Backend
from tests.iot.scenarios.conftest import SIJING, MemoryDirectory, reading

PARAMS = {"key": "level", "lines": [5.0], "direction": "above", "duration_s": 0, "hysteresis": 0.5}
DEVICES = 20
READINGS_PER_DEVICE = 100


class Boom(Threshold):
    """A broken kind: raises on every reading."""

    kind = "boom"

    def step(
        self, params: Params, state: ThresholdState, sample: Sample
    ) -> tuple[ThresholdState, Sequence[Outcome]]:
        """Always fails."""
        raise RuntimeError("boom")


class Clock:
    """A perf counter the slow kind moves forward: slowness without waiting."""

    def __init__(self) -> None:
        self.value = 0.0

    def __call__(self) -> float:
        return self.value


class Slow(Threshold):
    """A kind that takes one (injected) second per reading."""

    kind = "slow"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def step(
        self, params: Params, state: ThresholdState, sample: Sample
    ) -> tuple[ThresholdState, Sequence[Outcome]]:
        """Evaluate like a threshold, one second later."""
        self.clock.value += 1.0
        return super().step(params, state, sample)


@pytest.fixture(autouse=True)
def _both(backend: Backend) -> None:
    """Every test here runs on SQLite and on PostgreSQL."""


async def _run(backend: Backend, extra_kind: str | None) -> tuple[dict[int, Any], int | None, bool]:
    """Three threshold instances (and maybe one broken one) on the same input; their counts."""
    db = create_engine(backend.settings.database_url)
    sessions = create_sessionmaker(db)
    tag = uuid.uuid4().hex[:8]
    devices = [
        DeviceInfo(f"iso-{tag}-{i}", SIJING, "gauge", f"d{i}", 121.2, 31.0) for i in range(DEVICES)
    ]
    ids = [d.device_id for d in devices]
    async with unit_of_work(sessions) as session:
        for kind in ("threshold", extra_kind):
            if kind is not None:
                session.add(_template(f"iso_{kind}_{tag}", kind))
        await session.flush()
        normal = [_instance(f"iso_threshold_{tag}", ids) for _ in range(3)]
        broken = _instance(f"iso_{extra_kind}_{tag}", ids) if extra_kind else None
        session.add_all([*normal, *([broken] if broken else [])])
    clock = Clock()
    kinds = {**KINDS, "boom": Boom(), "slow": Slow(clock)}
    engine = ScenarioEngine(
        sessions, InProcessBus(), MemoryDirectory(devices), kinds=kinds, clock=clock
    )
    await engine.start()
    for step in range(READINGS_PER_DEVICE):
        value = 6.0 if 25 <= step < 75 else 4.0  # fires, then clears, once per device
        await engine.feed([reading(d, "level", value, step) for d in devices])
    await engine.idle()
    counts = {i.id: engine.runners[i.id].counters for i in normal}
    disabled = False
    if broken is not None:
        counts[broken.id] = engine.runners[broken.id].counters
        async with unit_of_work(sessions) as session:
            row = await session.scalar(
                select(ScenarioInstance).where(ScenarioInstance.id == broken.id)
            )
            assert row is not None
            disabled = not row.enabled and "自动停用" in row.disabled_reason
    await engine.stop()
    await db.dispose()
    return counts, broken.id if broken else None, disabled


def _template(code: str, kind: str) -> ScenarioTemplate:
    return ScenarioTemplate(
        code=code,
        version=1,
        title=code,
        kind=kind,
        params={},
        severities=["minor"],
        opens_case=False,
        owner_code="310117",
        created_by="test",
        created_at=datetime.now().astimezone(),
    )


def _instance(code: str, ids: list[str]) -> ScenarioInstance:
    return ScenarioInstance(
        owner_code=SIJING,
        name=code,
        template_code=code,
        template_version=1,
        device_ids=ids,
        overrides={},
        params=PARAMS,
        enabled=True,
        disabled_reason="",
        created_by="test",
    )


@pytest.mark.parametrize("broken_kind", ["boom", "slow"])
def test_a_failing_scenario_leaves_the_others_within_ten_percent(
    backend: Backend, broken_kind: str
) -> None:
    alone, _, _ = asyncio.run(_run(backend, None))
    beside, broken_id, disabled = asyncio.run(_run(backend, broken_kind))
    total = DEVICES * READINGS_PER_DEVICE
    baseline = sum(c.processed for c in alone.values())
    others = sum(c.processed for i, c in beside.items() if i != broken_id)
    assert baseline == 3 * total
    assert others >= 0.9 * baseline
    assert broken_id is not None
    broken = beside[broken_id]
    assert broken.errors == 5 and broken.skipped > 0  # tripped after five in a row, then skipped
    assert disabled  # the breaker's reason is stored on the instance


def test_feed_never_waits_and_counts_what_it_sheds(backend: Backend) -> None:
    async def run() -> tuple[int, int]:
        db = create_engine(backend.settings.database_url)
        engine = ScenarioEngine(
            create_sessionmaker(db), InProcessBus(), MemoryDirectory(), inbox_batches=1
        )
        device = DeviceInfo("shed-1", SIJING, "gauge", "d", 121.2, 31.0)
        await engine.feed([reading(device, "level", 1.0, 0)])  # no dispatcher yet: the inbox fills
        await asyncio.wait_for(
            engine.feed([reading(device, "level", 1.0, 1), reading(device, "level", 1.0, 2)]), 5
        )
        await db.dispose()
        return engine.shed_batches, engine.shed_readings

    assert asyncio.run(run()) == (1, 2)


class BadStart(Threshold):
    """A kind whose start state cannot be built from the instance's params."""

    kind = "bad_start"

    def start(self, params: Params, now: datetime) -> ThresholdState:
        """Always fails."""
        raise KeyError("lines")


def test_a_runner_survives_a_failure_outside_the_evaluation(backend: Backend) -> None:
    async def run() -> tuple[str, int]:
        db = create_engine(backend.settings.database_url)
        sessions = create_sessionmaker(db)
        tag = uuid.uuid4().hex[:8]
        device = DeviceInfo(f"bs-{tag}", SIJING, "gauge", "d", 121.2, 31.0)
        async with unit_of_work(sessions) as session:
            session.add(_template(f"bs_{tag}", "bad_start"))
            instance = _instance(f"bs_{tag}", [device.device_id])
            session.add(instance)
        engine = ScenarioEngine(
            sessions,
            InProcessBus(),
            MemoryDirectory([device]),
            kinds={**KINDS, "bad_start": BadStart()},
        )
        await engine.start()
        for step in range(10):
            await engine.feed([reading(device, "level", 1.0, step)])
        await asyncio.wait_for(engine.idle(), 60)  # the runner did not die with its queue full
        runner = engine.runners[instance.id]
        await engine.stop()
        await db.dispose()
        return runner.disabled, runner.counters.errors

    disabled, errors = asyncio.run(run())
    assert "自动停用" in disabled and errors == 5

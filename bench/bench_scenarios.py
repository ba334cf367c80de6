"""The scenario engine: readings/s with the 7 base scenarios on N devices, fire latency, isolation.

    .venv/bin/python bench/bench_scenarios.py [--devices 200] [--readings 200000]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench_scen_NAME]

In one run, on a fresh database (SQLite in a temporary directory, or a fresh PostgreSQL
database dropped afterwards):
1. the anchor: the same readings through the pure evaluators in a bare loop (no queue, no
   database): the floor of what routing, queueing and recording cost;
2. throughput: the readings fed in ingest-sized batches to the engine with the seven base
   scenarios (flood water level, manhole tilt, smoke, combustible gas, bin fill, street-light
   fault, elevator entrapment) each instantiated on N devices; every device crosses its line
   and comes back every 40 readings, so about 5 % of readings fire or clear (rows written);
3. latency: readings fed at half the measured rate; p99 of reading received → scene event
   committed (goal < 1 s);
4. isolation: step 2 again with an eighth instance on every device whose kind raises on every
   reading (tripped by its breaker); throughput with it / without it (goal ≥ 0.9).
ThingsBoard CE's published figure (1,111 msg/s on 4 vCPU, rule engine and PostgreSQL) is
printed beside ours for reference; it is not run here. Exit status 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench_foundation import database
from cityops.iot.readings import DeviceInfo, Reading
from cityops.iot.scenarios.engine import ScenarioEngine
from cityops.iot.scenarios.kinds import KINDS, Outcome, Params, Sample
from cityops.iot.scenarios.kinds.threshold import Threshold, ThresholdState
from cityops.iot.scenarios.models import ScenarioInstance, ScenarioTemplate
from cityops.iot.scenarios.params import merged
from cityops.iot.scenarios.repository import ensure_base_templates
from cityops.iot.scenarios.service import specs_of
from cityops.iot.scenarios.shipped import BASE_SCENARIOS
from cityops.kit.bus import InProcessBus
from cityops.kit.db import create_engine, create_sessionmaker, unit_of_work
from cityops.kit.migrate import upgrade

THINGSBOARD_MSG_S = 1111.0
GOAL_P99_S = 1.0
GOAL_ISOLATION = 0.9
BATCH = 500
T0 = datetime(2026, 7, 1, tzinfo=UTC)
#: scenario code → (device profile, key, normal value, value past the line)
SCENARIOS: dict[str, tuple[str, str, Any, Any]] = {
    "flood_water_level": ("water_level_gauge", "water_level", 2.0, 3.2),
    "manhole_tilt": ("manhole_sensor", "tilt_deg", 2.0, 30.0),
    "smoke": ("smoke_detector", "smoke", False, True),
    "combustible_gas": ("gas_detector", "gas_lel", 5.0, 30.0),
    "bin_fill": ("bin_fill_sensor", "fill_pct", 40.0, 90.0),
    "streetlight_fault": ("streetlight_controller", "fault", False, True),
    "elevator_entrapment": ("elevator_monitor", "trapped", False, True),
}
OWNER = "310117102"


class Boom(Threshold):
    """The failing scenario of the isolation figure: raises on every reading."""

    kind = "boom"

    def step(
        self, params: Params, state: ThresholdState, sample: Sample
    ) -> tuple[ThresholdState, Sequence[Outcome]]:
        """Always fails."""
        raise RuntimeError("boom")

    def keys(self, params: Params) -> frozenset[str] | None:
        """Every key: it hears every reading of its devices."""
        return None


class Directory:
    """The bench's devices (a DeviceDirectory in memory)."""

    def __init__(self, devices: list[DeviceInfo]) -> None:
        self.devices = {d.device_id: d for d in devices}

    async def device(self, device_id: str) -> DeviceInfo | None:
        """The device, or None."""
        return self.devices.get(device_id)

    async def devices_of(self, owner_code: str, profile: str | None = None) -> list[DeviceInfo]:
        """The owner's devices of a profile."""
        return [d for d in self.devices.values() if profile in (None, d.profile)]


def make_devices(per_scenario: int, tag: str) -> dict[str, list[DeviceInfo]]:
    """N synthetic devices per scenario (labelled synthetic in their names)."""
    return {
        code: [
            DeviceInfo(f"{tag}-{code}-{i}", OWNER, profile, f"合成设备{i}", 121.23, 31.03)
            for i in range(per_scenario)
        ]
        for code, (profile, *_rest) in SCENARIOS.items()
    }


def make_readings(devices: dict[str, list[DeviceInfo]], total: int) -> list[Reading]:
    """Round-robin over the devices, 60 s apart per device; past the line 20 of every 40."""
    flat = [(code, d) for code, ds in devices.items() for d in ds]
    now = datetime.now(UTC)
    found: list[Reading] = []
    for n in range(total):
        code, device = flat[n % len(flat)]
        step = n // len(flat)
        _, key, normal, high = SCENARIOS[code]
        value = high if (step // 20) % 2 else normal
        found.append(
            Reading(device.device_id, OWNER, key, value, T0 + timedelta(seconds=60 * step), now)
        )
    return found


async def add_instances(
    sessions: async_sessionmaker[AsyncSession], devices: dict[str, list[DeviceInfo]], boom: bool
) -> None:
    """One instance per base scenario on its devices (and the failing one on every device)."""
    async with unit_of_work(sessions) as session:
        await ensure_base_templates(session, "310117")
        await session.flush()
        for code, ds in devices.items():
            template = await session.get(ScenarioTemplate, await _template_id(session, code))
            assert template is not None
            session.add(_instance(code, [d.device_id for d in ds], merged(specs_of(template), {})))
        if boom:
            all_ids = [d.device_id for ds in devices.values() for d in ds]
            session.add(
                ScenarioTemplate(
                    code=f"boom_{id(all_ids)}",
                    version=1,
                    title="故障场景（基准测试）",
                    kind="boom",
                    params={},
                    severities=["minor"],
                    opens_case=False,
                    owner_code="310117",
                    created_by="bench",
                )
            )
            await session.flush()
            params = {
                "key": "",
                "lines": [0.0],
                "direction": "above",
                "duration_s": 0,
                "hysteresis": 0,
            }
            session.add(_instance(f"boom_{id(all_ids)}", all_ids, params))


async def _template_id(session: AsyncSession, code: str) -> int:
    from sqlalchemy import select

    found = await session.scalar(select(ScenarioTemplate.id).where(ScenarioTemplate.code == code))
    assert found is not None
    return int(found)


def _instance(code: str, ids: list[str], params: dict[str, Any]) -> ScenarioInstance:
    return ScenarioInstance(
        owner_code=OWNER,
        name=f"基准 {code}",
        template_code=code,
        template_version=1,
        device_ids=ids,
        profile=None,
        overrides={},
        params=params,
        enabled=True,
        disabled_reason="",
        created_by="bench",
    )


def floor_rate(
    devices: dict[str, list[DeviceInfo]], readings: list[Reading], params: dict[str, dict[str, Any]]
) -> float:
    """The anchor: the pure evaluators in a bare loop over the same readings."""
    kind_of = {d.device_id: code for code, ds in devices.items() for d in ds}
    evaluator = KINDS["threshold"]
    states: dict[str, Any] = {}
    began = time.perf_counter()
    for r in readings:
        p = params[kind_of[r.device_id]]
        state = states.get(r.device_id) or evaluator.start(p, T0)
        states[r.device_id], _ = evaluator.step(p, state, Sample(r.key, r.value, r.ts))
    return len(readings) / (time.perf_counter() - began)


async def engine_run(
    url: str, per_scenario: int, total: int, boom: bool, paced: float | None
) -> dict[str, Any]:
    """Feed the readings to a fresh engine; its rate, fire latencies and counters."""
    db = create_engine(url)
    sessions = create_sessionmaker(db)
    tag = f"b{time.monotonic_ns() % 10**9}"
    devices = make_devices(per_scenario, tag)
    await add_instances(sessions, devices, boom)
    directory = Directory([d for ds in devices.values() for d in ds])
    engine = ScenarioEngine(sessions, InProcessBus(), directory, kinds={**KINDS, "boom": Boom()})
    await engine.start()
    readings = make_readings(devices, total)
    began = time.perf_counter()
    for i in range(0, len(readings), BATCH):
        batch = readings[i : i + BATCH]
        if paced:
            now = datetime.now(UTC)
            batch = [Reading(r.device_id, r.owner_code, r.key, r.value, r.ts, now) for r in batch]
        await engine.feed(batch)
        await asyncio.sleep(BATCH / paced if paced else 0)
    await engine.idle()
    elapsed = time.perf_counter() - began
    health = engine.health()
    latencies = sorted(engine.latencies)
    await engine.stop()
    await db.dispose()
    mine = {
        k: v
        for k, v in health["instances"].items()
        if k
        in {
            r.spec.instance_id
            for r in engine.runners.values()
            if tag in next(iter(r.spec.device_ids), "")
        }
    }
    processed = sum(v["processed"] for v in mine.values() if not v["disabled"])
    return {
        "rate": processed / elapsed,
        "processed": processed,
        "shed": health["shed_readings"] + sum(v["shed"] for v in mine.values()),
        "p99": latencies[int(0.99 * (len(latencies) - 1))] if latencies else None,
        "p50": statistics.median(latencies) if latencies else None,
        "fired": len(latencies),
        "tripped": [v["disabled"] for v in mine.values() if v["disabled"]],
    }


def base_params() -> dict[str, dict[str, Any]]:
    """The defaults of the seven base scenarios (what the anchor evaluates with)."""
    found = {}
    for code in SCENARIOS:
        base = next(b for b in BASE_SCENARIOS if b.code == code)
        found[code] = merged(base.params, {})
    return found


def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """The anchor, then engine runs without and with the failing scenario in turn, then paced."""
    devices = make_devices(args.devices, "floor")
    floor = floor_rate(devices, make_readings(devices, args.readings), base_params())
    plain: list[dict[str, Any]] = []
    failing: list[dict[str, Any]] = []
    for _ in range(args.rounds):  # alternate, so drift hits both sides alike
        plain.append(asyncio.run(engine_run(url, args.devices, args.readings, False, None)))
        failing.append(asyncio.run(engine_run(url, args.devices, args.readings, True, None)))
    rate = statistics.median(r["rate"] for r in plain)
    paced = asyncio.run(engine_run(url, args.devices, args.paced_readings, False, rate / 2))
    return {"floor": floor, "plain": plain, "failing": failing, "rate": rate, "paced": paced}


def report(m: dict[str, Any]) -> list[str]:
    """Print the figures; the goals missed."""
    rate, floor, paced = m["rate"], m["floor"], m["paced"]
    with_failing = statistics.median(r["rate"] for r in m["failing"])
    isolation = with_failing / rate
    shed = sum(r["shed"] for r in m["plain"] + m["failing"])
    print(f"anchor  pure evaluators, bare loop:      {floor:10,.0f} readings/s")
    print(
        f"engine  7 scenarios, queues + database:  {rate:10,.0f} readings/s"
        f"  = {rate / floor:.2f} × anchor; {m['plain'][0]['fired']} firings per run; shed {shed}"
    )
    print(
        f"        ThingsBoard CE, published:       {THINGSBOARD_MSG_S:10,.0f} msg/s on 4 vCPU"
        f" (not run here): ours / theirs = {rate / THINGSBOARD_MSG_S:.1f}"
    )
    print(
        f"latency at {rate / 2:,.0f} readings/s: p50 {paced['p50'] or 0:.3f} s,"
        f" p99 {paced['p99'] or 0:.3f} s over {paced['fired']} firings (goal p99 < {GOAL_P99_S} s)"
    )
    print(
        f"isolation: with a failing scenario {with_failing:,.0f} / without {rate:,.0f}"
        f" = {isolation:.3f} (goal ≥ {GOAL_ISOLATION}); breaker: {m['failing'][0]['tripped'][:1]}"
    )
    missed = []
    if not paced["fired"] or paced["p99"] >= GOAL_P99_S:
        missed.append("p99 latency")
    if isolation < GOAL_ISOLATION:
        missed.append("isolation")
    if shed:
        missed.append("readings shed")
    if not all(r["tripped"] for r in m["failing"]):
        missed.append("breaker did not trip")
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--devices", type=int, default=200, help="devices per base scenario")
    parser.add_argument("--readings", type=int, default=200_000)
    parser.add_argument("--paced-readings", type=int, default=60_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, database(args.database_url, Path(tmp)) as db:
        (Path(tmp) / "var").mkdir(exist_ok=True)
        upgrade(db.url)
        print(
            f"database: {db.shown}; {len(SCENARIOS)} base scenarios × {args.devices} devices;"
            f" {args.readings} readings per run"
        )
        figures = measure(db.url, args)
    missed = report(figures)
    print("goals: " + ("all met" if not missed else "MISSED " + ", ".join(missed)))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

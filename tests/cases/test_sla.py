"""SLA timers in working time through weekends, holidays and 调休, fired exactly once."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from cityops.cases.flow.scheduler import CaseScheduler, Report
from tests.cases.conftest import (
    Api,
    Collector,
    FakeClock,
    Places,
    sh,
    utc_text,
    worker_env,
)
from tests.conftest import Backend

SIJING = "310117102002"


def _dispatched(api: Api, point: tuple[float, float], category: str = "component:0101") -> int:
    """A case opened, registered and dispatched at the clock's time."""
    cid = api.open_case("t_duty", point, category)
    api.ok("t_duty", cid, "register")
    api.ok("t_duty", cid, "dispatch")
    return cid


def run_scheduler(
    backend: Backend, now: datetime, workers: int = 1, heard: Collector | None = None
) -> list[Report]:
    """Run `workers` schedulers at once, each on its own engine, for one pass at `now`."""

    async def run() -> list[Report]:
        envs = [worker_env(backend, lambda: now) for _ in range(workers)]
        for env, _ in envs:
            if heard is not None:
                env.bus.subscribe("*", heard)
        try:
            schedulers = [CaseScheduler(e, name=f"worker-{i}") for i, (e, _) in enumerate(envs)]
            return list(await asyncio.gather(*(s.run_once() for s in schedulers)))
        finally:
            for _, engine in envs:
                await engine.dispose()

    return asyncio.run(run())


def fired(reports: list[Report], cid: int) -> list[tuple[str, str]]:
    """(timer kind, fire) of one case, over all workers."""
    return sorted((f.kind, f.fire) for r in reports for f in r.fired if f.case_id == cid)


def sla_events(api: Api, cid: int) -> list[tuple[str, Any]]:
    """The scheduler's timeline entries of a case."""
    return [
        (e["action"], e["detail"].get("timer"))
        for e in api.timeline(cid)
        if e["action"] in ("due_soon", "overdue")
    ]


def test_deadline_crosses_a_weekend_into_a_tiaoxiu_sunday(
    api: Api, clock: FakeClock, places: Places, backend: Backend
) -> None:
    # Friday 2025-09-26 16:00; Saturday is off, Sunday 09-28 is a 调休 working day.
    clock.set(sh(2025, 9, 26, 16, 0))
    cid = _dispatched(api, places[SIJING])
    case = api.detail(cid)
    assert case["sign_due_at"] == utc_text(sh(2025, 9, 26, 16, 30))
    assert case["handle_due_at"] == utc_text(sh(2025, 9, 28, 12, 0))  # 1 h Friday + 3 h Sunday
    handle = next(t for t in case["timers"] if t["kind"] == "handle")
    assert handle["warn_at"] == utc_text(sh(2025, 9, 28, 11, 12))  # 80 % of 4 h = 3 h 12 min
    assert fired(run_scheduler(backend, sh(2025, 9, 26, 16, 20)), cid) == []
    assert fired(run_scheduler(backend, sh(2025, 9, 26, 16, 25)), cid) == [("sign", "warn")]
    assert fired(run_scheduler(backend, sh(2025, 9, 26, 16, 31)), cid) == [("sign", "breach")]
    assert api.detail(cid)["overdue"] is True
    assert fired(run_scheduler(backend, sh(2025, 9, 27, 12, 0)), cid) == []  # Saturday: nothing
    assert fired(run_scheduler(backend, sh(2025, 9, 28, 11, 13)), cid) == [("handle", "warn")]
    assert fired(run_scheduler(backend, sh(2025, 9, 28, 12, 0, 1)), cid) == [("handle", "breach")]
    assert fired(run_scheduler(backend, sh(2025, 9, 29, 9, 0)), cid) == []  # never twice
    assert sla_events(api, cid) == [
        ("due_soon", "sign"),
        ("overdue", "sign"),
        ("due_soon", "handle"),
        ("overdue", "handle"),
    ]
    detail = api.detail(cid)
    assert detail["loop_level"] == "town" and detail["status"] == "dispatched"  # no escalation
    assert [t["state"] for t in detail["timers"]] == ["breached", "breached"]


def test_deadline_skips_the_national_day_holiday(
    api: Api, clock: FakeClock, places: Places, backend: Backend
) -> None:
    # Tuesday 2025-09-30 16:00 + 4 working hours: 10-01 … 10-08 are 国庆节/中秋节.
    clock.set(sh(2025, 9, 30, 16, 0))
    cid = _dispatched(api, places[SIJING])
    assert api.detail(cid)["handle_due_at"] == utc_text(sh(2025, 10, 9, 12, 0))
    api.ok("t_duty", cid, "sign")  # the sign-for timer is done; only the handle timer runs
    assert fired(run_scheduler(backend, sh(2025, 10, 5, 12, 0)), cid) == []
    assert fired(run_scheduler(backend, sh(2025, 10, 8, 23, 59)), cid) == []
    breach = run_scheduler(backend, sh(2025, 10, 9, 12, 0, 1))
    assert fired(breach, cid) == [("handle", "breach")]  # late: the warning is not sent after it
    assert sla_events(api, cid) == [("overdue", "handle")]


def test_suspension_pauses_the_clock(
    api: Api, clock: FakeClock, places: Places, backend: Backend
) -> None:
    # Monday 2026-01-05 09:00 (the Sunday before was a 调休 working day); due 14:00.
    clock.set(sh(2026, 1, 5, 9, 0))
    cid = _dispatched(api, places[SIJING])
    api.ok("t_duty", cid, "sign")
    assert api.detail(cid)["handle_due_at"] == utc_text(sh(2026, 1, 5, 14, 0))
    clock.set(sh(2026, 1, 5, 10, 0))
    suspended = api.ok("t_duty", cid, "suspend", reason="等待管线单位确认")
    assert suspended["status"] == "suspended"
    assert {t["state"] for t in suspended["timers"]} == {"paused", "done"}
    assert fired(run_scheduler(backend, sh(2026, 1, 5, 16, 0)), cid) == []  # paused: no breach
    clock.set(sh(2026, 1, 6, 9, 0))
    resumed = api.ok("t_duty", cid, "resume")
    assert resumed["status"] == "signed"
    assert resumed["handle_due_at"] == utc_text(sh(2026, 1, 6, 12, 0))  # 3 h were left
    assert fired(run_scheduler(backend, sh(2026, 1, 6, 12, 0, 1)), cid) == [("handle", "breach")]


def test_breach_escalates_a_small_loop_case(
    api: Api, clock: FakeClock, places: Places, backend: Backend
) -> None:
    # 暴露垃圾 closes in the community; a breach there moves it up (the default policy).
    clock.set(sh(2025, 12, 1, 9, 0))
    cid = _dispatched(api, places["310117102003"], "event:0102")
    case = api.detail(cid)
    assert case["loop_level"] == "community"
    heard = Collector()
    reports = run_scheduler(backend, sh(2025, 12, 1, 9, 31), heard=heard)
    assert fired(reports, cid) == [("sign", "breach")]
    assert [e.payload["timer"] for e in heard.of("case.overdue", cid)] == ["sign"]
    escalated = heard.of("case.escalated", cid)
    assert [(e.payload["to_level"], e.payload["automatic"]) for e in escalated] == [
        ("multigrid", True)
    ]
    assert any(f.escalated for r in reports for f in r.fired if f.case_id == cid)
    after = api.detail(cid)
    assert after["loop_level"] == "multigrid" and after["owner_code"].startswith("310117102M")
    assert after["status"] == "registered" and after["overdue"] is True
    steps = [(e["action"], e["actor"]) for e in api.timeline(cid)][-2:]
    assert steps == [("overdue", "worker-0"), ("escalate", "worker-0")]
    assert api.timeline(cid)[-1]["detail"]["automatic"] is True
    # The new loop's sign-for clock starts at its dispatch; the handle clock runs on (14:00).
    assert fired(run_scheduler(backend, sh(2025, 12, 1, 10, 0)), cid) == []
    late = run_scheduler(backend, sh(2025, 12, 1, 14, 0, 1))
    assert fired(late, cid) == [("handle", "breach")]
    assert api.detail(cid)["loop_level"] == "town"  # the medium loop escalates by default too
    assert fired(run_scheduler(backend, sh(2025, 12, 2, 9, 0)), cid) == []


def test_two_workers_fire_each_breach_once_and_a_restart_refires_nothing(
    api: Api, clock: FakeClock, places: Places, backend: Backend
) -> None:
    clock.set(sh(2025, 11, 3, 9, 0))
    ids = [_dispatched(api, places[SIJING]) for _ in range(8)]
    now = sh(2025, 11, 3, 9, 31)  # every sign-for deadline (09:30) has passed
    reports = run_scheduler(backend, now, workers=2)
    won = [{f.timer_id for f in r.fired if f.case_id in ids} for r in reports]
    assert won[0].isdisjoint(won[1])
    for cid in ids:
        assert fired(reports, cid) == [("sign", "breach")]
        assert sla_events(api, cid) == [("overdue", "sign")]
    # A restart: new scheduler objects, new engines; the rows say everything is done.
    again = run_scheduler(backend, now, workers=2)
    assert all(fired(again, cid) == [] for cid in ids)
    assert all(sla_events(api, cid) == [("overdue", "sign")] for cid in ids)
    assert {api.detail(cid)["overdue"] for cid in ids} == {True}

"""How many SQL statements an intake and each main-line action send: the event-flow benchmark's
savings (bench/bench_cases.py) kept, with the timeline and the timers still whole."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import event, select

from cityops.cases.access import Actor, CaseAccess
from cityops.cases.flow.service import ActionInput, CaseService
from cityops.cases.flow.table import MAIN_LINE as workflow_main_line
from cityops.cases.flow.table import Action
from cityops.cases.intake.contact import Contact
from cityops.cases.intake.opening import NewCase, intake
from cityops.cases.models import CaseEvent, CaseTimer
from cityops.kit.db import unit_of_work
from tests.cases.conftest import Places, sh, worker_env
from tests.conftest import Backend

#: Statements each step may send, COMMIT not counted (before the benchmark's work: intake 7,
#: register 6, dispatch 14, sign 9, start 6, handle 9, check 6, verify 6, close 9). Dispatch
#: allows its two new timers as two INSERTs (SQLite); PostgreSQL sends them as one.
BUDGET: dict[str, int] = {
    # source key, rules, INSERT case, the sealed contact (an UPDATE after the INSERT; on
    # PostgreSQL the id drawn before it instead), INSERT entry, twins
    "intake": 6,
    "register": 3,  # SELECT case (locked), UPDATE case, INSERT entry
    "dispatch": 7,  # + department, the case's timers, INSERT both timers
    "sign": 5,  # + the case's timers, UPDATE sign timer
    "start": 3,
    "handle": 5,  # + the case's timers, UPDATE handle timer
    "check": 4,  # + who handled the case (the check must be someone else's)
    "verify": 4,
    "close": 4,  # + the case's timers (both done already: nothing to write)
}
MAIN_LINE = [action.value for action in workflow_main_line]


def _report(places: Places) -> NewCase:
    lon, lat = places["310117102002"]
    key = f"stmt-{uuid.uuid4().hex[:10]}"
    return NewCase(
        source="hotline_12345",
        category="component:0101",
        text="井盖破损",
        source_key=key,
        lon=lon,
        lat=lat,
        contact=Contact("张三", "13812345678"),
    )


async def _count_main_line(backend: Backend, places: Places) -> tuple[dict[str, int], int]:
    env, engine = worker_env(backend, lambda: sh(2026, 7, 6, 10, 0))  # a Monday morning
    sent: list[str] = []
    access, actor = CaseAccess.everything(), Actor.system("test-statements", "310117")
    verifier = Actor.system("test-verifier", "310117")  # 核查 is never the handler's own

    async def opened() -> int:
        async with unit_of_work(env.sessions) as session:
            svc = CaseService(session, env)
            tree, index = await env.tree.current(), await env.index.current()
            return (await intake(svc, access, actor, _report(places), tree, index)).case.id

    try:
        await opened()  # loads the org tree and the division index outside the count
        event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: sent.append(a[2]))
        counts: dict[str, int] = {}
        case_id = await opened()
        counts["intake"] = len(sent)
        for action in MAIN_LINE:
            sent.clear()
            async with unit_of_work(env.sessions) as session:
                data = ActionInput(comment="已修复" if action == "handle" else "")
                who = verifier if action in ("check", "verify") else actor
                await CaseService(session, env).act(access, who, case_id, Action(action), data)
            counts[action] = len(sent)
        return counts, case_id
    finally:
        await engine.dispose()


def test_each_step_sends_no_more_statements_than_its_budget(
    backend: Backend, places: Places
) -> None:
    counts, _ = asyncio.run(_count_main_line(backend, places))
    over = {step: (n, BUDGET[step]) for step, n in counts.items() if n > BUDGET[step]}
    assert not over, f"statements (sent, budget): {over}"


def test_the_lean_path_still_writes_the_whole_timeline_and_both_timers(
    backend: Backend, places: Places
) -> None:
    _, case_id = asyncio.run(_count_main_line(backend, places))

    async def read() -> tuple[list[Any], list[Any]]:
        env, engine = worker_env(backend, lambda: sh(2026, 7, 6, 10, 0))
        try:
            async with unit_of_work(env.sessions) as session:
                entries = select(CaseEvent).where(CaseEvent.case_id == case_id)
                timers = select(CaseTimer).where(CaseTimer.case_id == case_id)
                return (
                    list((await session.scalars(entries.order_by(CaseEvent.seq))).all()),
                    list((await session.scalars(timers.order_by(CaseTimer.kind))).all()),
                )
        finally:
            await engine.dispose()

    entries, timers = asyncio.run(read())
    assert [e.seq for e in entries] == list(range(1, len(MAIN_LINE) + 2))
    assert [e.action for e in entries] == ["created", *MAIN_LINE]
    assert [e.to_status for e in entries][-1] == "closed"
    assert [(t.kind, t.state) for t in timers] == [("handle", "done"), ("sign", "done")]


def test_a_refused_action_still_names_what_is_allowed(backend: Backend, places: Places) -> None:
    """The allowed actions are now computed only on a refusal: they must still be there."""
    from cityops.cases.errors import IllegalTransition

    async def run() -> dict[str, Any]:
        env, engine = worker_env(backend, lambda: sh(2026, 7, 6, 10, 0))
        access, actor = CaseAccess.everything(), Actor.system("test-statements", "310117")
        try:
            async with unit_of_work(env.sessions) as session:
                svc = CaseService(session, env)
                tree, index = await env.tree.current(), await env.index.current()
                case = (await intake(svc, access, actor, _report(places), tree, index)).case
            try:
                async with unit_of_work(env.sessions) as session:
                    await CaseService(session, env).act(
                        access, actor, case.id, Action.CLOSE, ActionInput()
                    )
            except IllegalTransition as exc:
                return dict(exc.extensions)
            raise AssertionError("closing a received case was allowed")
        finally:
            await engine.dispose()

    extra = asyncio.run(run())
    assert extra["state"] == "received" and "register" in extra["allowed_actions"]

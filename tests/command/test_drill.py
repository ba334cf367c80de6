"""A flood-control drill end to end through the API: activation fans out to the three levels,
a community signs late, the escalation fires once at the right (clock) time, scope holds."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from cityops.command.models import TimelineEntry
from tests.command.conftest import API, FakeClock, run_with, scheduler
from tests.conftest import Backend, Login

TOWN = "310117102"  # 泗泾镇 (t_sijing)
COMMUNITY = "310117102001"  # t_grid's community


def _declare(client: TestClient, login: Login, **extra: Any) -> dict[str, Any]:
    body = {"type": "flood", "level": 4, "title": "演练：暴雨积水（合成）", "area_code": TOWN}
    body |= {"synthetic": True, **extra}
    reply = client.post(f"{API}/incidents", json=body, headers=login.headers("t_duty"))
    assert reply.status_code == 201, reply.text
    return reply.json()


def _activate(client: TestClient, login: Login, incident: int, level: int) -> list[dict[str, Any]]:
    reply = client.post(
        f"{API}/incidents/{incident}/activations",
        json={"plan_code": "flood", "level": level},
        headers=login.headers("t_duty"),
    )
    assert reply.status_code == 201, reply.text
    return list(reply.json()["orders"])


def _escalations(backend: Backend, order_id: int) -> list[TimelineEntry]:
    async def read(sessions: Any) -> list[TimelineEntry]:
        async with sessions() as session:
            stmt = select(TimelineEntry).where(
                TimelineEntry.order_id == order_id, TimelineEntry.kind.like("escalate_%")
            )
            return list((await session.scalars(stmt.order_by(TimelineEntry.id))).all())

    return run_with(backend, read)


def _pass(backend: Backend, clock: FakeClock) -> int:
    async def go(sessions: Any) -> int:
        return (await scheduler(backend, sessions, clock).run_once()).count()

    return run_with(backend, go)


def test_activation_fans_out_to_district_town_and_communities(
    client: TestClient, login: Login, clock: FakeClock
) -> None:
    incident = _declare(client, login)
    assert incident["state"] == "declared" and "activate" in incident["allowed"]
    orders = _activate(client, login, incident["id"], level=4)
    tiers = {o["tier"] for o in orders}
    assert tiers == {"district", "town", "community"}
    assert {o["unit_code"] for o in orders if o["tier"] == "district"} == {"310117"}
    assert {o["unit_code"] for o in orders if o["tier"] == "town"} == {TOWN}
    communities = {o["unit_code"] for o in orders if o["tier"] == "community"}
    assert COMMUNITY in communities and all(c.startswith(TOWN) for c in communities)
    board = client.get(f"{API}/incidents/{incident['id']}/orders", headers=login.headers("t_duty"))
    assert len(board.json()) == len(orders)
    assert all(o["state"] == "issued" for o in board.json())
    # A higher level engages more: activating at Ⅱ adds the evacuation orders.
    more = _activate(client, login, incident["id"], level=2)
    assert len(more) > len(orders)


def test_a_late_signature_escalates_once_at_the_right_time(
    client: TestClient, login: Login, clock: FakeClock, backend: Backend
) -> None:
    incident = _declare(client, login)
    orders = _activate(client, login, incident["id"], level=4)
    mine = next(o for o in orders if o["unit_code"] == COMMUNITY)
    # Just before the sign-for deadline nothing fires; at it, the reminder fires once.
    # (Other tests' orders share the database: count this order's steps, not a pass's.)
    clock.advance(minutes=29, seconds=59)
    _pass(backend, clock)
    assert not _escalations(backend, mine["id"])
    clock.advance(seconds=1)
    assert _pass(backend, clock) > 0
    assert _pass(backend, clock) == 0  # a second pass at the same instant fires nothing
    fired = _escalations(backend, mine["id"])
    assert [e.kind for e in fired] == ["escalate_remind"]
    assert fired[0].at == clock.at
    # The gap of the seeded step is 15 minutes: the unit's leader next, then the town.
    clock.advance(minutes=15)
    _pass(backend, clock)
    clock.advance(minutes=15)
    _pass(backend, clock)
    fired = _escalations(backend, mine["id"])
    assert [e.kind for e in fired] == ["escalate_remind", "escalate_leader", "escalate_above"]
    assert fired[2].detail["target"] == TOWN
    # The worker signs, late: the board says so and the sign-for chain stops.
    reply = client.post(f"{API}/orders/{mine['id']}/sign", headers=login.headers("t_grid"))
    assert reply.status_code == 200, reply.text
    assert reply.json()["state"] == "signed" and reply.json()["allowed"] == ["feedback", "complete"]
    timeline = client.get(
        f"{API}/incidents/{incident['id']}/timeline", headers=login.headers("t_duty")
    ).json()
    signed = [e for e in timeline if e["kind"] == "order_sign" and e["order_id"] == mine["id"]]
    assert signed[0]["detail"] == {"late": True}
    reply = client.post(
        f"{API}/orders/{mine['id']}/complete",
        json={"text": "低洼处已巡查，无人员被困"},
        headers=login.headers("t_grid"),
    )
    assert reply.json()["state"] == "done"
    clock.advance(days=1)
    _pass(backend, clock)
    assert len(_escalations(backend, mine["id"])) == 3  # done: nothing more fires


def test_a_town_sees_only_its_own_orders_and_a_worker_signs_for_his(
    client: TestClient, login: Login, clock: FakeClock
) -> None:
    incident = _declare(client, login)
    _activate(client, login, incident["id"], level=4)
    path = f"{API}/incidents/{incident['id']}"
    town = client.get(f"{path}/orders", headers=login.headers("t_sijing")).json()
    assert town and all(o["unit_code"].startswith(TOWN) for o in town)
    assert client.get(path, headers=login.headers("t_sheshan")).status_code == 404
    grid = client.get(f"{path}/orders", headers=login.headers("t_grid")).json()
    assert {o["unit_code"] for o in grid} == {COMMUNITY}
    district = client.get(f"{path}/orders", headers=login.headers("t_duty")).json()
    other = next(o for o in district if o["unit_code"] not in (COMMUNITY, TOWN, "310117"))
    ours = next(o for o in district if o["unit_code"] == "310117")
    # The worker cannot see, let alone sign, another community's or the district's order.
    for order in (other, ours):
        reply = client.post(f"{API}/orders/{order['id']}/sign", headers=login.headers("t_grid"))
        assert reply.status_code == 404
        assert reply.headers["content-type"].startswith("application/problem+json")
    # Signing twice is a conflict, not a second signature.
    mine = grid[0]["id"]
    assert (
        client.post(f"{API}/orders/{mine}/sign", headers=login.headers("t_grid")).status_code == 200
    )
    again = client.post(f"{API}/orders/{mine}/sign", headers=login.headers("t_grid"))
    assert again.status_code == 409
    # The leader reads but may not sign; the town may not write plans.
    assert (
        client.post(f"{API}/orders/{mine}/sign", headers=login.headers("t_leader")).status_code
        == 403
    )
    plan = client.get(f"{API}/plans/flood", headers=login.headers("t_sijing")).json()
    reply = client.post(
        f"{API}/plans",
        json={k: plan[k] for k in ("code", "incident_type", "title", "body")},
        headers=login.headers("t_sijing"),
    )
    assert reply.status_code == 403


def test_adjust_in_flight_and_close(client: TestClient, login: Login, clock: FakeClock) -> None:
    incident = _declare(client, login)
    path = f"{API}/incidents/{incident['id']}"
    early = client.post(
        f"{path}/orders",
        json={"tier": "town", "unit_code": TOWN, "task": "加派泵车", "sign_minutes": 10},
        headers=login.headers("t_duty"),
    )
    assert early.status_code == 409  # nothing to adjust before a plan runs
    _activate(client, login, incident["id"], level=4)
    added = client.post(
        f"{path}/orders",
        json={"tier": "town", "unit_code": TOWN, "task": "加派泵车（合成）", "sign_minutes": 10},
        headers=login.headers("t_sijing"),
    )
    assert added.status_code == 201, added.text
    foreign = client.post(
        f"{path}/orders",
        json={"tier": "town", "unit_code": "310117103", "task": "越权", "sign_minutes": 10},
        headers=login.headers("t_sijing"),
    )
    assert foreign.status_code == 403
    cancel = client.post(
        f"{API}/orders/{added.json()['id']}/cancel", json={}, headers=login.headers("t_duty")
    )
    assert cancel.json()["state"] == "cancelled"
    closed = client.post(
        f"{path}/close", json={"text": "演练结束"}, headers=login.headers("t_duty")
    )
    assert closed.json()["state"] == "closed"
    board = client.get(f"{path}/orders", headers=login.headers("t_duty")).json()
    assert {o["state"] for o in board} == {"cancelled"}
    assert all(o["next_fire_at"] is None for o in board)


def test_bad_input_is_a_problem_not_a_crash(client: TestClient, login: Login) -> None:
    h = login.headers("t_duty")
    bad = [
        client.post(f"{API}/incidents", json={"type": "flood"}, headers=h),
        client.post(
            f"{API}/incidents",
            json={"type": "flood", "level": 9, "title": "x", "area_code": TOWN},
            headers=h,
        ),
        client.post(f"{API}/incidents/1/activations", json={"plan_code": "Nope!"}, headers=h),
        client.get(f"{API}/incidents/99999999", headers=h),
        client.post(f"{API}/orders/99999999/sign", headers=h),
        client.get(f"{API}/plans/nosuchplan", headers=h),
    ]
    for reply in bad:
        assert 400 <= reply.status_code < 500, reply.text
        assert reply.headers["content-type"].startswith("application/problem+json")
    outside = client.post(
        f"{API}/incidents",
        json={"type": "flood", "level": 4, "title": "x", "area_code": "310117103"},
        headers=login.headers("t_sijing"),
    )
    assert outside.status_code == 403

"""Routing: loop level, owner, department and breach policy; the rules API."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.cases.catalog.shipped import Kind, LoopLevel, shipped_catalog
from cityops.cases.flow.routing import Divisions, Rule, next_level, raise_to, route
from cityops.cases.models import RoutingRule
from tests.auth.conftest import assert_problem
from tests.cases.conftest import Api, FakeClock, Places, in_db, sh
from tests.conftest import Backend

FULL = Divisions("310117", "310117102", "310117102001", "310117102001001", "310117102M01")
NO_MULTIGRID = Divisions("310117", "310117102", "310117102001", None, None)
TOWN_ONLY = Divisions("310117", "310117102")
COVER = shipped_catalog(Kind.COMPONENT).get("0101")  # 上水井盖: town, sw
GARBAGE = shipped_catalog(Kind.EVENT).get("0102")  # 暴露垃圾: community, lhsr


def rule(rule_id: int, **fields: object) -> Rule:
    """A routing rule as routing reads it."""
    return Rule(id=rule_id, **fields)  # type: ignore[arg-type]


def test_loops_go_up_and_skip_a_missing_multigrid() -> None:
    assert next_level(LoopLevel.COMMUNITY, FULL) is LoopLevel.MULTIGRID
    assert next_level(LoopLevel.COMMUNITY, NO_MULTIGRID) is LoopLevel.TOWN
    assert next_level(LoopLevel.TOWN, FULL) is LoopLevel.DISTRICT
    assert next_level(LoopLevel.DISTRICT, FULL) is None
    assert raise_to(LoopLevel.COMMUNITY, TOWN_ONLY) is LoopLevel.TOWN


def test_route_takes_the_higher_of_category_and_place() -> None:
    town = route(COVER, FULL, [])
    assert (town.loop_level, town.owner_code, town.department_key) == ("town", "310117102", "sw")
    assert town.escalate_on_breach is False
    small = route(GARBAGE, FULL, [])
    assert (small.loop_level, small.owner_code) == ("community", "310117102001")
    assert small.escalate_on_breach is True
    lifted = route(GARBAGE, TOWN_ONLY, [])  # no community known: the town owns it
    assert lifted.loop_level == "town"


def test_the_most_specific_rule_wins_field_by_field() -> None:
    rules = [
        rule(1, unit_prefix="310117102", department_key="cgzf"),
        rule(2, category="component:0101", loop_level="community"),
        rule(3, category="component:0101", unit_prefix="310117102", escalate_on_breach=True),
        rule(4, category="event:0102", unit_prefix="310117103", loop_level="district"),
    ]
    routed = route(COVER, FULL, rules)
    assert routed.loop_level == "community" and routed.owner_code == "310117102001"
    assert routed.department_key == "cgzf" and routed.escalate_on_breach is True
    assert routed.rule_ids == (1, 2)
    assert route(GARBAGE, FULL, rules).loop_level == "community"  # rule 4 is another town's


def test_rules_api(api: Api, places: Places, clock: FakeClock) -> None:
    clock.set(sh(2026, 8, 3, 9, 0))
    made = api.client.post(
        "/api/v1/cases/routing-rules",
        json={"category": "event:0104", "unit_prefix": "310117102004", "loop_level": "town"},
        headers=api.headers("t_duty"),
    )
    assert made.status_code == 201, made.text
    rule_id = made.json()["id"]
    try:
        listed = api.client.get("/api/v1/cases/routing-rules", headers=api.headers("t_duty"))
        assert rule_id in [r["id"] for r in listed.json()]
        case = api.detail(api.open_case("t_duty", places["310117102004"], "event:0104"))
        assert (case["loop_level"], case["owner_code"]) == ("town", "310117102")
    finally:
        gone = api.client.delete(
            f"/api/v1/cases/routing-rules/{rule_id}", headers=api.headers("t_duty")
        )
        assert gone.status_code == 204
    again = api.client.delete(
        f"/api/v1/cases/routing-rules/{rule_id}", headers=api.headers("t_duty")
    )
    assert_problem(again, 404, "not-found")
    case = api.detail(api.open_case("t_duty", places["310117102004"], "event:0104"))
    assert case["loop_level"] == "community"


def test_a_rule_written_elsewhere_routes_the_next_case(
    api: Api, backend: Backend, places: Places, clock: FakeClock
) -> None:
    # Another worker (here: another engine) adds and removes the rule: this process's rule
    # cache must notice both at the next case, not after some expiry.
    clock.set(sh(2026, 8, 3, 9, 0))
    where = places["310117102004"]

    async def add(session: AsyncSession) -> int:
        row = RoutingRule(
            owner_code="310117",
            category="event:0104",
            unit_prefix="310117102004",
            loop_level="town",
            created_at=clock(),
        )
        session.add(row)
        await session.flush()
        return row.id

    rule_id = in_db(backend, add)
    try:
        case = api.detail(api.open_case("t_duty", where, "event:0104"))
        assert (case["loop_level"], case["owner_code"]) == ("town", "310117102")
    finally:
        in_db(backend, lambda s: s.execute(delete(RoutingRule).where(RoutingRule.id == rule_id)))
    assert api.detail(api.open_case("t_duty", where, "event:0104"))["loop_level"] == "community"


def test_rules_api_refuses_bad_rules_and_other_roles(api: Api) -> None:
    url = "/api/v1/cases/routing-rules"
    for body in (
        {"loop_level": "town"},  # matches nothing
        {"category": "event:0104"},  # sets nothing
        {"category": "event:9999", "loop_level": "town"},
        {"unit_prefix": "310117999", "loop_level": "town"},
        {"category": "event:0104", "department_key": "nasa"},
        {"category": "event:0104", "loop_level": "galaxy"},
    ):
        reply = api.client.post(url, json=body, headers=api.headers("t_duty"))
        assert_problem(reply, 422, "validation")
    assert_problem(api.client.get(url, headers=api.headers("t_sijing")), 403, "forbidden")
    body = {"category": "event:0104", "loop_level": "town"}
    assert_problem(api.client.post(url, json=body, headers=api.headers("t_sijing")), 403)


def test_categories_endpoint(api: Api) -> None:
    reply = api.get("t_grid", "/categories", kind="component")
    assert reply.status_code == 200
    cover = next(c for c in reply.json() if c["code"] == "component:0101")
    assert cover["name"] == "上水井盖" and cover["loop_level"] == "town"
    assert cover["handle"] == {"value": 4, "unit": "working_hours"}
    assert cover["synthetic"] is True
    everything = api.get("t_grid", "/categories").json()
    assert {c["kind"] for c in everything} == {"component", "event", "hotline"}

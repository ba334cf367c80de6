"""GET /api/v1/overview/{code} on SQLite and PostgreSQL: parts, scope, live figures, cache."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cityops.overview.providers import AreaQuery, register, unregister
from tests.auth.conftest import assert_problem
from tests.conftest import Backend, Login
from tests.overview.conftest import (
    OVERVIEW,
    SHESHAN_COMMUNITY,
    SIJING_COMMUNITY,
    child,
    indicator,
    open_case,
    overview,
)

COMMON = {
    "area",
    "population",
    "economy",
    "city_operation",
    "multigrid",
    "event_flow",
    "video",
    "map",
}
STATUSES = {"live", "static", "not_available"}


@pytest.fixture(autouse=True)
def _both(backend: Backend) -> None:
    """Every test here runs on SQLite and on PostgreSQL."""


def test_district_has_nine_parts_each_with_status_and_note(
    client: TestClient, login: Login
) -> None:
    body, reply = overview(client, login, "t_duty", "310117")
    assert reply.headers["cache-control"] == "private, no-store"
    assert (body["code"], body["name"], body["kind"]) == ("310117", "松江区", "district")
    assert set(body["parts"]) == COMMON | {"command"}
    for key, part in body["parts"].items():
        assert part["key"] == key and part["status"] in STATUSES and part["note"], part
    statuses = {k: p["status"] for k, p in body["parts"].items()}
    assert statuses["city_operation"] == statuses["event_flow"] == statuses["map"] == "live"
    assert statuses["population"] == statuses["economy"] == statuses["area"] == "static"
    # Video (R4) and command (R9) have not landed: said so, and what fills them.
    video = body["parts"]["video"]
    assert video["status"] == "not_available" and "尚未接入" in video["note"]
    assert video["missing"] == ["视频监控（摄像机联网）"]
    assert isinstance(video["data"]["video_cases_today"], int)
    # The IoT hub (R6) has landed: it fills the 城市运行 part with live sensing.
    city = body["parts"]["city_operation"]
    assert "物联感知设备" not in city["missing"] and "online_rate" in city["data"]["provided"]
    command = body["parts"]["command"]
    assert command["missing"] == ["指挥调度系统"] and "尚未接入" in command["note"]
    for part in body["parts"].values():  # no roadmap code (R4, R6, R9…) reaches the user
        assert not re.search(r"\bR\d", part["note"] + "".join(part["missing"])), part["note"]
    assert set(command["data"]["supervision"]) == {"urge", "supervise", "listed"}
    area = body["parts"]["area"]["data"]
    assert {c["key"]: c["value"] for c in area["counts"]}["towns"] == 20
    assert area["area"]["value"] == 605.64 and area["area"]["source"]["url"].startswith("https://")
    assert body["parts"]["multigrid"]["synthetic"] is True
    units = body["parts"]["map"]["data"]
    assert units["child_layer"] == "units" and len(units["children"]) == 20
    assert units["bounds"] is not None and "cases" in units["layers"]
    assert [c["code"] for c in body["crumbs"]] == ["310117"]


def test_published_figures_cite_sources_and_towns_say_none_exist(
    client: TestClient, login: Login
) -> None:
    district, _ = overview(client, login, "t_duty", "310117", parts="population,economy")
    population = district["parts"]["population"]
    assert population["status"] == "static"
    census = {
        f["year"]: f["value"] for f in population["data"]["figures"] if f["key"] == "resident"
    }
    assert census == {2020: 1909713, 2010: 1582398, 2000: 641156}
    for figure in population["data"]["figures"] + district["parts"]["economy"]["data"]["figures"]:
        source = figure["source"]
        assert source["publisher"] and source["title"] and source["year"] and source["url"]
    town, _ = overview(client, login, "t_duty", "310117102", parts="population,economy,area")
    for key in ("population", "economy"):
        part = town["parts"][key]
        assert part["status"] == "not_available" and "未找到公开来源" in part["note"]
        assert part["data"]["figures"] == []
    assert town["parts"]["area"]["data"]["area"] is None
    assert "未找到公开来源" in town["parts"]["area"]["data"]["area_missing"]


def test_town_community_and_grid_dispatch_instead_of_command(
    client: TestClient, login: Login
) -> None:
    town, _ = overview(client, login, "t_sijing", "310117102")
    assert town["kind"] == "town" and set(town["parts"]) == COMMON | {"dispatch"}
    assert town["parts"]["dispatch"]["missing"] == ["指挥调度系统"]
    assert [c["code"] for c in town["crumbs"]] == ["310117", "310117102"]
    assert town["crumbs"][0]["overview"] is None  # the district is a path, not a page, for a town
    assert town["parts"]["map"]["data"]["child_layer"] == "communities"
    assert len(town["parts"]["map"]["data"]["children"]) == 42
    community, _ = overview(client, login, "t_sijing", SIJING_COMMUNITY)
    assert community["kind"] == "community" and "dispatch" in community["parts"]
    grids = community["parts"]["map"]["data"]["children"]
    assert grids and all(g["synthetic"] for g in grids)
    grid, _ = overview(client, login, "t_grid", grids[0]["code"])
    assert grid["kind"] == "grid" and grid["parts"]["map"]["data"]["children"] == []
    assert [c["code"] for c in grid["crumbs"]][-2:] == [SIJING_COMMUNITY, grids[0]["code"]]


def test_a_subset_of_parts_and_parts_a_kind_has_not(client: TestClient, login: Login) -> None:
    body, _ = overview(client, login, "t_duty", "310117", parts="event_flow, map,event_flow")
    assert list(body["parts"]) == ["event_flow", "map"]
    for code, part in (("310117102", "command"), ("310117", "dispatch"), ("310117", "nope")):
        reply = client.get(
            f"{OVERVIEW}/{code}", params={"parts": part}, headers=login.headers("t_duty")
        )
        problem = assert_problem(reply, 422, "validation")
        assert problem["errors"][0]["loc"] == ["query", "parts"]


def test_scope_is_enforced(client: TestClient, login: Login) -> None:
    for who, code in (("t_sijing", "310117103"), ("t_sijing", "310117"), ("t_grid", "310117102")):
        reply = client.get(f"{OVERVIEW}/{code}", headers=login.headers(who))
        assert assert_problem(reply, 403, "out-of-scope")["code"] == code
    reply = client.get(f"{OVERVIEW}/{SHESHAN_COMMUNITY}", headers=login.headers("t_sijing"))
    assert_problem(reply, 403, "out-of-scope")
    client.cookies.clear()  # logging in through the API left a session cookie in the jar
    assert_problem(client.get(f"{OVERVIEW}/310117"), 401, "unauthenticated")
    assert_problem(
        client.get(f"{OVERVIEW}/310117", headers=login.headers("t_auditor")), 403, "forbidden"
    )


def test_bad_input_is_a_problem_never_a_500(client: TestClient, login: Login) -> None:
    headers = login.headers("t_duty")
    assert_problem(client.get(f"{OVERVIEW}/310117999", headers=headers), 404, "not-found")
    multigrid = client.get(f"{OVERVIEW}/310117102M01", headers=headers)
    assert "multi-grid" in assert_problem(multigrid, 404, "not-found")["detail"]
    for code in ("abc", "3101", "310117%00", "310117" + "1" * 40, "310117102m01"):
        assert_problem(client.get(f"{OVERVIEW}/{code}", headers=headers), 422, "validation")
    for params in (
        {"parts": "x" * 201},
        {"parts": "event_flow\x00"},
        {"cache": "maybe"},
        {"parts": ",".join(["map"] * 20)},
    ):
        reply = client.get(f"{OVERVIEW}/310117", params=params, headers=headers)
        assert reply.status_code == 422, (params, reply.text)


def test_roles_without_case_read_see_no_case_figures(client: TestClient, login: Login) -> None:
    body, _ = overview(client, login, "t_admin", "310117")
    for key in ("city_operation", "event_flow", "multigrid", "command"):
        part = body["parts"][key]
        assert part["status"] == "not_available" and "无权查看案件" in part["note"], key
    assert body["parts"]["video"]["data"]["video_cases_today"] is None
    assert body["parts"]["map"]["status"] == "static"
    assert "cases" not in body["parts"]["map"]["data"]["layers"]


def test_a_new_case_shows_at_once_in_its_areas_only(
    client: TestClient, login: Login, hotline: dict[str, str]
) -> None:
    district, _ = overview(client, login, "t_duty", "310117")
    town, _ = overview(client, login, "t_sijing", "310117102")
    sheshan, _ = overview(client, login, "t_duty", "310117103")
    _, again = overview(client, login, "t_duty", "310117")
    assert again.headers["x-overview-cache"] == "hit"

    open_case(client, login, SIJING_COMMUNITY, "hotline_12345", hotline)

    after, reply = overview(client, login, "t_duty", "310117")
    # The case event dropped the district's live parts; its static parts stayed cached.
    assert reply.headers["x-overview-cache"] == "partial" and after["cache"] == "partial"
    flow, flow_before = (
        after["parts"]["event_flow"]["data"],
        district["parts"]["event_flow"]["data"],
    )
    assert flow["today_total"] == flow_before["today_total"] + 1
    hotline = next(s for s in flow["by_source"] if s["key"] == "hotline_12345")
    assert (
        hotline["value"]
        == next(s["value"] for s in flow_before["by_source"] if s["key"] == "hotline_12345") + 1
    )
    assert flow["recent"][0]["place"] == "泗泾镇" and flow["recent"][0]["source"] == "12345热线"
    assert indicator(after, "open") == indicator(district, "open") + 1
    assert indicator(after, "today_new") == indicator(district, "today_new") + 1
    assert child(after, "310117102")["open"] == child(district, "310117102")["open"] + 1
    assert child(after, "310117103")["open"] == child(district, "310117103")["open"]

    town_after, _ = overview(client, login, "t_sijing", "310117102")
    assert indicator(town_after, "open") == indicator(town, "open") + 1
    assert (
        child(town_after, SIJING_COMMUNITY)["today"] == child(town, SIJING_COMMUNITY)["today"] + 1
    )
    assert town_after["parts"]["dispatch"]["data"]["awaiting_dispatch"] == (
        town["parts"]["dispatch"]["data"]["awaiting_dispatch"] + 1
    )
    # 佘山's cached parts were not dropped: the case does not lie there.
    sheshan_after, reply = overview(client, login, "t_duty", "310117103")
    assert reply.headers["x-overview-cache"] == "hit"
    assert indicator(sheshan_after, "open") == indicator(sheshan, "open")


def test_the_cache_can_be_bypassed(client: TestClient, login: Login) -> None:
    cached, _ = overview(client, login, "t_duty", "310117102", parts="event_flow")
    fresh, reply = overview(client, login, "t_duty", "310117102", parts="event_flow", cache="false")
    assert reply.headers["x-overview-cache"] == "bypass" and fresh["cache"] == "bypass"
    assert (
        fresh["parts"]["event_flow"]["data"]["today_total"]
        == (cached["parts"]["event_flow"]["data"]["today_total"])
    )
    assert (
        fresh["parts"]["event_flow"]["computed_at"] >= cached["parts"]["event_flow"]["computed_at"]
    )


class _Cameras:
    """A video hub's contribution, as the R4 module will register it (only its shape is real)."""

    part = "video"
    module = "视频监控（摄像机联网）"

    async def data(self, area: AreaQuery) -> dict[str, Any]:
        assert area.scope.allows(area.code)
        return {"tiles": [{"label": "在线摄像机", "value": 12, "unit": "路"}], "area": area.code}


def test_a_module_that_lands_fills_its_part(client: TestClient, login: Login) -> None:
    before, _ = overview(client, login, "t_sijing", "310117102", parts="video", cache="false")
    assert before["parts"]["video"]["status"] == "not_available"
    register(_Cameras())
    try:
        after, _ = overview(client, login, "t_sijing", "310117102", parts="video", cache="false")
    finally:
        unregister("video")
    video = after["parts"]["video"]
    assert video["status"] == "live" and video["missing"] == []
    assert "已接入" in video["note"]
    assert video["data"]["provided"]["area"] == "310117102"
    assert isinstance(video["data"]["video_cases_today"], int)  # what the cases tell stays

"""The org tree over HTTP: Songjiang's units, communities, grids and the data scope."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import Login

GUIDELINE_18 = {
    "310117001",
    "310117002",
    "310117003",
    "310117004",
    "310117005",
    "310117006",
    "310117102",
    "310117103",
    "310117104",
    "310117105",
    "310117106",
    "310117107",
    "310117109",
    "310117116",
    "310117117",
    "310117120",
    "310117121",
    "310117501",
}


def test_district_children_are_the_official_units_with_the_18_flagged(
    client: TestClient, login: Login
) -> None:
    reply = client.get("/api/v1/org/310117/children", headers=login.headers("t_duty"))
    assert reply.status_code == 200
    items = {item["code"]: item for item in reply.json()["items"]}
    assert len(items) == 20
    assert items["310117102"]["name"] == "泗泾镇"
    assert items["310117501"]["name"] == "松江工业区"
    assert items["310117507"]["name"] == "上海松江出口加工区"
    assert {code for code, item in items.items() if item["in_guideline_18"]} == GUIDELINE_18
    assert not any(item["synthetic"] for item in items.values())


def test_town_operator_sees_its_42_communities(client: TestClient, login: Login) -> None:
    reply = client.get("/api/v1/org/310117102/children", headers=login.headers("t_sijing"))
    assert reply.status_code == 200
    body = reply.json()
    assert body["total"] == 42
    assert all(item["code"].startswith("310117102") for item in body["items"])
    assert {item["level"] for item in body["items"]} <= {"residents_committee", "village_committee"}


def test_town_operator_is_refused_another_towns_communities(
    client: TestClient, login: Login
) -> None:
    reply = client.get("/api/v1/org/310117103/children", headers=login.headers("t_sijing"))
    assert reply.status_code == 403
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["type"] == "/problems/out-of-scope"


def test_town_operator_sees_only_its_own_branch_of_the_district(
    client: TestClient, login: Login
) -> None:
    reply = client.get("/api/v1/org/310117/children", headers=login.headers("t_sijing"))
    assert reply.status_code == 200
    assert [item["code"] for item in reply.json()["items"]] == ["310117102"]


def test_grids_are_synthetic_and_extend_their_community_code(
    client: TestClient, login: Login
) -> None:
    reply = client.get("/api/v1/org/310117102001/children", headers=login.headers("t_sijing"))
    assert reply.status_code == 200
    grids = reply.json()["items"]
    assert 3 <= len(grids) <= 7
    for grid in grids:
        assert grid["synthetic"] is True
        assert grid["level"] == "grid"
        assert grid["code"].startswith("310117102001") and len(grid["code"]) == 15

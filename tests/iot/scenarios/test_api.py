"""The scenarios API: district templates, town instances, scene events, scope and bad input."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.auth.conftest import assert_problem
from tests.conftest import Backend, Login
from tests.iot.scenarios.conftest import SHESHAN, SIJING, MemoryDirectory, reading
from tests.iot.scenarios.test_engine import BASE, directory, events, feed, gauge, instantiate

__all__ = ["directory"]  # the fixture, shared with the engine tests


@pytest.fixture(autouse=True)
def _both(backend: Backend) -> None:
    """Every test here runs on SQLite and on PostgreSQL."""


def template_body(**changes: Any) -> dict[str, Any]:
    """A valid threshold template with a fresh code."""
    body: dict[str, Any] = {
        "code": f"t_{uuid.uuid4().hex[:8]}",
        "title": "测试阈值",
        "kind": "threshold",
        "params": {
            "key": {"type": "text", "default": "level", "overridable": False},
            "lines": {"type": "numbers", "default": [5.0], "min": 0, "max": 10},
            "direction": {"type": "choice", "default": "above", "choices": ["above", "below"]},
            "duration_s": {"type": "number", "default": 0, "min": 0, "max": 600},
            "hysteresis": {"type": "number", "default": 0.5, "min": 0, "max": 2},
        },
        "severities": ["major"],
        "opens_case": True,
        "category": "event:0406",
        "synthetic": True,
    }
    body.update(changes)
    return body


def test_the_base_templates_are_seeded_and_labelled(client: TestClient, login: Login) -> None:
    reply = client.get(f"{BASE}/templates", headers=login.headers("t_sijing"))
    assert reply.status_code == 200
    found = {t["code"]: t for t in reply.json()}
    for code in (
        "flood_water_level",
        "manhole_tilt",
        "smoke",
        "combustible_gas",
        "bin_fill",
        "streetlight_fault",
        "elevator_entrapment",
        "no_data",
    ):
        assert code in found
    assert found["flood_water_level"]["synthetic"] is True
    assert "GB/T 50493" in found["combustible_gas"]["source"]
    client.cookies.clear()  # a login left its session cookie in the jar
    assert_problem(client.get(f"{BASE}/templates"), 401)


def test_only_the_district_authors_templates(client: TestClient, login: Login) -> None:
    body = template_body()
    assert_problem(
        client.post(f"{BASE}/templates", json=body, headers=login.headers("t_sijing")), 403
    )
    assert_problem(
        client.post(f"{BASE}/templates", json=body, headers=login.headers("t_leader")), 403
    )
    reply = client.post(f"{BASE}/templates", json=body, headers=login.headers("t_duty"))
    assert reply.status_code == 201, reply.text
    assert reply.json()["version"] == 1
    assert_problem(
        client.post(f"{BASE}/templates", json=body, headers=login.headers("t_duty")), 409
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"params": {"key": {"type": "text", "default": "x"}}},  # a threshold needs more
        {"category": "event:9999"},
        {"category": None},  # opens cases without a category
        {"kind": "nonsense"},
    ],
)
def test_bad_templates_are_problems(
    client: TestClient, login: Login, changes: dict[str, Any]
) -> None:
    reply = client.post(
        f"{BASE}/templates", json=template_body(**changes), headers=login.headers("t_duty")
    )
    assert_problem(reply, 422)


def test_a_default_outside_its_bounds_is_refused(client: TestClient, login: Login) -> None:
    body = template_body()
    body["params"]["hysteresis"]["default"] = 5
    assert_problem(
        client.post(f"{BASE}/templates", json=body, headers=login.headers("t_duty")),
        422,
        "bad-scenario-params",
    )


def test_overrides_stay_inside_the_bounds_and_versions_are_pinned(
    client: TestClient,
    login: Login,
    directory: MemoryDirectory,
    town_points: dict[str, tuple[float, float]],
) -> None:
    body = template_body()
    assert (
        client.post(f"{BASE}/templates", json=body, headers=login.headers("t_duty")).status_code
        == 201
    )
    device = gauge(directory, town_points, SIJING)
    common = {
        "template_code": body["code"],
        "owner_code": SIJING,
        "name": "测试",
        "device_ids": [device.device_id],
    }
    for overrides in (
        {"hysteresis": 3},
        {"key": "other"},
        {"nope": 1},
        {"lines": [9, 1]},
        {"lines": "x"},
    ):
        reply = client.post(
            f"{BASE}/instances",
            json={**common, "overrides": overrides},
            headers=login.headers("t_sijing"),
        )
        assert_problem(reply, 422)
    made = instantiate(client, login, "t_sijing", **common, overrides={"lines": [6.0]})
    assert made["template_version"] == 1 and made["params"]["lines"] == [6.0]
    v2 = template_body(title="新版")
    v2.pop("code")
    v2["params"]["duration_s"]["default"] = 30
    reply = client.post(
        f"{BASE}/templates/{body['code']}/versions", json=v2, headers=login.headers("t_duty")
    )
    assert reply.status_code == 201 and reply.json()["version"] == 2
    pinned = client.get(f"{BASE}/instances/{made['id']}", headers=login.headers("t_sijing")).json()
    assert (
        pinned["template_version"],
        pinned["latest_version"],
        pinned["params"]["duration_s"],
    ) == (1, 2, 0)
    reply = client.patch(
        f"{BASE}/instances/{made['id']}",
        json={"template_version": 2},
        headers=login.headers("t_sijing"),
    )
    assert reply.status_code == 200, reply.text
    assert (reply.json()["template_version"], reply.json()["params"]["duration_s"]) == (2, 30)
    assert reply.json()["params"]["lines"] == [6.0]  # the override is kept


def test_a_town_instantiates_only_for_its_own_devices(
    client: TestClient,
    login: Login,
    directory: MemoryDirectory,
    town_points: dict[str, tuple[float, float]],
) -> None:
    theirs = gauge(directory, town_points, SHESHAN)
    body = {
        "template_code": "smoke",
        "owner_code": SHESHAN,
        "name": "x",
        "device_ids": [theirs.device_id],
    }
    assert_problem(
        client.post(f"{BASE}/instances", json=body, headers=login.headers("t_sijing")),
        403,
        "out-of-scope",
    )
    body["owner_code"] = SIJING
    assert_problem(
        client.post(f"{BASE}/instances", json=body, headers=login.headers("t_sijing")), 422
    )
    both = {
        "template_code": "smoke",
        "owner_code": SIJING,
        "name": "x",
        "device_ids": ["a"],
        "profile": "p",
    }
    assert_problem(
        client.post(f"{BASE}/instances", json=both, headers=login.headers("t_sijing")), 422
    )


def test_a_town_cannot_see_or_ack_another_towns_alarms(
    client: TestClient,
    login: Login,
    directory: MemoryDirectory,
    town_points: dict[str, tuple[float, float]],
) -> None:
    device = gauge(directory, town_points, SIJING)
    made = instantiate(
        client,
        login,
        "t_sijing",
        template_code="flood_water_level",
        owner_code=SIJING,
        name="泗泾",
        profile="water_level_gauge",
        overrides={"duration_s": 0},
    )
    feed(client, [reading(device, "water_level", 3.2, 0)])
    (event,) = [
        e
        for e in events(client, login, "t_sijing", made["id"])
        if e["device_id"] == device.device_id
    ]
    # Another town sees neither the instance nor the alarm, and cannot act on it.
    assert (
        client.get(f"{BASE}/instances/{made['id']}", headers=login.headers("t_sheshan")).status_code
        == 404
    )
    assert made["id"] not in [
        i["id"] for i in client.get(f"{BASE}/instances", headers=login.headers("t_sheshan")).json()
    ]
    assert events(client, login, "t_sheshan", made["id"]) == []
    assert_problem(
        client.post(f"{BASE}/events/{event['id']}/ack", headers=login.headers("t_sheshan")), 404
    )
    assert_problem(
        client.post(f"{BASE}/events/{event['id']}/clear", headers=login.headers("t_sheshan")), 404
    )
    # The district sees it; the leader reads but may not act.
    assert [e["id"] for e in events(client, login, "t_duty", made["id"])] == [
        e["id"] for e in events(client, login, "t_sijing", made["id"])
    ]
    assert_problem(
        client.post(f"{BASE}/events/{event['id']}/ack", headers=login.headers("t_leader")), 403
    )
    # The owner acknowledges (who is recorded), then clears.
    acked = client.post(
        f"{BASE}/events/{event['id']}/ack", headers=login.headers("t_sijing")
    ).json()
    assert (acked["status"], acked["acked_by"]) == ("acknowledged", "t_sijing")
    assert_problem(
        client.post(f"{BASE}/events/{event['id']}/ack", headers=login.headers("t_sijing")), 409
    )
    cleared = client.post(
        f"{BASE}/events/{event['id']}/clear", headers=login.headers("t_sijing")
    ).json()
    assert (cleared["status"], cleared["cleared_by"]) == ("cleared", "t_sijing") and cleared[
        "cleared_at"
    ]
    assert_problem(
        client.post(f"{BASE}/events/99999999/ack", headers=login.headers("t_sijing")), 404
    )


SQUARE = [[121.0, 31.0], [121.1, 31.0], [121.1, 31.1], [121.0, 31.1], [121.0, 31.0]]
OTHER_KINDS: dict[str, dict[str, Any]] = {
    "rate": {
        "key": {"type": "text", "default": "water_level"},
        "limit_per_min": {"type": "number", "default": 0.1, "min": 0.01, "max": 5},
        "direction": {"type": "choice", "default": "rise", "choices": ["rise", "fall", "either"]},
        "window_s": {"type": "number", "default": 600, "min": 60, "max": 3600},
        "hysteresis": {"type": "number", "default": 0.02, "min": 0, "max": 1},
    },
    "composite": {
        "key_a": {"type": "text", "default": "smoke"},
        "line_a": {"type": "number", "default": 0.5},
        "direction_a": {"type": "choice", "default": "above", "choices": ["above", "below"]},
        "key_b": {"type": "text", "default": "temp_c"},
        "line_b": {"type": "number", "default": 57, "min": 40, "max": 90},
        "direction_b": {"type": "choice", "default": "above", "choices": ["above", "below"]},
        "window_s": {"type": "number", "default": 60, "min": 0, "max": 600},
    },
    "geofence": {
        "lon_key": {"type": "text", "default": "lon"},
        "lat_key": {"type": "text", "default": "lat"},
        "polygon": {"type": "polygon", "default": SQUARE},
        "mode": {"type": "choice", "default": "leave", "choices": ["leave", "enter"]},
    },
}


@pytest.mark.parametrize("kind", sorted(OTHER_KINDS))
def test_the_other_kinds_can_be_authored_and_instantiated(
    client: TestClient, login: Login, kind: str
) -> None:
    body = template_body(kind=kind, params=OTHER_KINDS[kind], opens_case=False, category=None)
    reply = client.post(f"{BASE}/templates", json=body, headers=login.headers("t_duty"))
    assert reply.status_code == 201, reply.text
    made = instantiate(
        client,
        login,
        "t_sijing",
        template_code=body["code"],
        owner_code=SIJING,
        name=f"测试{kind}",
        profile="any_profile",
    )
    assert made["params"].keys() == OTHER_KINDS[kind].keys()
    if kind == "geofence":
        open_ring = {"polygon": [*SQUARE[:-1], [121.0, 31.05]]}
        reply = client.patch(
            f"{BASE}/instances/{made['id']}",
            json={"overrides": open_ring},
            headers=login.headers("t_sijing"),
        )
        assert_problem(reply, 422, "bad-scenario-params")

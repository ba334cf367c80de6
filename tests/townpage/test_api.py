"""GET/PUT /api/v1/towns/{code}/page and the link tokens, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.auth.conftest import assert_problem
from tests.conftest import Backend, Login

SIJING = "310117102"
SHESHAN = "310117103"
PAGE = "/api/v1/towns/{}/page"


@pytest.fixture(autouse=True)
def _both(backend: Backend) -> None:
    """Every test here runs on SQLite and on PostgreSQL."""


def read(client: TestClient, login: Login, who: str, code: str = SIJING) -> dict[str, Any]:
    """A town page as an account reads it."""
    reply = client.get(PAGE.format(code), headers=login.headers(who))
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def photo(client: TestClient, login: Login, who: str) -> str:
    """Upload a small real-scene photo made with Pillow; its `photo:` reference."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 32), (40, 120, 200)).save(buffer, "JPEG")
    files = {"file": ("scene.jpg", buffer.getvalue(), "image/jpeg")}
    reply = client.post("/api/v1/media/photos", files=files, headers=login.headers(who))
    assert reply.status_code in (200, 201), reply.text
    ref: str = reply.json()["ref"]
    return ref


def widgets() -> list[dict[str, Any]]:
    """A part, a map and an app page that do not overlap."""
    return [
        {"kind": "part", "part": "event_flow", "x": 0, "y": 0, "w": 6, "h": 5},
        {"kind": "map", "layers": ["units", "communities"], "x": 6, "y": 0, "w": 6, "h": 6},
        {
            "kind": "app",
            "path": f"/cases?unit={SIJING}",
            "title": "案件",
            "x": 0,
            "y": 5,
            "w": 6,
            "h": 3,
        },
    ]


def put(
    client: TestClient, login: Login, who: str, body: dict[str, Any], code: str = SIJING
) -> Any:
    """PUT a page as an account."""
    return client.put(PAGE.format(code), json=body, headers=login.headers(who))


def test_default_page_then_save_and_conflict(client: TestClient, login: Login) -> None:
    start = read(client, login, "t_sheshan", SHESHAN)
    assert start["is_default"] is True and start["version"] == 0
    assert {w["kind"] for w in start["widgets"]} == {"part", "map"}
    ref = photo(client, login, "t_sheshan")
    body = {
        "title": "佘山镇实景页面",
        "background": ref,
        "background_kind": "panorama",
        "widgets": widgets(),
        "version": 0,
    }
    saved = put(client, login, "t_sheshan", body, SHESHAN)
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == 1 and saved.json()["is_default"] is False
    again = read(client, login, "t_duty", SHESHAN)
    assert again["title"] == "佘山镇实景页面" and again["background"] == ref
    assert again["widgets"][1]["layers"] == ["units", "communities"]
    stale = put(client, login, "t_duty", body, SHESHAN)
    assert_problem(stale, 409, "conflict")
    assert stale.json()["current_version"] == 1
    newer = put(client, login, "t_duty", {**body, "version": 1, "title": "区改"}, SHESHAN)
    assert newer.status_code == 200 and newer.json()["version"] == 2
    audit = client.get(
        "/api/v1/audit", params={"action": "townpage.save"}, headers=login.headers("t_auditor")
    )
    assert audit.status_code == 200
    assert any(e["target"] == SHESHAN for e in audit.json()["items"])


def test_scope_and_roles(client: TestClient, login: Login) -> None:
    body = {"title": "越权", "widgets": [], "version": 0}
    assert_problem(put(client, login, "t_sijing", body, SHESHAN), 403, "out-of-scope")
    reply = client.get(PAGE.format(SHESHAN), headers=login.headers("t_sijing"))
    assert_problem(reply, 403, "out-of-scope")
    assert_problem(put(client, login, "t_leader", body), 403, "forbidden")
    assert_problem(put(client, login, "t_grid", body), 403, "out-of-scope")  # a community
    assert_problem(put(client, login, "t_sijing_admin", body), 403, "forbidden")
    reply = client.get(PAGE.format(SIJING), headers=login.headers("t_auditor"))
    assert_problem(reply, 403, "forbidden")
    client.cookies.clear()  # logging in through the API left a session cookie in the jar
    assert_problem(client.get(PAGE.format(SIJING)), 401, "unauthenticated")
    read(client, login, "t_leader")  # reading is anyone whose scope covers the town
    read(client, login, "t_sijing")


@pytest.mark.parametrize(
    ("code", "status"),
    [("310117", 404), ("310117102001", 404), ("999999999", 404), ("abc", 422), ("1" * 40, 422)],
)
def test_only_towns_have_pages(client: TestClient, login: Login, code: str, status: int) -> None:
    reply = client.get(PAGE.format(code), headers=login.headers("t_duty"))
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")


BAD_WIDGETS: list[tuple[str, Any]] = [
    ("unknown part", [{"kind": "part", "part": "weather", "x": 0, "y": 0, "w": 4, "h": 4}]),
    ("map part", [{"kind": "part", "part": "map", "x": 0, "y": 0, "w": 4, "h": 4}]),
    ("command", [{"kind": "part", "part": "command", "x": 0, "y": 0, "w": 4, "h": 4}]),
    ("unknown layer", [{"kind": "map", "layers": ["secret"], "x": 0, "y": 0, "w": 4, "h": 4}]),
    ("too wide", [{"kind": "part", "part": "area", "x": 10, "y": 0, "w": 4, "h": 4}]),
    ("negative", [{"kind": "part", "part": "area", "x": -1, "y": 0, "w": 4, "h": 4}]),
    ("huge", [{"kind": "part", "part": "area", "x": 0, "y": 10**12, "w": 4, "h": 4}]),
    ("zero size", [{"kind": "part", "part": "area", "x": 0, "y": 0, "w": 0, "h": 4}]),
    ("string x", [{"kind": "part", "part": "area", "x": "a", "y": 0, "w": 4, "h": 4}]),
    (
        "other origin",
        [{"kind": "app", "path": "https://evil.example/", "x": 0, "y": 0, "w": 4, "h": 4}],
    ),
    (
        "scheme-less origin",
        [{"kind": "app", "path": "//evil.example/x", "x": 0, "y": 0, "w": 4, "h": 4}],
    ),
    (
        "javascript",
        [{"kind": "app", "path": "javascript:alert(1)", "x": 0, "y": 0, "w": 4, "h": 4}],
    ),
    (
        "backslash",
        [{"kind": "app", "path": "/cases\\\\evil.example", "x": 0, "y": 0, "w": 4, "h": 4}],
    ),
    ("api path", [{"kind": "app", "path": "/api/v1/auth/logout", "x": 0, "y": 0, "w": 4, "h": 4}]),
    ("dot dot", [{"kind": "app", "path": "/cases/../logout", "x": 0, "y": 0, "w": 4, "h": 4}]),
    (
        "part with path",
        [{"kind": "part", "part": "area", "path": "/cases", "x": 0, "y": 0, "w": 4, "h": 4}],
    ),
    ("kind", [{"kind": "video", "x": 0, "y": 0, "w": 4, "h": 4}]),
    ("extra", [{"kind": "part", "part": "area", "x": 0, "y": 0, "w": 4, "h": 4, "html": "<b>"}]),
    (
        "nul title",
        [{"kind": "part", "part": "area", "title": "a\x00b", "x": 0, "y": 0, "w": 4, "h": 4}],
    ),
    (
        "twice",
        [
            {"kind": "part", "part": "area", "x": 0, "y": 0, "w": 4, "h": 4},
            {"kind": "part", "part": "area", "x": 4, "y": 0, "w": 4, "h": 4},
        ],
    ),
    (
        "overlap",
        [
            {"kind": "part", "part": "area", "x": 0, "y": 0, "w": 6, "h": 4},
            {"kind": "part", "part": "video", "x": 5, "y": 3, "w": 4, "h": 4},
        ],
    ),
    (
        "too many",
        [{"kind": "part", "part": "area", "x": 0, "y": i, "w": 1, "h": 1} for i in range(25)],
    ),
    ("not a list", {"kind": "part"}),
]


@pytest.mark.parametrize(("why", "items"), BAD_WIDGETS, ids=[b[0] for b in BAD_WIDGETS])
def test_bad_widgets_are_422(client: TestClient, login: Login, why: str, items: Any) -> None:
    body = {"title": "测试", "widgets": items, "version": 0}
    assert_problem(put(client, login, "t_sijing", body), 422, "validation")


@pytest.mark.parametrize(
    "patch",
    [
        {"title": ""},
        {"title": "x" * 61},
        {"title": "a\x00"},
        {"version": -1},
        {"version": "one"},
        {"version": 2**40},
        {"background": "https://evil.example/a.jpg"},
        {"background": "photo:" + "0" * 64},
        {"background_kind": "video"},
        {"extra": 1},
    ],
)
def test_bad_pages_are_422(client: TestClient, login: Login, patch: dict[str, Any]) -> None:
    body = {"title": "测试", "widgets": [], "version": 0, **patch}
    assert_problem(put(client, login, "t_sijing", body), 422, "validation")


def test_malformed_json_is_400(client: TestClient, login: Login) -> None:
    headers = {**login.headers("t_sijing"), "Content-Type": "application/json"}
    reply = client.put(PAGE.format(SIJING), content=b"{not json", headers=headers)
    assert_problem(reply, 400, "malformed-body")

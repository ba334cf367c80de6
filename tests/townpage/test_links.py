"""Link tokens: issue, list, revoke, expiry, other towns, and what a token opens (nothing else)."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from cityops.kit.db import create_engine, create_sessionmaker, unit_of_work, utcnow
from cityops.townpage.links import digest
from cityops.townpage.models import TownLink
from tests.auth.conftest import assert_problem
from tests.conftest import Backend, Login

SIJING = "310117102"
SHESHAN = "310117103"
LINKS = "/api/v1/towns/{}/links"


@pytest.fixture(autouse=True)
def _both(backend: Backend) -> None:
    """Every test here runs on SQLite and on PostgreSQL."""


def issue(client: TestClient, login: Login, who: str, code: str = SIJING, **extra: Any) -> Any:
    """Issue a link as an account."""
    body = {"label": "区城运中心大屏", **extra}
    return client.post(LINKS.format(code), json=body, headers=login.headers(who))


def anonymous(client: TestClient, url: str, **headers: str) -> Any:
    """A request without the session cookie a login left in the jar."""
    client.cookies.clear()
    return client.get(url, headers=headers, follow_redirects=False)


def expire(backend: Backend, token: str) -> None:
    """Move a link's expiry into the past, straight in the database."""

    async def run() -> None:
        engine = create_engine(backend.settings.database_url)
        try:
            async with unit_of_work(create_sessionmaker(engine)) as session:
                stmt = update(TownLink).where(TownLink.token_hash == digest(token))
                await session.execute(stmt.values(expires_at=utcnow() - timedelta(seconds=1)))
        finally:
            await engine.dispose()

    asyncio.run(run())


def test_issue_list_revoke(client: TestClient, login: Login) -> None:
    reply = issue(client, login, "t_sijing", hours=48)
    assert reply.status_code == 201, reply.text
    link = reply.json()
    token = link["token"]
    assert re.fullmatch(r"tpl_[A-Za-z0-9_-]{43}", token)
    # Absolute: the link is sent to another screen, which does not know this server's address.
    assert link["page_url"] == f"http://testserver/towns/{SIJING}/page?token={token}"
    assert link["overview_url"] == f"http://testserver/overview/{SIJING}?token={token}"
    assert link["state"] == "active" and link["issued_by"] == "t_sijing"
    listed = client.get(LINKS.format(SIJING), headers=login.headers("t_duty")).json()
    assert listed[0]["id"] == link["id"] and "token" not in listed[0]
    assert token not in str(listed)
    page = anonymous(client, link["page_url"], accept="text/html")
    assert page.status_code == 200, page.text
    assert "泗泾镇" in page.text and "退出登录" not in page.text and "主导航" not in page.text
    assert "frame-ancestors 'self'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "x-frame-options" not in page.headers
    overview = anonymous(client, link["overview_url"], accept="text/html")
    assert overview.status_code == 200 and "街镇总览" in overview.text
    gone = client.delete(f"{LINKS.format(SIJING)}/{link['id']}", headers=login.headers("t_sijing"))
    assert gone.status_code == 200 and gone.json()["state"] == "revoked"
    refused = anonymous(client, link["page_url"], accept="text/html")
    assert refused.status_code == 403 and "已被撤销" in refused.text
    assert (
        anonymous(client, f"/towns/{SIJING}/page/parts/event_flow?token={token}").status_code == 403
    )
    audit = client.get(
        "/api/v1/audit", params={"action": "townpage.link"}, headers=login.headers("t_auditor")
    ).json()["items"]
    actions = {e["action"] for e in audit if e["detail"].get("link") == link["id"]}
    assert actions == {"townpage.link.issue", "townpage.link.revoke"}


def test_expired_link_is_401(client: TestClient, login: Login, backend: Backend) -> None:
    token = issue(client, login, "t_duty").json()["token"]
    assert anonymous(client, f"/towns/{SIJING}/page?token={token}").status_code == 200
    expire(backend, token)
    reply = anonymous(client, f"/towns/{SIJING}/page?token={token}", accept="text/html")
    assert reply.status_code == 401 and "已过期" in reply.text
    assert "frame-ancestors 'self'" in reply.headers["content-security-policy"]
    listed = client.get(LINKS.format(SIJING), headers=login.headers("t_duty")).json()
    assert {x["state"] for x in listed if x["label"]} >= {"expired"}


def test_token_opens_one_town_and_nothing_else(client: TestClient, login: Login) -> None:
    token = issue(client, login, "t_sijing").json()["token"]
    q = f"?token={token}"
    for path in (
        f"/towns/{SIJING}/page{q}",
        f"/towns/{SIJING}/overview{q}",
        f"/overview/{SIJING}{q}",
        f"/towns/{SIJING}/page/parts/event_flow{q}",
        f"/towns/{SIJING}/page/parts/city_operation{q}",
        f"/towns/{SIJING}/page/style.json{q}&layers=units,communities,cases",
    ):
        reply = anonymous(client, path)
        assert reply.status_code == 200, (path, reply.text)
    style = anonymous(client, f"/towns/{SIJING}/page/style.json?layers=units,cases&token={token}")
    tiles = [s["tiles"][0] for s in style.json()["sources"].values()]
    assert all(f"/towns/{SIJING}/page/tiles/" in t and t.endswith(q) for t in tiles), tiles
    tile = anonymous(client, f"/towns/{SIJING}/page/tiles/units/10/857/418.mvt{q}")
    assert tile.status_code == 200 and tile.headers["content-type"].startswith("application/")
    # another town, by page, part, stream, style, tile and overview
    for path in (
        f"/towns/{SHESHAN}/page{q}",
        f"/towns/{SHESHAN}/page/parts/event_flow{q}",
        f"/towns/{SHESHAN}/page/stream{q}",
        f"/towns/{SHESHAN}/page/style.json{q}&layers=units",
        f"/towns/{SHESHAN}/page/tiles/units/10/857/418.mvt{q}",
        f"/overview/{SHESHAN}{q}",
    ):
        assert anonymous(client, path).status_code == 403, path
    # the API does not know the token at all: not as bearer, not as a query
    for path in (
        f"/api/v1/overview/{SIJING}",
        f"/api/v1/towns/{SIJING}/page",
        f"/api/v1/towns/{SIJING}/links",
        "/api/v1/cases",
        "/api/v1/auth/me",
        "/api/v1/map/style.json",
    ):
        assert_problem(anonymous(client, path, authorization=f"Bearer {token}"), 401)
        assert_problem(anonymous(client, f"{path}{q}"), 401)
    for path in ("/cases", f"/overview/{SIJING}/parts/event_flow", f"/towns/{SIJING}/page/edit"):
        reply = anonymous(client, f"{path}{q}", accept="text/html")
        assert reply.status_code in (303, 401), (path, reply.status_code)
    assert anonymous(client, f"/map/embed{q}", accept="text/html").status_code == 401


@pytest.mark.parametrize(
    "token",
    ["", "x", "tpl_" + "A" * 43, "tpl_" + "A" * 42 + "%00", "a" * 101, "tpl_" + "%00" * 10],
)
def test_bad_tokens_are_refused(client: TestClient, token: str) -> None:
    reply = anonymous(client, f"/towns/{SIJING}/page?token={token}", accept="text/html")
    assert reply.status_code in (401, 422), reply.text
    assert anonymous(client, f"/towns/{SIJING}/page/stream?token={token}").status_code in (401, 422)


def test_who_may_issue(client: TestClient, login: Login) -> None:
    assert_problem(issue(client, login, "t_sijing", SHESHAN), 403, "out-of-scope")
    assert_problem(issue(client, login, "t_leader"), 403, "forbidden")
    assert_problem(issue(client, login, "t_sijing_admin"), 403, "forbidden")
    reply = client.get(LINKS.format(SIJING), headers=login.headers("t_sheshan"))
    assert_problem(reply, 403, "out-of-scope")
    for body in (
        {"label": ""},
        {"label": "x", "hours": 0},
        {"label": "x", "hours": 10**9},
        {"label": "a\u0000"},
        {"label": "x", "hours": "soon"},
        {"nope": 1},
    ):
        reply = client.post(LINKS.format(SIJING), json=body, headers=login.headers("t_sijing"))
        assert_problem(reply, 422, "validation")
    for link_id in ("999999", "0", "abc", "99999999999999"):
        url = f"{LINKS.format(SIJING)}/{link_id}"
        reply = client.delete(url, headers=login.headers("t_sijing"))
        assert reply.status_code in (404, 422), reply.text
    sheshan_link = issue(client, login, "t_sheshan", SHESHAN).json()
    url = f"{LINKS.format(SIJING)}/{sheshan_link['id']}"
    assert_problem(client.delete(url, headers=login.headers("t_sijing")), 404, "not-found")

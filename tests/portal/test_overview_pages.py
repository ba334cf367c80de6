"""The overview pages over HTTP without a browser: own level, scope, parts, fragments, headers."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.app import create_app
from cityops.auth.roles import Role
from cityops.config import Settings
from cityops.kit.db import in_unit_of_work
from cityops.kit.migrate import upgrade
from cityops.overview.providers import AreaQuery, register, unregister
from tests.conftest import seed_with_accounts
from tests.portal import login_form

PASSWORD = "Portal-Passw0rd!"
ACCOUNTS: dict[str, tuple[Role, str]] = {
    "o_duty": (Role.DISTRICT_OFFICER, "310117"),
    "o_sijing": (Role.TOWN_OPERATOR, "310117102"),
    "o_grid": (Role.GRID_WORKER, "310117102001"),
    "o_admin": (Role.SYS_ADMIN, "310117"),
    "o_auditor": (Role.AUDIT_ADMIN, "310117"),
}
PARTS = [
    "area",
    "population",
    "economy",
    "city_operation",
    "multigrid",
    "event_flow",
    "video",
    "map",
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A client of an app on a migrated, seeded SQLite database."""
    path: Path = tmp_path_factory.mktemp("overview-pages") / "cityops.db"
    url = f"sqlite+aiosqlite:///{path}"
    settings = Settings(
        database_url=url, principal_cache_seconds=0, scheduler=False, _env_file=None
    )  # type: ignore[call-arg]
    upgrade(url)

    async def work(session: AsyncSession) -> None:
        await seed_with_accounts(settings, ACCOUNTS, PASSWORD, session)

    asyncio.run(in_unit_of_work(url, work))
    with TestClient(create_app(settings), follow_redirects=False) as test_client:
        yield test_client


def login(client: TestClient, username: str) -> None:
    """Log in through the form; the client keeps the session cookie."""
    login_form.login(client, username, PASSWORD)


def sections(html: str) -> dict[str, str]:
    """Part key → status of the part sections on a page."""
    return dict(re.findall(r'data-part="([a-z_]+)" data-status="([a-z_]+)"', html))


def test_overview_redirects_to_login_and_back(client: TestClient) -> None:
    client.cookies.clear()
    assert (
        client.get("/overview/310117102").headers["location"] == "/login?next=/overview/310117102"
    )
    assert client.get("/screen").headers["location"] == "/login?next=/screen"
    reply = login_form.post_login(client, "o_sijing", PASSWORD, "/screen/310117102")
    assert reply.headers["location"] == "/screen/310117102"


def test_each_caller_lands_on_its_own_level(client: TestClient) -> None:
    for who, code in (("o_duty", "310117"), ("o_sijing", "310117102"), ("o_grid", "310117102001")):
        login(client, who)
        assert client.get("/overview").headers["location"] == f"/overview/{code}"
        assert client.get("/screen").headers["location"] == f"/screen/{code}"


def test_district_page_shows_nine_parts_and_role_aware_navigation(client: TestClient) -> None:
    login(client, "o_duty")
    page = client.get("/overview/310117")
    assert page.status_code == 200
    assert list(sections(page.text)) == [*PARTS, "command"]
    nav = page.text[page.text.index('<nav class="nav"') : page.text.index("</nav>")]
    assert re.findall(r'href="/(?:overview|screen|cases)"', nav) == [
        'href="/overview"',
        'href="/screen"',
        'href="/cases"',
    ]
    assert "视频监控（摄像机联网）尚未接入" in page.text and "指挥调度系统尚未接入" in page.text
    assert "R4 " not in page.text and "R9 " not in page.text  # no roadmap codes on screen
    population = page.text.split('id="part-population"')[1].split("</section>")[0]
    assert "1,909,713" in population and "数据来源" in population
    csp = page.headers["content-security-policy"]
    assert "worker-src 'self' blob:" in csp and "connect-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp and page.headers["x-frame-options"] == "DENY"
    assert '<script type="module" src="/static/build/overview.js' in page.text
    assert 'hx-get="/overview/310117/parts/event_flow"' in page.text


def test_roles_see_only_their_links_and_parts(client: TestClient) -> None:
    login(client, "o_admin")  # org.read without case.read
    page = client.get("/overview/310117")
    assert sections(page.text)["event_flow"] == "not_available"
    assert "无权查看案件数据" in page.text and 'href="/cases"' not in page.text
    login(client, "o_auditor")  # neither
    home = client.get("/")
    assert 'href="/overview"' not in home.text
    refused = client.get("/overview/310117")
    assert refused.status_code == 403 and "不查看总览" in refused.text


def test_a_town_operator_is_refused_another_towns_overview(client: TestClient) -> None:
    login(client, "o_sijing")
    own = client.get("/overview/310117102")
    assert own.status_code == 200 and list(sections(own.text))[-1] == "dispatch"
    assert "<h1>泗泾镇" in own.text
    for path in ("/overview/310117103", "/screen/310117103", "/overview/310117"):
        refused = client.get(path)
        assert refused.status_code == 403, path
        assert "不在您的数据范围内" in refused.text
    fragment = client.get("/overview/310117103/parts/event_flow")
    assert fragment.status_code == 403 and fragment.text == ""
    assert client.get("/overview/310117999").status_code == 404
    assert client.get("/overview/abc%00").status_code == 404
    gone = client.get("/overview/310117102M01")
    assert gone.status_code == 404 and "没有单独的总览" in gone.text


def test_a_part_comes_alone_as_a_fragment(client: TestClient) -> None:
    login(client, "o_sijing")
    fragment = client.get("/overview/310117102/parts/event_flow")
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<section class="ov-part ov-part-event_flow')
    assert "<html" not in fragment.text and 'hx-trigger="ov-refresh"' in fragment.text
    screen = client.get("/overview/310117102/parts/map", params={"screen": "true"})
    assert 'hx-get="/overview/310117102/parts/map?screen=true"' in screen.text
    assert client.get("/overview/310117102/parts/command").status_code == 422
    assert client.get("/overview/310117102/parts/nope").status_code == 404
    client.cookies.clear()
    assert client.get("/overview/310117102/parts/event_flow").status_code == 401


def test_big_screen_is_a_page_of_its_own(client: TestClient) -> None:
    login(client, "o_duty")
    screen = client.get("/screen/310117")
    assert screen.status_code == 200
    assert 'class="screen-stage" id="stage"' in screen.text
    assert '<nav class="nav"' not in screen.text  # no portal chrome on the hall's wall
    assert list(sections(screen.text)) == [*PARTS, "command"]
    assert '"screen": true' in screen.text


class _Cameras:
    """A video hub's contribution, shaped as the R4 module will register it."""

    part = "video"
    module = "视频监控（摄像机联网）"

    async def data(self, area: AreaQuery) -> dict[str, Any]:
        return {"tiles": [{"label": "在线摄像机", "value": 1234, "unit": "路"}]}


def test_a_part_fills_in_when_its_module_lands(client: TestClient) -> None:
    login(client, "o_sijing")
    register(_Cameras())
    # Modules register at start-up, before anything is cached; here the app already ran.
    client.app.state.overview.cache.clear()  # type: ignore[attr-defined]
    try:
        fragment = client.get("/overview/310117102/parts/video")
        page = client.get("/overview/310117102")
    finally:
        unregister("video")
        client.app.state.overview.cache.clear()  # type: ignore[attr-defined]
    for html in (fragment.text, page.text.split('id="part-video"')[1].split("</section>")[0]):
        assert "在线摄像机" in html and "1,234" in html
        assert "尚未接入" not in html and 'data-status="live"' in fragment.text

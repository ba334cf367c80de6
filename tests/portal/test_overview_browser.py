"""The overview and the big screen in real headless Chromium against a real `cityops serve`.

Every request the browser makes is recorded; none may leave the server on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.real_server import BrowserSession as Session
from tests.real_server import chromium, open_session, running_cityops

PASSWORD = "Browser-Passw0rd!"
ACCOUNTS = {
    "ov_duty": ("district_officer", "310117", "区值班员"),
    "ov_sijing": ("town_operator", "310117102", "泗泾镇操作员"),
}
NINE = [
    "area",
    "population",
    "economy",
    "city_operation",
    "multigrid",
    "event_flow",
    "video",
    "map",
]
LIVE = ["city_operation", "multigrid", "event_flow", "video", "map", "command"]
MAP_IDLE = "#ov-map[data-map-state=idle]"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, with the garbage collector reachable for the leak check."""
    with chromium(["--js-flags=--expose-gc", "--enable-precise-memory-info"]) as instance:
        yield instance


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server over a migrated, seeded SQLite database with a district and a town account."""
    with running_cityops(tmp_path_factory.mktemp("overview"), ACCOUNTS, PASSWORD) as base:
        yield base


def _close(session: Session, server: str) -> None:
    session.context.close()
    outside = [url for url in session.requests if not url.startswith(f"{server}/")]
    assert session.requests and not outside, f"requests left 127.0.0.1: {outside}"
    assert not session.errors, session.errors


@pytest.fixture
def session(browser: Any, server: str) -> Iterator[Session]:
    """A fresh browser context (no cookies) recording its requests."""
    recorded = open_session(browser)
    yield recorded
    _close(recorded, server)


def log_in(page: Any, base: str, username: str) -> None:
    """Log in through the form."""
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def api_token(base: str, username: str) -> str:
    """A bearer token from the API (outside the browser)."""
    reply = httpx.post(
        f"{base}/api/v1/auth/login", json={"username": username, "password": PASSWORD}
    )
    assert reply.status_code == 200, reply.text
    token: str = reply.json()["access_token"]
    return token


def open_case(base: str, token: str, org_code: str) -> int:
    """Open a grid case placed by its community, through the API."""
    body = {
        "source": "grid",
        "source_key": f"browser-{uuid.uuid4().hex}",
        "category": "component:0101",
        "text": "大屏测试：井盖缺失",
        "org_code": org_code,
    }
    reply = httpx.post(
        f"{base}/api/v1/cases", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert reply.status_code == 201, reply.text
    case_id: int = reply.json()["id"]
    return case_id


def tile(page: Any, part: str, key: str) -> int:
    """The number on one tile of a part."""
    text = page.locator(f"#part-{part} [data-key={key}] .ov-tile-value").inner_text()
    return int(re.sub(r"[^0-9]", "", text))


def test_district_overview_shows_nine_parts_and_updates_live(session: Session, server: str) -> None:
    page = session.page
    log_in(page, server, "ov_duty")
    page.click("nav.nav >> text=总览")
    page.wait_for_url(f"{server}/overview/310117")
    parts = page.locator("section.ov-part")
    assert [parts.nth(i).get_attribute("data-part") for i in range(parts.count())] == [
        *NINE,
        "command",
    ]
    for key in LIVE:
        section = page.locator(f"#part-{key}")
        assert section.is_visible()
        expected = "not_available" if key == "video" else "live"
        assert section.get_attribute("data-status") == expected, key
    assert "视频监控（摄像机联网）尚未接入" in page.locator("#part-video").inner_text()
    assert "指挥调度系统尚未接入" in page.locator("#part-command").inner_text()
    assert not re.search(r"\bR\d", page.locator("main").inner_text())  # no roadmap codes
    assert "1,909,713" in page.locator("#part-population").inner_text()
    page.wait_for_selector("#ov-live[data-state=live]")
    page.wait_for_selector(MAP_IDLE, timeout=30_000)
    charts = int(page.evaluate("window.cityopsOverview.charts()"))
    assert charts >= 7

    before = tile(page, "event_flow", "today_total")
    open_before = tile(page, "city_operation", "open")
    open_case(server, api_token(server, "ov_duty"), "310117102001")
    page.wait_for_function(
        "n => Number(document.querySelector('#part-event_flow [data-key=today_total] "
        ".ov-tile-value').textContent.replace(/[^0-9]/g, '')) > n",
        arg=before,
        timeout=15_000,
    )
    assert tile(page, "event_flow", "today_total") == before + 1
    page.wait_for_function(
        "n => Number(document.querySelector('#part-city_operation [data-key=open] "
        ".ov-tile-value').textContent.replace(/[^0-9]/g, '')) > n",
        arg=open_before,
        timeout=15_000,
    )
    assert "泗泾镇" in page.locator("#part-event_flow .ov-recent li").first.inner_text()
    assert page.url == f"{server}/overview/310117"  # no reload: the parts were swapped in
    # A part being swapped has disposed its charts and not yet drawn the new ones: once the
    # swaps settle, exactly as many charts live as before (none leaked, none lost).
    page.wait_for_function("n => window.cityopsOverview.charts() === n", arg=charts)
    assert int(page.evaluate("window.cityopsOverview.charts()")) == charts


def test_drill_down_from_the_map_to_a_town_and_on_to_a_community(
    session: Session, server: str
) -> None:
    page = session.page
    log_in(page, server, "ov_duty")
    page.goto(f"{server}/overview/310117")
    page.wait_for_selector(MAP_IDLE, timeout=30_000)
    # The parts above the map grow with the modules that fill them (the IoT hub's 城市运行):
    # bring the map into the window before clicking on it.
    page.locator("#part-map").scroll_into_view_if_needed()
    page.wait_for_selector(MAP_IDLE, timeout=30_000)
    # Where 泗泾镇's label point lies on the screen: a point inside the town.
    point = page.evaluate(
        """() => {
          const map = window.cityopsOverviewMap;
          const hit = map.querySourceFeatures('units', {sourceLayer: 'labels'})
            .find(f => f.properties.code === '310117102');
          const p = map.project(hit.geometry.coordinates);
          const box = map.getContainer().getBoundingClientRect();
          return [box.left + p.x, box.top + p.y];
        }"""
    )
    page.mouse.click(point[0], point[1])
    page.wait_for_url(f"{server}/overview/310117102")
    assert page.locator(".crumbs li").all_inner_texts() == ["首页", "松江区", "泗泾镇"]
    assert page.locator("#part-dispatch").is_visible()
    assert page.locator("section.ov-part").count() == 9

    first = page.locator("#part-city_operation table [data-code] a").first
    name = first.inner_text()
    first.click()
    page.wait_for_url(re.compile(rf"{server}/overview/310117102\d{{3}}$"))
    assert page.locator("h1").inner_text().startswith(name)
    assert page.locator(".crumbs li").all_inner_texts() == ["首页", "松江区", "泗泾镇", name]
    page.locator(".crumbs a", has_text="泗泾镇").click()
    page.wait_for_url(f"{server}/overview/310117102")


def test_a_town_operator_cannot_open_another_towns_overview(session: Session, server: str) -> None:
    page = session.page
    log_in(page, server, "ov_sijing")
    page.goto(f"{server}/overview")
    page.wait_for_url(f"{server}/overview/310117102")
    assert page.locator("h1").inner_text().startswith("泗泾镇")
    for path in ("/overview/310117103", "/screen/310117103"):
        refused = page.goto(f"{server}{path}")
        assert refused is not None and refused.status == 403
        assert page.locator("h1").inner_text() == "无权访问"
        assert "不在您的数据范围内" in page.locator(".error-message").inner_text()


@pytest.mark.parametrize("width,height", [(1920, 1080), (3840, 2160)])
def test_the_big_screen_fills_the_hall_display(
    browser: Any, server: str, width: int, height: int
) -> None:
    session = open_session(browser, width, height)
    try:
        page = session.page
        log_in(page, server, "ov_duty")
        page.goto(f"{server}/screen")
        page.wait_for_url(f"{server}/screen/310117")
        page.wait_for_selector(MAP_IDLE, timeout=60_000)
        page.wait_for_selector("#ov-live[data-state=live]")
        box = page.locator("#stage").bounding_box()
        assert box is not None
        assert abs(box["x"]) <= 1 and abs(box["y"]) <= 1
        assert abs(box["width"] - width) <= 1 and abs(box["height"] - height) <= 1
        overflow = page.evaluate(
            "[document.documentElement.scrollWidth - innerWidth, "
            "document.documentElement.scrollHeight - innerHeight]"
        )
        assert overflow == [0, 0]
        for key in [*NINE, "command"]:
            part = page.locator(f"#part-{key}").bounding_box()
            assert part is not None and part["width"] > 0 and part["height"] > 0, key
            assert (
                part["x"] + part["width"] <= width + 1 and part["y"] + part["height"] <= height + 1
            )
        assert page.locator("#screen-clock").inner_text()
    finally:
        _close(session, server)


def test_swapping_parts_for_hours_keeps_charts_and_memory_flat(
    session: Session, server: str
) -> None:
    page = session.page
    log_in(page, server, "ov_duty")
    page.goto(f"{server}/screen/310117")
    page.wait_for_selector(MAP_IDLE, timeout=60_000)
    page.evaluate(
        "window.__swaps = 0; document.body.addEventListener('htmx:load', () => window.__swaps++)"
    )
    measure = """() => { window.gc(); return {
        charts: window.cityopsOverview.charts(),
        canvases: document.querySelectorAll('.ov-chart canvas').length,
        nodes: document.getElementsByTagName('*').length,
        heap: performance.memory.usedJSHeapSize }; }"""
    swap_all = f"""() => {{ for (const key of {json.dumps(LIVE)}) {{
        document.getElementById('part-' + key).dispatchEvent(new Event('ov-refresh')); }} }}"""

    def rounds(count: int) -> None:
        for _ in range(count):
            done = int(page.evaluate("window.__swaps"))
            page.evaluate(swap_all)
            page.wait_for_function("n => window.__swaps >= n", arg=done + len(LIVE), timeout=15_000)

    rounds(5)  # warm up: code paths compiled, caches filled
    start = page.evaluate(measure)
    rounds(40)
    end = page.evaluate(measure)
    assert end["charts"] == start["charts"] and end["canvases"] == start["canvases"]
    assert end["nodes"] == start["nodes"]
    assert end["heap"] - start["heap"] < 3 * 1024 * 1024, (start, end)

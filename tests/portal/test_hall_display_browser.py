"""The hall display in real Chromium: cases on the big screen's map, charts updated in place, no
panel clipped at 1920×1080 and 3840×2160, the default town page unclipped, and a one-minute soak.

Live updates are driven by opening cases through the API (never by waiting on a simulator), and
every wait is on a condition in the page.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from bench.bench_screen_soak import GOAL, open_screen, soak
from PIL import Image, ImageChops

from tests.portal.screen_fit import FIT_CHECK, SCREEN_BOXES
from tests.real_server import BrowserSession as Session
from tests.real_server import chromium, open_session, running_cityops

PASSWORD = "Hall-Passw0rd!"
ACCOUNTS = {"hall_duty": ("district_officer", "310117", "区值班长")}
#: Points inside 泗泾镇 and 岳阳街道 (WGS84) where the test's cases are reported.
SIJING = (121.26, 31.12)
YUEYANG = (121.23, 31.03)
MAP_IDLE = "#ov-map[data-map-state=idle]"
OPS_CHART = "#part-city_operation [data-chart]"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, with the garbage collector reachable for the soak."""
    with chromium(["--js-flags=--expose-gc", "--enable-precise-memory-info"]) as instance:
        yield instance


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server over a migrated, seeded SQLite database with a district officer."""
    with running_cityops(tmp_path_factory.mktemp("hall"), ACCOUNTS, PASSWORD) as base:
        yield base


@pytest.fixture(scope="module")
def bearer(server: str) -> str:
    """The district officer's API token."""
    reply = httpx.post(
        f"{server}/api/v1/auth/login", json={"username": "hall_duty", "password": PASSWORD}
    )
    assert reply.status_code == 200, reply.text
    value: str = reply.json()["access_token"]
    return value


def open_case(base: str, bearer: str, point: tuple[float, float]) -> dict[str, Any]:
    """Open a located grid case through the API."""
    body = {
        "source": "grid",
        "source_key": f"hall-{uuid.uuid4().hex}",
        "category": "component:0101",
        "text": "大屏测试：井盖缺失",
        "location": {"lon": point[0], "lat": point[1]},
    }
    reply = httpx.post(
        f"{base}/api/v1/cases", json=body, headers={"Authorization": f"Bearer {bearer}"}
    )
    assert reply.status_code == 201, reply.text
    case: dict[str, Any] = reply.json()
    return case


@pytest.fixture(scope="module")
def cases(server: str, bearer: str) -> list[dict[str, Any]]:
    """A few open cases in two towns, so the map and the lists have something to show."""
    return [open_case(server, bearer, SIJING if i % 2 else YUEYANG) for i in range(12)]


def screen(
    browser: Any, server: str, width: int = 1920, height: int = 1080, code: str = "310117"
) -> Session:
    """An area's big screen (the district's by default), logged in, map idle and stream live."""
    session = open_session(browser, width, height)
    page = session.page
    page.goto(f"{server}/login")
    page.fill("#username", "hall_duty")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")
    page.goto(f"{server}/screen/{code}")
    page.wait_for_selector(MAP_IDLE, timeout=60_000)
    page.wait_for_selector("#ov-live[data-state=live]", timeout=30_000)
    return session


def close(session: Session, server: str) -> None:
    """Close the context; nothing left 127.0.0.1 and no page error happened."""
    session.context.close()
    outside = [url for url in session.requests if not url.startswith(f"{server}/")]
    assert session.requests and not outside, f"requests left 127.0.0.1: {outside}"
    assert not session.errors, session.errors


def map_shot(page: Any, around: list[float]) -> Image.Image:
    """A screenshot of the 60×60 px square of the map around a screen point."""
    x, y = around
    png = page.screenshot(clip={"x": x - 30, "y": y - 30, "width": 60, "height": 60})
    return Image.open(io.BytesIO(png)).convert("RGB")


def idle_again(page: Any) -> None:
    """Wait until the map has rendered what was just asked of it."""
    page.evaluate("document.getElementById('ov-map').dataset.mapState = 'busy'")
    page.evaluate("window.cityopsOverviewMap.triggerRepaint()")
    page.wait_for_selector(MAP_IDLE, timeout=30_000)


def test_cases_are_drawn_on_the_big_screen_map_at_its_fit_zoom_and_as_points_closer(
    browser: Any, server: str, cases: list[dict[str, Any]]
) -> None:
    session = screen(browser, server)
    try:
        page = session.page
        zoom = page.evaluate("window.cityopsOverviewMap.getZoom()")
        assert zoom < 11, zoom  # the whole district: the heat map's range
        loaded = page.evaluate(
            "window.cityopsOverviewMap.querySourceFeatures('cases', {sourceLayer: 'cases'})"
            ".map(f => f.properties.code)"
        )
        assert {str(c["id"]) for c in cases} <= set(loaded)
        where = page.evaluate(
            """([lon, lat]) => { const map = window.cityopsOverviewMap;
                const p = map.project([lon, lat]); const box = map.getContainer().getBoundingClientRect();
                return [box.left + p.x, box.top + p.y]; }""",
            list(SIJING),
        )
        with_heat = map_shot(page, where)
        page.evaluate(
            "window.cityopsOverviewMap.setLayoutProperty('cases-heat', 'visibility', 'none')"
        )
        idle_again(page)
        without = map_shot(page, where)
        # The heat around the cases' point is drawn: hiding its layer changes those pixels.
        changed = ImageChops.difference(with_heat, without).convert("L").point(lambda v: v > 40)
        assert changed.histogram()[1] > 200, "no heat drawn around the cases"

        page.evaluate(
            "window.cityopsOverviewMap.setLayoutProperty('cases-heat', 'visibility', 'visible');"
            f"window.cityopsOverviewMap.jumpTo({{center: {list(SIJING)}, zoom: 13}})"
        )
        idle_again(page)
        points = page.evaluate(
            "window.cityopsOverviewMap.queryRenderedFeatures({layers: ['cases-circle']})"
            ".map(f => f.properties.code)"
        )
        assert {str(c["id"]) for c in cases if c["owner_code"] == "310117102"} <= set(points)
    finally:
        close(session, server)


RECORD_AFTER_SWAP = """() => {
  window.__ops = [];
  document.body.addEventListener('htmx:afterSwap', (event) => {
    if (event.detail.target.id !== 'part-city_operation') return;
    const element = document.querySelector('#part-city_operation [data-chart]');
    window.__ops.push({
      instance: element.getAttribute('_echarts_instance_'),
      data: JSON.parse(element.dataset.chartData),
      bars: window.cityopsOverview.bars(element),
    });
  });
}"""


def test_bar_heights_equal_the_data_right_after_a_live_update(
    browser: Any, server: str, bearer: str, cases: list[dict[str, Any]]
) -> None:
    session = screen(browser, server)
    try:
        page = session.page
        instance = page.get_attribute(OPS_CHART, "_echarts_instance_")
        assert instance
        page.evaluate(RECORD_AFTER_SWAP)
        before = page.evaluate(
            f"JSON.parse(document.querySelector('{OPS_CHART}').dataset.chartData)"
        )
        index = before["labels"].index("泗泾镇")
        open_case(server, bearer, SIJING)
        open_case(server, bearer, SIJING)
        page.wait_for_function(
            "([i, n]) => window.__ops.some(s => s.data.values[i] >= n)",
            arg=[index, before["values"][index] + 2],
            timeout=30_000,
        )
        snapshots = page.evaluate("window.__ops")
        for snapshot in snapshots:
            # Recorded synchronously after the swap, before any frame: the same chart instance
            # (no entrance animation replayed), every bar already at its value's height.
            assert snapshot["instance"] == instance
            assert snapshot["bars"] is not None
            assert [b["value"] for b in snapshot["bars"]] == [
                v or 0 for v in snapshot["data"]["values"]
            ]
            for bar in snapshot["bars"]:
                assert abs(bar["drawn"] - bar["expected"]) <= 1.0, snapshot
        assert any(b["drawn"] > 0 for b in snapshots[-1]["bars"])
    finally:
        close(session, server)


@pytest.mark.parametrize(
    ("code", "width", "height", "charts"),
    [("310117", 1920, 1080, 7), ("310117", 3840, 2160, 7), ("310117102", 1920, 1080, 3)],
)
def test_no_panel_of_the_big_screen_overflows_its_box(
    browser: Any,
    server: str,
    cases: list[dict[str, Any]],
    code: str,
    width: int,
    height: int,
    charts: int,
) -> None:
    session = screen(browser, server, width, height, code)
    try:
        page = session.page
        page.wait_for_function("n => window.cityopsOverview.charts() >= n", arg=charts)
        assert page.evaluate(FIT_CHECK, SCREEN_BOXES) == []
        # Every panel shows its content, none collapsed to nothing.
        for part in page.locator("section.ov-part").all():
            box = part.bounding_box()
            assert box is not None and box["height"] > 100 * height / 1080
        chart = page.locator(OPS_CHART).bounding_box()
        assert chart is not None and chart["height"] >= 120 * height / 1080
    finally:
        close(session, server)


def test_the_default_town_page_is_unclipped(
    browser: Any, server: str, cases: list[dict[str, Any]]
) -> None:
    session = open_session(browser, 1920, 1080)
    try:
        page = session.page
        page.goto(f"{server}/login")
        page.fill("#username", "hall_duty")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{server}/")
        page.goto(f"{server}/towns/310117102/page")
        page.wait_for_selector("#tp-default-note")
        page.wait_for_function("window.cityopsTownPage.charts() >= 3")
        assert page.evaluate(FIT_CHECK, "section.ov-part") == []
        chart = page.locator(OPS_CHART).bounding_box()
        assert chart is not None and chart["height"] >= 150
        note = page.locator("#part-dispatch .ov-note")
        assert note.evaluate("e => e.scrollHeight <= e.clientHeight + 1")
        assert note.inner_text().rstrip().endswith("。")
    finally:
        close(session, server)


COUNT_REQUESTS = """() => {
  window.__ended = 0;
  document.body.addEventListener('htmx:afterRequest', () => { window.__ended++; });
}"""
#: Live charts and charts drawn in the page: equal unless a chart is held by nothing on screen.
CHART_COUNTS = """() => [window.cityopsOverview.charts(),
  document.querySelectorAll('[_echarts_instance_]').length]"""


@pytest.mark.parametrize(
    "body",
    ['<section class="ov-part">片段缺少编号</section>', "", "<p>服务暂不可用</p>"],
    ids=["without-the-part-id", "empty", "error-text"],
)
def test_a_part_swap_that_goes_wrong_leaves_no_chart_held(
    browser: Any, server: str, cases: list[dict[str, Any]], body: str
) -> None:
    session = screen(browser, server)
    try:
        page = session.page
        page.evaluate(COUNT_REQUESTS)
        total, drawn = page.evaluate(CHART_COUNTS)
        in_part = page.locator(OPS_CHART).count()
        assert total == drawn and in_part >= 1
        # The part's next answer is broken: it swaps in, but not as the part it replaces.
        page.route(
            "**/parts/city_operation*",
            lambda route: route.fulfill(status=200, content_type="text/html", body=body),
        )
        page.evaluate(
            "document.getElementById('part-city_operation').dispatchEvent(new Event('ov-refresh'))"
        )
        page.wait_for_function("() => window.__ended >= 1", timeout=30_000)
        assert page.locator("#part-city_operation").count() == 0
        assert page.evaluate(CHART_COUNTS) == [total - in_part, drawn - in_part]
    finally:
        close(session, server)


def test_a_minute_of_fast_live_updates_keeps_the_screen_flat(
    browser: Any, server: str, bearer: str, cases: list[dict[str, Any]]
) -> None:
    context_page = open_screen(browser, server, "hall_duty", PASSWORD)
    try:
        result = soak(context_page, server, bearer, seconds=60, rate=20, every=3, warm=60)
        swaps = result.samples[-1][1]["swaps"] - result.samples[0][1]["swaps"]
        assert result.sent > 100 and swaps > 20, (result.sent, swaps)
        ratios = result.ratios(15)
        assert ratios["charts"] == 1.0 and ratios["canvases"] == 1.0, ratios
        assert ratios["nodes"] <= GOAL and ratios["heap"] <= GOAL, ratios
    finally:
        context_page.context.close()

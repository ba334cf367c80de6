"""Independent checks and citizen reports in real headless Chromium against `cityops serve`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.portal.test_workbench_browser import (
    Server,
    _point,
    _post,
    close_tab,
    open_tab,
)
from tests.portal.test_workbench_browser import (
    browser as browser,  # the module-scoped Chromium fixture, shared
)
from tests.real_server import running_cityops

PASSWORD = "Flow-Passw0rd!"
ACCOUNTS = {
    "fl_duty": ("district_officer", "310117", "区值班长（流程测试）"),
    "fl_sijing": ("town_operator", "310117102", "泗泾镇操作员（流程测试）"),
    "fl_grid": ("grid_worker", "310117102001", "网格员（流程测试）"),
}


@dataclass
class FlowServer(Server):
    """The running platform, a point in the grid worker's community and the cases opened."""

    handled: int = 0  # handled by fl_duty, waiting for its check
    phoned: int = 0  # a grid worker's phone report (source mobile)


def _token(base: str, username: str) -> str:
    reply = _post(base, "/api/v1/auth/login", {"username": username, "password": PASSWORD})
    return str(reply["access_token"])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlowServer]:
    """A real server: one case the duty officer handled itself, one grid worker's phone report."""
    workdir = tmp_path_factory.mktemp("flow-browser")
    with running_cityops(workdir, ACCOUNTS, PASSWORD) as base:
        point = _point(workdir)
        location = {"lon": point[0], "lat": point[1]}
        duty, grid = _token(base, "fl_duty"), _token(base, "fl_grid")
        body = {"category": "event:0102", "location": location}
        handled = _post(base, "/api/v1/cases", {**body, "source": "grid", "text": "垃圾"}, duty)
        for action in ("register", "dispatch", "sign", "start", "handle"):
            extra = {"comment": "已清理"} if action == "handle" else {}
            _post(base, f"/api/v1/cases/{handled['id']}/actions/{action}", extra, duty)
        phoned = _post(base, "/api/v1/cases", {**body, "source": "mobile", "text": "手机"}, grid)
        yield FlowServer(base, workdir, point, int(handled["id"]), int(phoned["id"]))


def _log_in(page: Any, server: FlowServer, username: str, then: str) -> None:
    page.goto(f"{server.base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.base}/")
    page.goto(f"{server.base}{then}")


def test_the_handler_cannot_check_their_own_work_and_someone_else_does(
    browser: Any, server: FlowServer
) -> None:
    path = f"/cases/{server.handled}"
    tab = open_tab(browser, server, viewport={"width": 1600, "height": 1000})
    _log_in(tab.page, server, "fl_duty", path)
    assert tab.page.locator("#actions [data-action=check]").count() == 0
    assert "区值班长（流程测试）" in tab.page.locator("#timeline").inner_text()  # not fl_duty
    assert "fl_duty" not in tab.page.locator("#timeline").inner_text()
    close_tab(tab, server)

    tab = open_tab(browser, server, viewport={"width": 1600, "height": 1000})
    page = tab.page
    _log_in(page, server, "fl_sijing", path)
    page.click("#actions details[data-action=check] > summary")  # 核查 may carry photos
    page.locator("#actions details[data-action=check] button[type=submit]").click()
    page.wait_for_selector("#flash")
    last = page.locator("#timeline > li").last
    assert "核查" in last.locator(".tl-action").inner_text()
    assert "泗泾镇操作员（流程测试）" in last.locator(".tl-who").inner_text()
    assert "核查 区值班长（流程测试） 的处置（独立核查）" in last.inner_text()
    assert page.locator("#actions [data-action=verify]").count() == 1
    close_tab(tab, server)


def test_a_citizens_report_is_filtered_apart_from_the_grid_workers(
    browser: Any, server: FlowServer
) -> None:
    lon, lat = server.point
    phone = open_tab(
        browser,
        server,
        viewport={"width": 375, "height": 667},
        is_mobile=True,
        has_touch=True,
        geolocation={"longitude": lon, "latitude": lat, "accuracy": 8},
        permissions=["geolocation"],
    )
    page = phone.page
    page.goto(f"{server.base}/m/citizen")
    page.wait_for_selector("#geo-status.geo-ok")
    page.locator(".tile", has_text="暴露垃圾").click()
    page.fill("#text", "楼下垃圾没人清理")
    page.fill("#phone", "13812345678")
    page.click("#citizen-submit")
    page.wait_for_url("**/m/citizen")
    assert "编号" in page.locator("#flash").inner_text()
    close_tab(phone, server)

    tab = open_tab(browser, server, viewport={"width": 1600, "height": 1000})
    desk = tab.page
    _log_in(desk, server, "fl_duty", "/cases")
    rows = desk.locator("#case-table tbody tr")
    options = desk.locator("#f-source option").all_inner_texts()
    assert "市民上报（H5）" in options and "网格员移动端上报" in options
    desk.select_option("#f-source", "citizen")
    desk.wait_for_url("**source=citizen**")
    desk.wait_for_function("document.querySelectorAll('#case-table tbody tr').length === 1")
    assert "楼下垃圾没人清理" in rows.first.inner_text()
    assert "市民上报（H5）" in rows.first.inner_text()
    desk.select_option("#f-source", "mobile")
    desk.wait_for_url("**source=mobile**")
    desk.wait_for_function(
        f"[...document.querySelectorAll('#case-table tbody tr td.code a')]"
        f".map(a => a.textContent.trim()).join() === '#{server.phoned}'"
    )
    close_tab(tab, server)


def _legend_share(page: Any) -> float:
    """How much of the case's map its legend and notice cover (0–1), read inside the iframe."""
    page.frame_locator("#case-map").locator("body[data-map-state=idle]").wait_for(timeout=60_000)
    embed = next(f for f in page.frames if "/map/embed" in f.url)
    return float(
        embed.evaluate(
            "() => { const area = innerWidth * innerHeight; let covered = 0;"
            " for (const id of ['legend', 'approximate-notice']) {"
            "  const el = document.getElementById(id); if (!el || el.hidden) continue;"
            "  const r = el.getBoundingClientRect(); covered += r.width * r.height; }"
            " return covered / area; }"
        )
    )


def test_the_list_uses_the_screen_and_case_maps_are_big_and_clear(
    browser: Any, server: FlowServer
) -> None:
    tab = open_tab(browser, server, viewport={"width": 1920, "height": 1080})
    page = tab.page
    _log_in(page, server, "fl_duty", "/cases")
    table = page.locator("#case-table").bounding_box()
    assert table is not None and table["width"] >= 1920 * 0.9, table  # not a 1,440 px column
    page.goto(f"{server.base}/cases/{server.phoned}")
    desk_map = page.locator("#case-map").bounding_box()
    assert desk_map is not None and desk_map["height"] >= 360 and desk_map["width"] >= 500
    assert _legend_share(page) < 0.1
    close_tab(tab, server)

    phone = open_tab(
        browser, server, viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True
    )
    _log_in(phone.page, server, "fl_grid", f"/m/cases/{server.phoned}")
    phone_map = phone.page.locator("#case-map").bounding_box()
    assert phone_map is not None and phone_map["height"] >= 300 and phone_map["width"] >= 300
    assert _legend_share(phone.page) < 0.15
    close_tab(phone, server)

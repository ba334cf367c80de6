"""The event workbench and the phone pages in real headless Chromium against `cityops serve`."""

from __future__ import annotations

import json
import sqlite3
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from shapely.geometry import shape

from cityops.portal.render import STATIC_DIR
from tests.media import images
from tests.real_server import chromium, running_cityops, unavailable

PASSWORD = "Bench-Passw0rd!"
ACCOUNTS = {
    "wb_duty": ("district_officer", "310117", "区值班员（工作台测试）"),
    "wb_grid": ("grid_worker", "310117102001", "网格员（工作台测试）"),
}
COMMUNITY = "310117102001"  # 泗泾镇's first community


@dataclass
class Server:
    """The running platform, its work folder and a point inside the grid worker's community."""

    base: str
    workdir: Path
    point: tuple[float, float]


def _post(base: str, path: str, body: dict[str, Any], token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(  # noqa: S310 - 127.0.0.1 only
        f"{base}{path}", data=json.dumps(body).encode(), headers=headers
    )
    with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 - 127.0.0.1 only
        return json.load(reply)


def _point(workdir: Path) -> tuple[float, float]:
    """A point inside the first grid of the community, from the server's own database."""
    with sqlite3.connect(workdir / "cityops.db") as db:
        (geometry,) = db.execute(
            "SELECT geometry FROM org_unit WHERE parent_code = ? AND level = 'grid' ORDER BY code",
            (COMMUNITY,),
        ).fetchone()
    point = shape(json.loads(geometry)).representative_point()
    return round(point.x, 6), round(point.y, 6)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, once the front-end bundles are built."""
    if not (STATIC_DIR / "build" / "workbench.js").exists():
        unavailable("the front-end bundles are not built (make web)")
    with chromium() as instance:
        yield instance


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real server with three cases opened by the duty officer: two grid, one mobile."""
    workdir = tmp_path_factory.mktemp("workbench-browser")
    with running_cityops(workdir, ACCOUNTS, PASSWORD) as base:
        point = _point(workdir)
        token = _post(base, "/api/v1/auth/login", {"username": "wb_duty", "password": PASSWORD})[
            "access_token"
        ]
        for source, text in (
            ("grid", "巡查发现垃圾"),
            ("grid", "巡查发现占道"),
            ("mobile", "市民随手拍"),  # a duty officer may not claim 12345
        ):
            location = {"lon": point[0], "lat": point[1]}
            body = {"source": source, "category": "event:0102", "text": text, "location": location}
            _post(base, "/api/v1/cases", body, token)
        yield Server(base, workdir, point)


@dataclass
class Tab:
    """A browser context and page that remember every URL requested and every page error."""

    context: Any
    page: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def open_tab(browser: Any, server: Server, **options: Any) -> Tab:
    """A fresh context (no cookies) recording its requests and errors (CSP refusals included)."""
    context = browser.new_context(locale="zh-CN", **options)
    tab = Tab(context, context.new_page())
    context.on("request", lambda request: tab.requests.append(request.url))
    tab.page.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
    tab.page.on("pageerror", lambda exc: tab.errors.append(str(exc)))
    return tab


def close_tab(tab: Tab, server: Server) -> None:
    """Close the context; no request may have left 127.0.0.1, and no script failed."""
    tab.context.close()
    outside = [url for url in tab.requests if not url.startswith(f"{server.base}/")]
    assert tab.requests and not outside, f"requests left 127.0.0.1: {outside}"
    assert not tab.errors, f"errors in the page: {tab.errors}"


def log_in(page: Any, server: Server, username: str, then: str) -> None:
    """Log in through the form and go to a page."""
    page.goto(f"{server.base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.base}/")
    page.goto(f"{server.base}{then}")


def test_the_duty_officer_filters_opens_and_moves_a_case(browser: Any, server: Server) -> None:
    tab = open_tab(browser, server, viewport={"width": 1600, "height": 1000})
    page = tab.page
    log_in(page, server, "wb_duty", "/cases")
    rows = page.locator("#case-table tbody tr")
    assert rows.count() == 3

    page.select_option("#f-source", "grid")  # htmx swaps the results and pushes the URL
    expect(rows).to_have_count(2)
    assert "source=grid" in page.url, page.url  # hx-push-url: the filtered list has its address
    assert all("网格巡查" in t for t in rows.all_inner_texts())

    rows.first.locator("td.code a").click()
    page.wait_for_url("**/cases/*")
    timeline = page.locator("#timeline > li")
    assert timeline.count() == 1 and "创建" in timeline.first.inner_text()
    case_id = page.url.rsplit("/", 1)[1]
    # The case's map: the platform's own embeddable map, with this case highlighted.
    assert page.locator("#case-map").get_attribute("src").startswith("/map/embed?")
    page.frame_locator("#case-map").locator("body[data-map-state=idle]").wait_for(timeout=60_000)
    embed = next(f for f in page.frames if "/map/embed" in f.url)
    script = "JSON.stringify(window.cityopsMap.getFilter('cases-highlight'))"
    for _ in range(50):
        if case_id in embed.evaluate(script):
            break
        page.wait_for_timeout(100)
    assert json.loads(embed.evaluate(script)) == ["==", ["get", "code"], case_id]

    page.click("#actions button[data-action=register]")
    page.wait_for_selector("#flash")
    assert page.locator("#flash").inner_text() == "已立案。"
    assert timeline.count() == 2 and "立案" in timeline.nth(1).inner_text()

    page.click("#actions details[data-action=dispatch] > summary")
    form = page.locator("#actions details[data-action=dispatch] form")
    form.locator("textarea[name=comment]").fill("请居委会处置")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#flash")
    assert page.locator("#flash").inner_text() == "已派遣。"
    assert timeline.count() == 3 and "请居委会处置" in timeline.nth(2).inner_text()
    assert "已派遣" in page.locator(".case-head").inner_text()
    close_tab(tab, server)


def test_a_grid_worker_reports_with_photo_and_location_on_a_phone(
    browser: Any, server: Server, tmp_path: Path
) -> None:
    lon, lat = server.point
    tab = open_tab(
        browser,
        server,
        viewport={"width": 375, "height": 667},
        is_mobile=True,
        has_touch=True,
        geolocation={"longitude": lon, "latitude": lat, "accuracy": 8},
        permissions=["geolocation"],
    )
    page = tab.page
    log_in(page, server, "wb_grid", "/m/report")
    page.wait_for_selector("#geo-status.geo-ok")
    assert "已定位" in page.locator("#geo-status").inner_text()
    assert page.locator("#lon").input_value() == f"{lon:.6f}"

    picture = tmp_path / "scene.jpg"
    picture.write_bytes(images.jpeg_with_gps(1200, 900))
    page.locator(".tile", has_text="暴露垃圾").click()
    page.fill("#text", "小区门口垃圾堆放")
    page.set_input_files("#photos", str(picture))
    assert page.locator("#photo-status").inner_text() == "已选择 1 张照片"
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the report page is {overflow}px wider than the phone"
    submit = page.locator("#report-submit").bounding_box()
    assert submit is not None and submit["height"] >= 44 and submit["width"] >= 300

    page.click("#report-submit")
    page.wait_for_url("**/m/cases/*")
    assert "已上报" in page.locator("#flash").inner_text()
    case_id = page.url.rsplit("/", 1)[1]
    assert page.locator(".photos img").count() == 1
    # The thumbnail loads after the page: wait for it, then it must have decoded to pixels.
    page.wait_for_function(
        "() => { const img = document.querySelector('.photos img');"
        " return img !== null && img.complete; }"
    )
    assert page.evaluate("document.querySelector('.photos img').naturalWidth") > 0

    page.goto(f"{server.base}/m/")
    recent = page.locator(f"#m-recent a[data-case-id='{case_id}']")
    assert recent.count() == 1 and "小区门口垃圾堆放" in recent.inner_text()
    for path in ("/m/", f"/m/cases/{case_id}", "/m/citizen"):
        page.goto(f"{server.base}{path}")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow}px wider than the phone"
    page.wait_for_selector("#geo-status.geo-ok")  # the citizen page locates the phone too
    close_tab(tab, server)

"""The embeddable map in real headless Chromium against a real `cityops serve` process."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cityops.geo.boundaries import unit_points
from cityops.portal.render import STATIC_DIR
from tests.real_server import chromium, running_cityops, unavailable

PASSWORD = "Map-Passw0rd!"
ACCOUNTS = {
    "map_duty": ("district_officer", "310117", "区值班长（地图测试）"),
    "map_sijing": ("town_operator", "310117102", "泗泾镇操作员（地图测试）"),
}
GUIDELINE_18 = {
    *(f"310117{n:03d}" for n in range(1, 7)),
    *(f"310117{n}" for n in (102, 103, 104, 105, 106, 107, 109, 116, 117, 120, 121, 501)),
}
IDLE = "body[data-map-state=idle]"


@dataclass
class Platform:
    """A running server and a bearer token per test account."""

    base: str
    tokens: dict[str, str]


@dataclass
class Session:
    """A browser page that remembers every URL requested and every console error."""

    page: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _login(base: str, username: str) -> str:
    body = json.dumps({"username": username, "password": PASSWORD}).encode()
    request = urllib.request.Request(  # noqa: S310 - 127.0.0.1 only
        f"{base}/api/v1/auth/login", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 - 127.0.0.1 only
        token: str = json.load(reply)["access_token"]
    return token


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright, once the map bundle is built."""
    if not (STATIC_DIR / "build" / "map-embed.js").exists():
        unavailable("the map bundle is not built (make web)")
    with chromium() as instance:
        yield instance


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """A real server on a free port over a migrated, seeded SQLite DB with two accounts."""
    with running_cityops(tmp_path_factory.mktemp("map"), ACCOUNTS, PASSWORD) as base:
        yield Platform(base, {name: _login(base, name) for name in ACCOUNTS})


@pytest.fixture
def session(browser: Any, platform: Platform) -> Iterator[Session]:
    """A fresh browser context recording requests and console errors; none may leave 127.0.0.1."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    recorded = Session(context.new_page())
    context.on("request", lambda request: recorded.requests.append(request.url))
    recorded.page.on(
        "console", lambda m: recorded.errors.append(m.text) if m.type == "error" else None
    )
    recorded.page.on("pageerror", lambda exc: recorded.errors.append(str(exc)))
    context.on(
        "response",
        lambda r: recorded.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    yield recorded
    context.close()
    outside = [url for url in recorded.requests if not url.startswith(f"{platform.base}/")]
    assert recorded.requests and not outside, f"requests left 127.0.0.1: {outside}"
    assert not recorded.errors, f"errors in the page: {recorded.errors}"


def test_embedded_map_draws_the_18_units(
    session: Session, platform: Platform, tmp_path: Path
) -> None:
    page = session.page
    token = platform.tokens["map_duty"]
    page.goto(f"{platform.base}/map/embed?layers=district,units&zoom=9.8&token={token}")
    page.wait_for_selector(IDLE, state="attached", timeout=60_000)
    assert "token" not in page.url  # taken out of the address bar and history
    codes = page.evaluate(
        """() => [...new Set(window.cityopsMap
            .queryRenderedFeatures({layers: ['units-fill']})
            .map((f) => f.properties.code))]"""
    )
    assert set(codes) == GUIDELINE_18
    flags = page.evaluate(
        """() => window.cityopsMap.queryRenderedFeatures({layers: ['units-fill']})
            .every((f) => f.properties.in_guideline_18 === true)"""
    )
    assert flags
    assert page.locator("#approximate-notice").is_visible()
    labels = page.evaluate(
        "() => window.cityopsMap.queryRenderedFeatures({layers: ['units-label']}).length"
    )
    assert labels >= 12  # names drawn from local fonts; a few may yield to collisions
    tiles = [u for u in session.requests if "/api/v1/map/tiles/units/" in u]
    assert tiles, "no unit tile was fetched"
    artifacts = tmp_path / "_artifacts"
    artifacts.mkdir()
    page.screenshot(path=str(artifacts / "map-embed.png"))
    assert (artifacts / "map-embed.png").stat().st_size > 10_000


def test_synthetic_grids_are_marked_for_a_town(session: Session, platform: Platform) -> None:
    page = session.page
    lon, lat = unit_points("310117")["310117102"]
    token = platform.tokens["map_sijing"]
    page.goto(
        f"{platform.base}/map/embed?layers=units,grids&center={lon},{lat}&zoom=13.5&token={token}"
    )
    page.wait_for_selector(IDLE, state="attached", timeout=60_000)
    grids = page.evaluate(
        """() => window.cityopsMap.queryRenderedFeatures({layers: ['grids-line-synthetic']})
            .map((f) => f.properties.code)"""
    )
    assert grids and all(code.startswith("310117102") for code in grids)
    assert page.locator("#legend-synthetic").is_visible()


def _events(page: Any, kind: str) -> list[dict[str, Any]]:
    texts = page.locator(f'#events li[data-type="{kind}"]').all_inner_texts()
    return [json.loads(text) for text in texts]


def test_example_page_drives_the_map_by_post_message(session: Session, platform: Platform) -> None:
    page = session.page
    token = platform.tokens["map_sijing"]
    page.goto(f"{platform.base}/static/map-embed-example.html#token={token}")
    page.wait_for_selector('#events li[data-type="cityops:ready"]', timeout=60_000)
    ready = _events(page, "cityops:ready")[0]
    assert ready["crs"] == "wgs84" and "units" in ready["layers"]

    lon, lat = unit_points("310117")["310117102"]
    page.fill("#lon", str(lon))
    page.fill("#lat", str(lat))
    page.fill("#zoom", "13")
    page.click("#set-center")
    page.wait_for_function("() => true")  # let the message cross
    page.wait_for_selector('#events li[data-type="cityops:moveend"]', timeout=30_000)
    moved = _events(page, "cityops:moveend")[0]
    assert moved["zoom"] == pytest.approx(13)
    assert moved["center"] == pytest.approx([lon, lat], abs=1e-6)

    frame = page.frame_locator("#map")
    frame.locator(IDLE).wait_for(state="attached", timeout=60_000)
    page.click("#highlight")
    box = page.locator("#map").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector('#events li[data-type="cityops:click"]', timeout=30_000)
    clicked = _events(page, "cityops:click")[0]
    assert clicked["layer"] in ("units", "communities")
    assert clicked["code"].startswith("310117102") and clicked["name"]
    assert clicked["lngLat"] == pytest.approx([lon, lat], abs=2e-3)
    assert not _events(page, "cityops:error")

"""Town pages in real headless Chromium against a real `cityops serve`.

The 泗泾镇 operator composes a page (a part, a map, a real-scene photo), saves and reloads it; a
fresh browser with no login opens it by its link; a revoked link is refused. Every request is
recorded and none may leave 127.0.0.1; no console error is allowed.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image, ImageDraw

from tests.real_server import BrowserSession as Session
from tests.real_server import chromium, open_session, running_cityops

PASSWORD = "Browser-Passw0rd!"
SIJING = "310117102"
ACCOUNTS = {
    "tp_sijing": ("town_operator", SIJING, "泗泾镇操作员"),
    "tp_duty": ("district_officer", "310117", "区值班员"),
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium."""
    with chromium() as instance:
        yield instance


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server over a migrated, seeded SQLite database."""
    with running_cityops(tmp_path_factory.mktemp("townpage"), ACCOUNTS, PASSWORD) as base:
        yield base


def _open(browser: Any) -> Session:
    return open_session(browser, 1500, 1000, console_errors=True)


def _close(session: Session, server: str, expected_errors: int = 0) -> None:
    session.context.close()
    # blob: URLs of this origin are the browser's own memory (the panorama's decoded image).
    local = (f"{server}/", f"blob:{server}/")
    outside = [url for url in session.requests if not url.startswith(local)]
    assert session.requests and not outside, f"requests left 127.0.0.1: {outside}"
    # A refused link page is a 401/403 document: Chromium logs its status as a console error.
    refusals = [e for e in session.errors if "status of 403" in e or "status of 401" in e]
    others = [e for e in session.errors if e not in refusals]
    assert not others, others
    assert len(refusals) == expected_errors, session.errors


def scene_photo(path: Path, width: int = 1600, height: int = 800) -> Path:
    """A synthetic 'real scene' (sky, river, buildings) drawn with Pillow."""
    image = Image.new("RGB", (width, height), (135, 190, 235))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, height * 2 // 3, width, height], fill=(60, 110, 160))
    for i in range(0, width, 120):
        draw.rectangle([i + 10, height // 3, i + 90, height * 2 // 3], fill=(180, 170, 150))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    path.write_bytes(buffer.getvalue())
    return path


def log_in(page: Any, base: str, username: str) -> None:
    """Log in through the form."""
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def drag(page: Any, selector: str, dx: float, dy: float) -> None:
    """Drag an element by an offset with the mouse."""
    box = page.locator(selector).bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + min(10, box["height"] / 2)
    if selector.endswith(".tp-edit-handle"):
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y + dy / 2, steps=4)
    page.mouse.move(x + dx, y + dy, steps=4)
    page.mouse.up()


def compose(page: Any, server: str, photo: Path) -> None:
    """Replace the default page by an event-flow part and a map over a photo, and save."""
    page.goto(f"{server}/towns/{SIJING}/page/edit")
    page.wait_for_selector("body[data-editor=ready]")
    while page.locator(".tp-remove").count() > 0:
        page.locator(".tp-remove").first.click()
    page.select_option("#tp-add-part", "event_flow")
    page.click("#tp-add-part-btn")
    page.click("#tp-add-map-btn")
    # The operator sees layers by name (街镇, 居村…), never ids, and no JSON unless asked.
    layers = page.locator("#tp-widget-list .tp-layers").inner_text()
    assert "街镇" in layers and "未结案件" in layers
    assert not {"units", "communities", "cases"} & set(layers.replace("\n", " ").split())
    assert "地图：街镇、居村、未结案件" in page.locator("#tp-widget-list").inner_text()
    assert not page.locator("#tp-widgets-json").is_visible()
    canvas = page.locator("#tp-edit-canvas").bounding_box()
    column = canvas["width"] / 12
    # The map was added below the part: move it up beside the part, then make it wider.
    drag(page, ".tp-edit-box[data-index='1']", column * 6, -26 * 4 - 16)
    drag(page, ".tp-edit-box[data-index='1'] .tp-edit-handle", -column * 1, 26 * 3)
    page.fill("input[name=title]", "泗泾镇实景+数字化")
    page.check("input[name=background_kind][value=image]")
    page.set_input_files("input[name=background_file]", str(photo))
    page.click("#tp-save")
    page.wait_for_url(f"{server}/towns/{SIJING}/page")


def check_page(page: Any) -> None:
    """The composed page: its part, its map drawn, its photo behind them, live."""
    assert page.locator("h1").inner_text().startswith("泗泾镇实景+数字化")
    assert page.locator("#tp-default-note").count() == 0
    assert page.locator(".tp-widget").count() == 2
    assert page.locator("[data-part-widget=event_flow] #part-event_flow").is_visible()
    classes = page.locator(".tp-kind-map").get_attribute("class")
    assert "tp-x6" in classes and "tp-y0" in classes and "tp-w5" in classes, classes
    page.wait_for_selector(".tp-map[data-map-state=idle]", timeout=30_000)
    page.wait_for_function("document.getElementById('tp-bg').naturalWidth > 0")
    page.wait_for_selector("#ov-live[data-state=live]", timeout=15_000)


def test_compose_save_reload_and_open_by_link(browser: Any, server: str, tmp_path: Path) -> None:
    operator = _open(browser)
    page = operator.page
    log_in(page, server, "tp_sijing")
    page.goto(f"{server}/towns/{SIJING}/page")
    assert "默认页面" in page.locator("#tp-default-note").inner_text()
    page.wait_for_selector(".tp-map[data-map-state=idle]", timeout=30_000)
    compose(page, server, scene_photo(tmp_path / "scene.jpg"))
    assert "页面已保存" in page.locator("#flash").inner_text()
    check_page(page)
    page.reload()
    check_page(page)

    page.goto(f"{server}/towns/{SIJING}/page/edit")
    page.fill("input[name=label]", "区城运中心大屏")
    page.click("#tp-issue")
    issued = page.locator("#tp-issued")
    box = issued.bounding_box()  # where the page reloads: seen without scrolling
    assert box is not None and box["y"] + box["height"] <= page.viewport_size["height"]
    assert "（北京时间）" in issued.inner_text() and "UTC" not in issued.inner_text()
    whole = page.locator("#tp-issued-page").input_value()
    assert whole.startswith(f"{server}/towns/{SIJING}/page?token=tpl_")  # an absolute link
    url = whole.removeprefix(server)

    visitor = _open(browser)  # a fresh context: no cookie, no login
    reply = visitor.page.goto(server + url)
    assert reply.status == 200
    assert visitor.context.cookies() == []
    assert visitor.page.locator("nav.nav").count() == 0
    assert visitor.page.locator("text=退出登录").count() == 0
    assert visitor.page.locator("a[href$='/edit']").count() == 0
    check_page(visitor.page)
    overview = visitor.page.goto(
        server + url.replace(f"/towns/{SIJING}/page", f"/overview/{SIJING}")
    )
    assert overview.status == 200
    assert visitor.page.locator(".tp-widget").count() == 9
    visitor.page.wait_for_selector("#ov-live[data-state=live]", timeout=15_000)

    page.goto(f"{server}/towns/{SIJING}/page/edit")
    page.locator("tr:has-text('区城运中心大屏') .tp-revoke").click()
    page.wait_for_url(f"{server}/towns/{SIJING}/page/edit")
    assert "已撤销" in page.locator("tr:has-text('区城运中心大屏')").inner_text()
    refused = visitor.page.goto(server + url)
    assert refused.status == 403
    assert "已被撤销" in visitor.page.locator(".error-message").inner_text()
    other = visitor.page.goto(server + url.replace(SIJING, "310117103"))
    assert other.status == 403
    _close(visitor, server, expected_errors=2)
    _close(operator, server)


def test_panorama_background_pans(browser: Any, server: str, tmp_path: Path) -> None:
    token = httpx.post(
        f"{server}/api/v1/auth/login", json={"username": "tp_duty", "password": PASSWORD}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    data = scene_photo(tmp_path / "pano.jpg", 2048, 1024).read_bytes()
    ref = httpx.post(
        f"{server}/api/v1/media/photos", files={"file": ("pano.jpg", data)}, headers=headers
    ).json()["ref"]
    current = httpx.get(f"{server}/api/v1/towns/310117103/page", headers=headers).json()
    body = {
        "title": "佘山镇全景",
        "background": ref,
        "background_kind": "panorama",
        "widgets": [{"kind": "part", "part": "event_flow", "x": 0, "y": 0, "w": 5, "h": 6}],
        "version": current["version"],
    }
    saved = httpx.put(f"{server}/api/v1/towns/310117103/page", json=body, headers=headers)
    assert saved.status_code == 200, saved.text
    link = httpx.post(
        f"{server}/api/v1/towns/310117103/links", json={"label": "全景测试"}, headers=headers
    ).json()
    visitor = _open(browser)
    visitor.page.goto(link["page_url"])
    visitor.page.wait_for_selector("#tp-pano[data-panorama=ready]", timeout=30_000)
    assert "全景（拖动浏览）" in visitor.page.locator("#tp-pano").inner_text()
    _close(visitor, server)

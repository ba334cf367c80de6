"""The portal in real headless Chromium against a real `cityops serve` process."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.portal.login_form import token_of
from tests.real_server import chromium, running_cityops

OPERATOR = "op_sijing"
PASSWORD = "Browser-Passw0rd!"
SYNTHETIC = "合成数据（非官方）"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright."""
    with chromium() as instance:
        yield instance


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server on a free port over a migrated, seeded SQLite DB with a town operator."""
    accounts = {OPERATOR: ("town_operator", "310117102", "泗泾镇测试操作员")}
    with running_cityops(tmp_path_factory.mktemp("browser"), accounts, PASSWORD) as base:
        yield base


@dataclass
class Session:
    """A browser context and page that remember every URL requested."""

    context: Any
    page: Any
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def session(browser: Any, server: str) -> Iterator[Session]:
    """A fresh browser context (no cookies) recording its requests."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="zh-CN")
    recorded = Session(context, context.new_page())
    context.on("request", lambda request: recorded.requests.append(request.url))
    yield recorded
    context.close()
    outside = [url for url in recorded.requests if not url.startswith(f"{server}/")]
    assert recorded.requests and not outside, f"requests left 127.0.0.1: {outside}"


def _login(page: Any, base: str, password: str) -> Any:
    page.goto(f"{base}/login")
    page.fill("#username", OPERATOR)
    page.fill("#password", password)
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click("button[type=submit]")
    return posted.value


def test_town_operator_walks_the_tree_and_logs_out(session: Session, server: str) -> None:
    page = session.page
    page.goto(f"{server}/")
    assert page.url == f"{server}/login"

    refused = _login(page, server, "Wrong-Passw0rd!")
    assert refused.status == 401
    assert "用户名或密码错误" in page.locator("#login-error").inner_text()

    assert _login(page, server, PASSWORD).status == 303
    page.wait_for_url(f"{server}/")
    cookie = next(c for c in session.context.cookies() if c["name"] == "cityops_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert page.locator(".brand-title").inner_text() == "松江区城市运行管理中心"
    assert "泗泾镇测试操作员" in page.locator(".user").inner_text()
    units = page.locator("#units tbody tr")
    assert units.count() == 1
    assert "泗泾镇" in units.first.inner_text() and "1+18" in units.first.inner_text()

    page.locator("#units a", has_text="泗泾镇").click()
    page.wait_for_url(f"{server}/org/310117102")
    assert page.locator(".crumbs li").all_inner_texts() == ["首页", "松江区", "泗泾镇"]
    assert page.locator("#children tbody tr").count() == 42
    multigrids = page.locator("#multigrids tbody tr")
    assert multigrids.count() > 0
    for i in range(multigrids.count()):
        assert SYNTHETIC in multigrids.nth(i).inner_text()

    first = page.locator("#children tbody tr").first.locator("td.name a")
    name = first.inner_text()
    first.click()
    page.wait_for_url(f"{server}/org/310117102001")
    assert page.locator("h1").inner_text() == name
    grids = page.locator("#children tbody tr")
    assert 3 <= grids.count() <= 7
    for i in range(grids.count()):
        badge = grids.nth(i).locator(".badge-synthetic")
        assert badge.is_visible() and badge.inner_text() == SYNTHETIC
    assert page.locator("#synthetic-note").is_visible()

    forbidden = page.goto(f"{server}/org/310117103")
    assert forbidden is not None and forbidden.status == 403
    assert page.locator("h1").inner_text() == "无权访问"
    assert "不在您的数据范围内" in page.locator(".error-message").inner_text()

    page.goto(f"{server}/")
    page.click("text=退出登录")
    page.wait_for_url(f"{server}/login")
    assert not [c for c in session.context.cookies() if c["name"] == "cityops_session"]
    page.goto(f"{server}/")
    assert page.url == f"{server}/login"


def test_pages_fit_a_phone_screen(session: Session, server: str) -> None:
    page = session.page
    page.set_viewport_size({"width": 390, "height": 844})
    _login(page, server, PASSWORD)
    page.wait_for_url(f"{server}/")
    for path in ("/", "/org/310117102", "/org/310117102001"):
        page.goto(f"{server}{path}")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow}px wider than a phone screen"
        assert page.locator(".brand-title").is_visible()
        assert page.locator("text=退出登录").is_visible()


def test_a_login_posted_from_another_site_is_refused(session: Session, server: str) -> None:
    page = session.page
    page.goto(f"{server}/login")  # the victim's browser holds a login token cookie of its own
    theirs = token_of(httpx.get(f"{server}/login", timeout=10).text)  # the attacker's own token
    forged = session.context.new_page()  # about:blank: an opaque origin, so another site
    forged.set_content(
        f'<form method="post" action="{server}/login">'
        f'<input name="csrf_token" value="{theirs}">'
        f'<input name="username" value="{OPERATOR}"><input name="password" value="{PASSWORD}">'
        "</form>"
    )
    with forged.expect_response(lambda r: r.request.method == "POST") as posted:
        forged.evaluate("document.forms[0].submit()")
    assert posted.value.status == 403
    assert "页面已过期，请重新登录" in forged.locator("#login-error").inner_text()
    assert not [c for c in session.context.cookies() if c["name"] == "cityops_session"]
    forged.close()
    assert _login(page, server, PASSWORD).status == 303  # the real form still logs in

"""Findings 4 and 7 in real Chromium against `cityops serve`: another port of the same site.

A second HTTP server on 127.0.0.1 (same site, another origin) plays the attacker: one page
auto-posts a plain form to the platform's logout, another frames /docs. The platform's own
/docs must render Swagger UI with an Authorize button under its strict CSP.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from cityops.auth.deps import SESSION_COOKIE
from cityops.portal.render import STATIC_DIR
from tests.real_server import chromium, open_session, running_cityops, unavailable

PASSWORD = "Probe-Passw0rd!"
ACCOUNTS = {"probe_duty": ("district_officer", "310117", "区值班员（安全测试）")}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server over a fresh SQLite database."""
    if not (STATIC_DIR / "vendor" / "swagger-ui" / "swagger-ui-bundle.js").exists():
        unavailable("Swagger UI is not bundled (make web)")
    with running_cityops(tmp_path_factory.mktemp("probe"), ACCOUNTS, PASSWORD) as url:
        yield url


@pytest.fixture(scope="module")
def attacker(base: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Pages on another port of 127.0.0.1: a self-posting logout form and a frame of /docs."""
    root: Path = tmp_path_factory.mktemp("attacker")
    (root / "logout.html").write_text(
        f'<form id="f" method="post" action="{base}/api/v1/auth/logout"></form>'
        '<script>document.getElementById("f").submit()</script>'
    )
    (root / "frame.html").write_text(f'<iframe id="docs" src="{base}/docs"></iframe>')
    handler = partial(SimpleHTTPRequestHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium."""
    with chromium() as instance:
        yield instance


def _token(base: str) -> str:
    body = json.dumps({"username": "probe_duty", "password": PASSWORD}).encode()
    request = urllib.request.Request(  # noqa: S310 - 127.0.0.1 only
        f"{base}/api/v1/auth/login", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310 - 127.0.0.1 only
        token: str = json.load(reply)["access_token"]
    return token


def test_a_form_on_another_port_cannot_log_the_user_out(
    browser: Any, base: str, attacker: str
) -> None:
    session = open_session(browser)
    cookie = {"name": SESSION_COOKIE, "value": _token(base), "url": base, "sameSite": "Lax"}
    session.context.add_cookies([{**cookie, "httpOnly": True}])
    try:
        page = session.page
        assert page.goto(f"{base}/api/v1/auth/me").status == 200
        with page.expect_navigation(url=f"{base}/api/v1/auth/logout"):
            page.goto(f"{attacker}/logout.html")
        assert "cross-site-request" in page.content()
        assert page.goto(f"{base}/api/v1/auth/me").status == 200  # still signed in
    finally:
        session.context.close()


def test_docs_render_with_authorize_and_cannot_be_framed(
    browser: Any, base: str, attacker: str
) -> None:
    session = open_session(browser, console_errors=True)
    try:
        page = session.page
        page.goto(f"{base}/docs")
        page.wait_for_selector("button.authorize", timeout=60_000)
        page.click("button.authorize")
        page.wait_for_selector(".auth-container", timeout=30_000)
        shown = page.inner_text(".modal-ux")
        assert "bearer" in shown and "session" in shown and "cityops_session" in shown
        assert not [e for e in session.errors if "Content Security Policy" in e], session.errors
        assert all(url.startswith(base) for url in session.requests)  # nothing from a CDN
        # Framed from another origin: the browser refuses to render it.
        page.goto(f"{attacker}/frame.html")
        page.wait_for_load_state("load")
        assert f"{base}/docs" in session.requests[-3:] or f"{base}/docs" in session.requests
        framed = [f for f in page.frames if f is not page.main_frame]
        assert framed and all(f.query_selector(".swagger-ui") is None for f in framed)
        assert any("frame-ancestors" in e for e in session.errors), session.errors
    finally:
        session.context.close()

"""In Chromium: a duty officer's first login leads to the enrolment; the QR code shows, the CSP holds."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tests.real_server import chromium, open_session, running_cityops

PASSWORD = "Totp-Browser-Passw0rd!"
ACCOUNTS = {"b_duty": ("district_officer", "310117", "值班长")}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server whose duty officers must use two factors (the default)."""
    saved = os.environ.pop("CITYOPS_TOTP_REQUIRED_ROLES", None)
    try:
        with running_cityops(tmp_path_factory.mktemp("totp"), ACCOUNTS, PASSWORD) as url:
            yield url
    finally:
        if saved is not None:
            os.environ["CITYOPS_TOTP_REQUIRED_ROLES"] = saved


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as instance:
        yield instance


def test_first_login_enrols_with_a_qr_code(base: str, browser: Any, tmp_path: Path) -> None:
    session = open_session(browser, 1200, 900, console_errors=True)
    page = session.page
    page.goto(f"{base}/login")
    page.fill("#username", "b_duty")
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{base}/totp")
    assert page.locator("#totp-required").is_visible()
    page.click("#totp-start button[type=submit]")
    qr = page.locator("#totp-qr svg")
    qr.wait_for()
    box = qr.bounding_box()
    assert box is not None and box["width"] >= 100 and box["height"] >= 100
    secret = page.locator("#totp-secret").inner_text().strip()
    page.screenshot(path=str(tmp_path / "totp-enrol.png"))
    # The code of the real clock: one step of drift either side is accepted, so no race.
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("#totp-confirm button[type=submit]")
    codes = page.locator("#recovery-codes li")
    codes.first.wait_for()
    assert codes.count() == 10
    page.goto(f"{base}/")
    assert page.url == f"{base}/"  # enrolled: the portal opens
    assert session.errors == []  # no CSP violation, no script error
    session.context.close()

"""The portal's two-factor sign-in: a duty officer enrols at first login, then signs in with codes."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from fastapi.testclient import TestClient

from cityops.app import create_app
from cityops.auth.roles import Role
from cityops.kit.db import utcnow
from tests.auth.conftest import new_account
from tests.conftest import PASSWORD, Backend
from tests.portal.login_form import login_token, post_login

REQUIRED = ["sys_admin", "security_admin", "audit_admin", "district_officer"]
# Sessions made at the injected instant are checked against the real clock later (idle timeout).
T0 = datetime.fromtimestamp((int(utcnow().timestamp()) // 30) * 30 + 5, UTC)


@pytest.fixture(scope="module")
def site(backend: Backend) -> Iterator[tuple[TestClient, list[datetime]]]:
    """The portal of an app whose duty officers must use two factors, with its sign-in clock."""
    settings = backend.settings.model_copy(
        update={"totp_required_roles": REQUIRED, "scheduler": False}
    )
    now = [T0]
    with TestClient(create_app(settings), follow_redirects=False) as client:
        client.app.state.auth_clock = lambda: now[0]  # type: ignore[attr-defined]
        yield client, now


def session_csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page)
    assert match, "no session CSRF token on the page"
    return match.group(1)


def test_a_duty_officer_enrols_at_first_login_then_signs_in_with_a_code(
    site: tuple[TestClient, list[datetime]], backend: Backend
) -> None:
    client, now = site
    duty = new_account(backend, Role.DISTRICT_OFFICER, "310117", prefix="pduty")
    client.cookies.clear()
    first = post_login(client, duty.username, PASSWORD)
    assert first.status_code == 303 and first.headers["location"] == "/totp"
    assert client.get("/").headers["location"] == "/totp"  # nothing else until enrolled
    page = client.get("/totp")
    assert page.status_code == 200 and 'id="totp-required"' in page.text
    enrol = client.post("/totp/enrol", data={"csrf_token": session_csrf(page.text)})
    assert enrol.status_code == 200, enrol.text
    assert "<svg" in enrol.text and 'id="totp-qr"' in enrol.text
    match = re.search(r'id="totp-secret">([A-Z2-7]{32})<', enrol.text)
    assert match
    secret = match.group(1)
    token = session_csrf(enrol.text)
    wrong = client.post("/totp/confirm", data={"csrf_token": token, "code": "000000"})
    assert wrong.status_code == 422 and "验证码不正确" in wrong.text
    assert secret not in wrong.text  # the secret is shown once only
    done = client.post(
        "/totp/confirm", data={"csrf_token": token, "code": pyotp.TOTP(secret).at(T0)}
    )
    assert done.status_code == 200, done.text
    codes = re.findall(r"<li><code>([a-z0-9-]{19})</code></li>", done.text)
    assert len(codes) == 10
    assert client.get("/").status_code == 200

    # The next login asks for the code; the one used at enrolment is spent.
    client.cookies.clear()
    step1 = post_login(client, duty.username, PASSWORD)
    assert step1.status_code == 200 and 'id="code-form"' in step1.text
    assert "cityops_session" not in step1.headers.get("set-cookie", "")
    challenge = re.search(r'name="challenge" value="([^"]+)"', step1.text)
    assert challenge
    form = {
        "csrf_token": login_token(client),
        "challenge": html.unescape(challenge.group(1)),
        "username": duty.username,
    }
    replay = client.post("/login/code", data={**form, "code": pyotp.TOTP(secret).at(T0)})
    assert replay.status_code == 401 and "验证码错误" in replay.text
    for _ in range(2):
        client.post("/login/code", data={**form, "code": "000000"})
    warned = client.post("/login/code", data={**form, "code": "000000"})
    assert "再错 1 次，本地址的登录将被锁定 15 分钟" in warned.text
    now[0] = T0 + timedelta(seconds=30)
    good = client.post("/login/code", data={**form, "code": pyotp.TOTP(secret).at(now[0])})
    assert good.status_code == 303 and good.headers["location"] == "/"
    assert "cityops_session=cos_" in good.headers["set-cookie"]
    assert client.get("/").status_code == 200

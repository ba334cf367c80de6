"""Two-factor sign-in: RFC 6238 vectors, enrolment, the code step, replay, recovery codes.

The app here keeps the default: admins and district officers must enrol. Its sign-in clock is
injected (`app.state.auth_clock`), so codes are computed for known instants; nothing sleeps.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.app import create_app
from cityops.auth.models import AccountTotp, RecoveryCode
from cityops.auth.roles import Role
from cityops.auth.signin import totp
from cityops.config import Settings
from cityops.kit.db import utcnow
from tests.auth.conftest import Fresh, assert_problem, audit_entries, bearer, in_db, new_account
from tests.conftest import PASSWORD, Backend, Login

LOGIN, CODE, ME = "/api/v1/auth/login", "/api/v1/auth/login/code", "/api/v1/auth/me"
# Sessions opened under the injected clock are later checked against the real one (idle
# timeout), so the fixed instant is taken near now: 10 s into the current 30-second step.
T0 = datetime.fromtimestamp((int(utcnow().timestamp()) // 30) * 30 + 10, UTC)
REQUIRED = ["sys_admin", "security_admin", "audit_admin", "district_officer"]

# RFC 6238 Appendix B, the SHA-1 rows: the ASCII seed "12345678901234567890", 8 digits.
RFC6238_SHA1 = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


def test_rfc_6238_appendix_b_vectors_pass_our_verification() -> None:
    secret = base64.b32encode(b"12345678901234567890").decode()
    for seconds, code in RFC6238_SHA1:
        now = datetime.fromtimestamp(seconds, UTC)
        step = totp.matching_step(secret, code, now, last_step=0, digits=8)
        assert step == seconds // 30, seconds
        # The same code again within its step is a replay.
        assert totp.matching_step(secret, code, now, last_step=step, digits=8) is None
        wrong = f"{(int(code) + 1) % 10**8:08d}"
        assert totp.matching_step(secret, wrong, now, last_step=0, digits=8) is None
    now = datetime.fromtimestamp(1111111111, UTC)
    # One step of drift either way is accepted, two are not; non-digits never are.
    assert totp.matching_step(secret, "07081804", now, 0, digits=8) == 1111111109 // 30
    assert totp.matching_step(secret, "94287082", now, 0, digits=8) is None
    assert totp.matching_step(secret, "١٤٠٥٠٤٧١", now, 0, digits=8) is None


@pytest.fixture(scope="module")
def tfa(backend: Backend) -> Iterator[TestClient]:
    """An app on the shared database whose admins and duty officers must use two factors."""
    settings = backend.settings.model_copy(
        update={"totp_required_roles": REQUIRED, "scheduler": False}
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def clock(tfa: TestClient) -> Iterator[list[datetime]]:
    """The sign-in clock, at T0; the test moves it by assigning clock[0]."""
    now = [T0]
    tfa.app.state.auth_clock = lambda: now[0]  # type: ignore[attr-defined]
    yield now
    del tfa.app.state.auth_clock  # type: ignore[attr-defined]


def password_step(client: TestClient, username: str) -> Any:
    client.cookies.clear()
    return client.post(LOGIN, json={"username": username, "password": PASSWORD})


def code_step(client: TestClient, challenge: str, code: str) -> Any:
    reply = client.post(CODE, json={"challenge": challenge, "code": code})
    client.cookies.clear()
    return reply


def enrol(client: TestClient, who: Fresh, now: datetime) -> tuple[str, list[str], str]:
    """Log in with the password, enrol, confirm: (secret, recovery codes, session token)."""
    reply = password_step(client, who.username)
    assert reply.status_code == 200, reply.text
    token = reply.json()["access_token"]
    started = client.post("/api/v1/auth/totp/enrol", headers=bearer(token))
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    code = pyotp.TOTP(secret).at(now)
    confirmed = client.post("/api/v1/auth/totp/confirm", json={"code": code}, headers=bearer(token))
    assert confirmed.status_code == 200, confirmed.text
    return secret, confirmed.json()["recovery_codes"], token


def test_a_district_officer_must_enrol_before_anything_else(
    tfa: TestClient, backend: Backend, clock: list[datetime]
) -> None:
    duty = new_account(backend, Role.DISTRICT_OFFICER, "310117", prefix="duty")
    reply = password_step(tfa, duty.username)
    assert reply.status_code == 200  # no code yet: the password opens a session to enrol
    headers = bearer(reply.json()["access_token"])
    assert_problem(tfa.get("/api/v1/org/310117", headers=headers), 403, "totp-enrolment-required")
    status = tfa.get("/api/v1/auth/totp", headers=headers).json()
    assert status == {"enrolled": False, "required": True, "recovery_codes_left": 0}

    started = tfa.post("/api/v1/auth/totp/enrol", headers=headers).json()
    secret = started["secret"]
    assert len(secret) == 32 and started["qr_svg"].startswith("<svg")
    uri = started["otpauth_uri"]
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri
    assert duty.username in uri and "issuer=cityops" in uri
    wrong = tfa.post("/api/v1/auth/totp/confirm", json={"code": "000000"}, headers=headers)
    assert_problem(wrong, 422, "invalid-code")
    code = pyotp.TOTP(secret).at(T0)
    confirmed = tfa.post("/api/v1/auth/totp/confirm", json={"code": code}, headers=headers)
    assert confirmed.status_code == 200, confirmed.text
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == len(set(codes)) == 10
    assert tfa.get("/api/v1/org/310117", headers=headers).status_code == 200
    again = tfa.post("/api/v1/auth/totp/enrol", headers=headers)
    assert_problem(again, 409, "conflict")  # a second secret only after a reset

    async def stored(session: AsyncSession) -> tuple[str, list[str]]:
        record = await session.get(AccountTotp, duty.id)
        assert record is not None
        hashes = await session.scalars(
            select(RecoveryCode.code_hash).where(RecoveryCode.account_id == duty.id)
        )
        return record.secret, list(hashes)

    sealed, hashes = in_db(backend, stored)
    assert secret not in sealed and sealed.startswith("v1.")  # encrypted with the data key
    assert not set(codes) & set(hashes) and len(hashes) == 10  # stored hashed only


def test_each_admin_role_is_forced_to_enrol(tfa: TestClient, backend: Backend) -> None:
    for role, path in (
        (Role.SYS_ADMIN, "/api/v1/accounts"),
        (Role.SECURITY_ADMIN, "/api/v1/accounts"),
        (Role.AUDIT_ADMIN, "/api/v1/audit"),
    ):
        admin = new_account(backend, role, "310117", prefix="forced")
        token = password_step(tfa, admin.username).json()["access_token"]
        assert_problem(tfa.get(path, headers=bearer(token)), 403, "totp-enrolment-required")
        assert tfa.get(ME, headers=bearer(token)).status_code == 200  # may see who it is
        status = tfa.get("/api/v1/auth/totp", headers=bearer(token)).json()
        assert status["required"] is True and status["enrolled"] is False
    # A role that need not enrol is let through on the password alone.
    leader = new_account(backend, Role.LEADER, "310117", prefix="free")
    token = password_step(tfa, leader.username).json()["access_token"]
    assert tfa.get("/api/v1/org/310117", headers=bearer(token)).status_code == 200


def test_login_needs_the_code_and_a_code_is_accepted_once(
    tfa: TestClient, backend: Backend, clock: list[datetime]
) -> None:
    who = new_account(backend, Role.SECURITY_ADMIN, "310117", prefix="sec")
    secret, _, _ = enrol(tfa, who, T0)
    step1 = password_step(tfa, who.username)
    assert step1.status_code == 200
    body = step1.json()
    assert body["code_required"] is True and "access_token" not in body
    assert "set-cookie" not in step1.headers
    challenge = body["challenge"]
    # The challenge is no credential.
    assert_problem(tfa.get(ME, headers=bearer(challenge)), 401, "unauthenticated")
    # The code confirmed at enrolment is spent: the same code in the same step is a replay.
    replay = code_step(tfa, challenge, pyotp.TOTP(secret).at(T0))
    assert assert_problem(replay, 401, "invalid-credentials")["attempts_left"] == 4
    clock[0] = T0 + timedelta(seconds=30)
    good = code_step(tfa, challenge, pyotp.TOTP(secret).at(clock[0]))
    assert good.status_code == 200, good.text
    token = good.json()["access_token"]
    assert tfa.get("/api/v1/accounts", headers=bearer(token)).status_code == 200
    # A challenge opens one session only; a second login cannot reuse the code either.
    assert_problem(code_step(tfa, challenge, "123456"), 401, "challenge-expired")
    second = password_step(tfa, who.username).json()["challenge"]
    reused = code_step(tfa, second, pyotp.TOTP(secret).at(clock[0]))
    assert_problem(reused, 401, "invalid-credentials")
    # A challenge lasts five minutes.
    clock[0] = T0 + timedelta(minutes=6)
    late = code_step(tfa, second, pyotp.TOTP(secret).at(clock[0]))
    assert_problem(late, 401, "challenge-expired")


def test_wrong_codes_count_towards_the_address_lock(
    tfa: TestClient, backend: Backend, clock: list[datetime]
) -> None:
    who = new_account(backend, Role.AUDIT_ADMIN, "310117", prefix="aud")
    secret, _, _ = enrol(tfa, who, T0)
    clock[0] = T0 + timedelta(seconds=60)
    challenge = password_step(tfa, who.username).json()["challenge"]
    lefts = [code_step(tfa, challenge, "000000").json().get("attempts_left") for _ in range(5)]
    assert lefts == [4, 3, 2, 1, 0]
    locked = code_step(tfa, challenge, pyotp.TOTP(secret).at(clock[0]))
    assert_problem(locked, 401, "challenge-expired")  # the lock ended this sign-in
    assert_problem(password_step(tfa, who.username), 429, "login-locked")


def test_a_recovery_code_signs_in_once(
    tfa: TestClient, backend: Backend, clock: list[datetime], client: TestClient, login: Login
) -> None:
    who = new_account(backend, Role.SYS_ADMIN, "310117", prefix="adm")
    _, codes, _ = enrol(tfa, who, T0)
    challenge = password_step(tfa, who.username).json()["challenge"]
    used = code_step(tfa, challenge, codes[3].upper().replace("-", " "))  # as read off paper
    assert used.status_code == 200, used.text
    token = used.json()["access_token"]
    assert tfa.get("/api/v1/auth/totp", headers=bearer(token)).json()["recovery_codes_left"] == 9
    again = password_step(tfa, who.username).json()["challenge"]
    assert_problem(code_step(tfa, again, codes[3]), 401, "invalid-credentials")
    # The audit trail tells the steps apart, and never holds a code.
    entries = audit_entries(client, login, actor=who.username)
    steps = [(e["action"], e["result"], e["detail"]) for e in reversed(entries)]
    assert ("auth.login_password", "success", {"next": "code"}) in steps
    assert ("auth.login", "success", {"factor": "recovery"}) in steps
    assert ("auth.login", "failure", {"reason": "bad code"}) in steps
    assert not any(c in str(entries) for c in codes)


def test_optional_two_factors_for_a_town_operator_and_the_security_admin_reset(
    tfa: TestClient, backend: Backend, clock: list[datetime]
) -> None:
    who = new_account(backend, Role.TOWN_OPERATOR, "310117102", prefix="opt")
    plain = password_step(tfa, who.username)
    assert "access_token" in plain.json()  # not required: the password alone signs in
    headers = bearer(plain.json()["access_token"])
    assert tfa.get("/api/v1/org/310117102", headers=headers).status_code == 200
    secret, codes, token = enrol(tfa, who, T0)
    assert password_step(tfa, who.username).json()["code_required"] is True
    # Disabling needs a code; a spent one does not do.
    disable = "/api/v1/auth/totp/disable"
    stale = tfa.post(disable, json={"code": pyotp.TOTP(secret).at(T0)}, headers=bearer(token))
    assert_problem(stale, 422, "invalid-code")
    assert tfa.post(disable, json={"code": codes[0]}, headers=bearer(token)).status_code == 204
    assert "access_token" in password_step(tfa, who.username).json()

    # A duty officer who lost the phone: the security admin resets, the officer enrols again.
    duty = new_account(backend, Role.DISTRICT_OFFICER, "310117", prefix="lost")
    _, _, duty_token = enrol(tfa, duty, T0)
    assert_problem(
        tfa.post(disable, json={"code": "000000"}, headers=bearer(duty_token)), 403, "forbidden"
    )
    security = new_account(backend, Role.SECURITY_ADMIN, "310117", prefix="sa")
    _, _, security_token = enrol(tfa, security, T0)
    reset = tfa.delete(f"/api/v1/accounts/{duty.id}/totp", headers=bearer(security_token))
    assert reset.status_code == 204, reset.text
    assert_problem(tfa.get(ME, headers=bearer(duty_token)), 401, "unauthenticated")
    fresh_session = password_step(tfa, duty.username).json()["access_token"]
    assert_problem(
        tfa.get("/api/v1/org/310117", headers=bearer(fresh_session)),
        403,
        "totp-enrolment-required",
    )
    denied = tfa.delete(f"/api/v1/accounts/{duty.id}/totp", headers=bearer(token))
    assert_problem(denied, 403, "forbidden")


def test_settings_default_makes_admins_and_officers_enrol() -> None:
    settings = Settings(_env_file=None, totp_required_roles=REQUIRED)  # type: ignore[call-arg]
    assert set(
        Settings.model_fields["totp_required_roles"].get_default(call_default_factory=True)
    ) == set(REQUIRED)
    assert settings.totp_required_roles == REQUIRED

"""Login, sessions, logout, lockout, forced password change and the login audit trail."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth.models import Account, AuthToken, LoginThrottle
from cityops.auth.service import token_digest
from cityops.kit.db import utcnow
from tests.auth.conftest import (
    assert_problem,
    audit_entries,
    bearer,
    in_db,
    log_in,
    new_account,
    unique,
)
from tests.conftest import PASSWORD, Backend, Login

LOGIN = "/api/v1/auth/login"
ME = "/api/v1/auth/me"


def test_login_returns_a_bearer_token_and_an_http_only_session_cookie(
    client: TestClient, backend: Backend
) -> None:
    fresh = new_account(backend)
    reply = client.post(LOGIN, json={"username": fresh.username, "password": PASSWORD})
    client.cookies.clear()
    assert reply.status_code == 200, reply.text
    body = reply.json()
    token = body["access_token"]
    assert token.startswith("cos_") and len(token) > 40
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == backend.settings.session_ttl_minutes * 60 == 480 * 60
    assert body["must_change_password"] is False
    assert body["account"]["username"] == fresh.username
    assert body["account"]["org_code"] == "310117102"
    assert "password_hash" not in body["account"]
    cookie = reply.headers["set-cookie"]
    assert cookie.startswith(f"cityops_session={token};")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path", "max-age"} <= attributes
    assert "secure" not in attributes  # cookie_secure is off by default
    assert "samesite=lax" in cookie.lower()


def test_bearer_token_and_cookie_both_authenticate_me(client: TestClient, backend: Backend) -> None:
    fresh = new_account(backend)
    token = log_in(client, fresh.username)
    by_header = client.get(ME, headers=bearer(token))
    by_cookie = client.get(ME, headers={"Cookie": f"cityops_session={token}"})
    for reply in (by_header, by_cookie):
        assert reply.status_code == 200, reply.text
        me = reply.json()
        assert me["account"]["id"] == fresh.id
        assert me["token_kind"] == "session"
        assert me["scope"] == ["310117102"]
        assert "org.read" in me["permissions"]
        assert not [p for p in me["permissions"] if p.startswith(("account.", "audit."))]
    anonymous = client.get(ME)
    assert_problem(anonymous, 401, "unauthenticated")
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert_problem(client.get(ME, headers=bearer("cos_not-a-real-token")), 401, "unauthenticated")
    assert_problem(client.get(ME, headers=bearer("x" * 500)), 401, "unauthenticated")


def test_logout_revokes_the_token(client: TestClient, backend: Backend, login: Login) -> None:
    fresh = new_account(backend)
    token = log_in(client, fresh.username)
    other = log_in(client, fresh.username)
    reply = client.post("/api/v1/auth/logout", headers=bearer(token))
    assert reply.status_code == 204
    assert 'cityops_session=""' in reply.headers["set-cookie"]
    assert "max-age=0" in reply.headers["set-cookie"].lower()
    assert_problem(client.get(ME, headers=bearer(token)), 401, "unauthenticated")
    assert_problem(
        client.get(ME, headers={"Cookie": f"cityops_session={token}"}), 401, "unauthenticated"
    )
    assert_problem(client.post("/api/v1/auth/logout", headers=bearer(token)), 401)
    # Logging out ends that session only.
    assert client.get(ME, headers=bearer(other)).status_code == 200
    [entry] = audit_entries(client, login, actor=fresh.username, action="auth.logout")
    assert entry["result"] == "success"


def test_wrong_password_and_unknown_user_get_the_same_answer(
    client: TestClient, backend: Backend
) -> None:
    fresh = new_account(backend)
    wrong = client.post(LOGIN, json={"username": fresh.username, "password": "Wrong-Passw0rd!"})
    unknown = client.post(LOGIN, json={"username": unique("ghost"), "password": PASSWORD})
    body = assert_problem(wrong, 401, "invalid-credentials")
    assert assert_problem(unknown, 401, "invalid-credentials") == body
    assert "set-cookie" not in wrong.headers
    assert "access_token" not in body


def test_lockout_after_max_failures_refuses_even_the_right_password(
    client: TestClient, backend: Backend, login: Login
) -> None:
    limit = backend.settings.login_max_failures
    assert limit == 5
    fresh = new_account(backend)
    left = []
    for _ in range(limit):
        wrong = client.post(LOGIN, json={"username": fresh.username, "password": "Nope-Passw0rd!"})
        body = assert_problem(wrong, 401, "invalid-credentials")
        left.append(body["attempts_left"])
        assert body["lockout_minutes"] == 15
    assert left == [4, 3, 2, 1, 0]
    right = client.post(LOGIN, json={"username": fresh.username, "password": PASSWORD})
    locked = assert_problem(right, 429, "login-locked")
    assert 0 < locked["retry_after"] <= 15 * 60
    assert right.headers["retry-after"] == str(locked["retry_after"])
    assert "set-cookie" not in right.headers
    entries = audit_entries(client, login, actor=fresh.username, action="auth.login")
    reasons = [e["detail"]["reason"] for e in reversed(entries)]
    assert reasons == ["bad password"] * (limit - 1) + ["bad password; address locked", "locked"]
    assert {e["result"] for e in entries} == {"failure"}

    # Once the lock has run out, the right password works again and the count starts afresh.
    async def expire(session: AsyncSession) -> None:
        await session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.username == fresh.username.lower())
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )

    in_db(backend, expire)
    assert client.get(ME, headers=bearer(log_in(client, fresh.username))).status_code == 200
    again = client.post(LOGIN, json={"username": fresh.username, "password": "Nope-Passw0rd!"})
    assert assert_problem(again, 401, "invalid-credentials")["attempts_left"] == limit - 1


def test_every_login_success_and_failure_is_audited(
    client: TestClient, backend: Backend, login: Login
) -> None:
    fresh = new_account(backend)
    ghost = unique("ghost")
    log_in(client, fresh.username)
    client.post(LOGIN, json={"username": fresh.username, "password": "Wrong-Passw0rd!"})
    client.post(LOGIN, json={"username": ghost, "password": PASSWORD})
    failure, success = audit_entries(client, login, action="auth.login", actor=fresh.username)
    assert success["result"] == "success" and failure["result"] == "failure"
    assert failure["detail"] == {"reason": "bad password"}
    for entry in (success, failure):
        assert entry["action"] == "auth.login"
        assert entry["actor_org"] == "310117102"
        assert entry["client_ip"] == "testclient"
    assert failure["id"] > success["id"]
    [unknown] = audit_entries(client, login, action="auth.login", actor=ghost)
    assert unknown["result"] == "failure"
    assert unknown["detail"] == {"reason": "unknown user"}
    assert unknown["actor_org"] == "310117"
    assert PASSWORD not in str([success, failure, unknown])


def test_disabled_account_cannot_log_in(client: TestClient, backend: Backend, login: Login) -> None:
    fresh = new_account(backend)

    async def disable(session: AsyncSession) -> None:
        await session.execute(update(Account).where(Account.id == fresh.id).values(active=False))

    in_db(backend, disable)
    reply = client.post(LOGIN, json={"username": fresh.username, "password": PASSWORD})
    assert_problem(reply, 401, "invalid-credentials")
    [entry] = audit_entries(client, login, action="auth.login", actor=fresh.username)
    assert entry["detail"] == {"reason": "inactive"}


def test_idle_and_expired_sessions_end(client: TestClient, backend: Backend) -> None:
    fresh = new_account(backend)
    idle, expired, live = (log_in(client, fresh.username) for _ in range(3))
    idle_for = timedelta(minutes=backend.settings.session_idle_minutes + 1)

    async def age(session: AsyncSession) -> None:
        await session.execute(
            update(AuthToken)
            .where(AuthToken.token_hash == token_digest(idle))
            .values(last_seen_at=utcnow() - idle_for)
        )
        await session.execute(
            update(AuthToken)
            .where(AuthToken.token_hash == token_digest(expired))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )

    in_db(backend, age)
    assert_problem(client.get(ME, headers=bearer(idle)), 401, "unauthenticated")
    assert_problem(client.get(ME, headers=bearer(expired)), 401, "unauthenticated")
    assert client.get(ME, headers=bearer(live)).status_code == 200


def test_must_change_password_blocks_everything_but_the_password_change(
    client: TestClient, login: Login
) -> None:
    username = unique("newbie")
    created = client.post(
        "/api/v1/accounts",
        json={"username": username, "role": "town_operator", "org_code": "310117102"},
        headers=login.headers("t_security"),
    )
    assert created.status_code == 201, created.text
    one_time = created.json()["one_time_password"]
    reply = client.post(LOGIN, json={"username": username, "password": one_time})
    client.cookies.clear()
    assert reply.status_code == 200
    assert reply.json()["must_change_password"] is True
    token = reply.json()["access_token"]
    other_session = log_in(client, username, one_time)
    headers = bearer(token)

    for path in ("/api/v1/org/310117102", "/api/v1/org/310117102/children", "/api/v1/org/releases"):
        assert_problem(client.get(path, headers=headers), 403, "password-change-required")
    me = client.get(ME, headers=headers)
    assert me.status_code == 200
    assert me.json()["account"]["must_change_password"] is True

    change = "/api/v1/auth/password"
    new_password = "Brand-New-Pass1"
    wrong_old = {"old_password": "Wrong-Passw0rd!", "new_password": new_password}
    assert_problem(client.post(change, json=wrong_old, headers=headers), 403, "invalid-credentials")
    same = {"old_password": one_time, "new_password": one_time}
    refused = assert_problem(client.post(change, json=same, headers=headers), 422, "validation")
    assert refused["errors"] == [
        {"loc": ["body", "new_password"], "msg": "same as old", "type": "password_policy"}
    ]
    good = {"old_password": one_time, "new_password": new_password}
    assert client.post(change, json=good, headers=headers).status_code == 204
    assert client.get("/api/v1/org/310117102", headers=headers).status_code == 200
    assert client.get(ME, headers=headers).json()["account"]["must_change_password"] is False
    # The other session of the account ended with the change; the old password is gone.
    assert_problem(client.get(ME, headers=bearer(other_session)), 401, "unauthenticated")
    old = client.post(LOGIN, json={"username": username, "password": one_time})
    assert_problem(old, 401, "invalid-credentials")
    assert client.get(ME, headers=bearer(log_in(client, username, new_password))).status_code == 200


def test_password_policy_violations_are_422_with_errors(
    client: TestClient, backend: Backend
) -> None:
    fresh = new_account(backend, prefix="policy")
    headers = bearer(log_in(client, fresh.username))
    cases = {
        "Sh0rt!": {"at least 10 characters"},
        "alllowercaseletters": {"at least three of: lower case, upper case, digits, symbols"},
        "1234567890": {"at least three of: lower case, upper case, digits, symbols"},
        f"X1-{fresh.username.upper()}": {"must not contain the username"},
        "abc": {
            "at least 10 characters",
            "at least three of: lower case, upper case, digits, symbols",
        },
    }
    for new_password, expected in cases.items():
        reply = client.post(
            "/api/v1/auth/password",
            json={"old_password": PASSWORD, "new_password": new_password},
            headers=headers,
        )
        body = assert_problem(reply, 422, "validation")
        assert {e["msg"] for e in body["errors"]} == expected, new_password
        assert {e["type"] for e in body["errors"]} == {"password_policy"}
        assert {tuple(e["loc"]) for e in body["errors"]} == {("body", "new_password")}
    # Nothing changed: the old password still logs in.
    log_in(client, fresh.username)

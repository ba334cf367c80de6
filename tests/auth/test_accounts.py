"""Account administration: separation of the three admin duties (三权分立), scope, API keys, audit."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from cityops.auth.roles import Role
from tests.auth.conftest import (
    assert_problem,
    audit_entries,
    bearer,
    log_in,
    new_account,
    unique,
)
from tests.conftest import PASSWORD, Backend, Login

ACCOUNTS = "/api/v1/accounts"
LOGIN = "/api/v1/auth/login"
ME = "/api/v1/auth/me"
PRIVILEGED = ["sys_admin", "security_admin", "audit_admin"]


def _create(
    client: TestClient, login: Login, actor: str, role: str, org: str, **extra: Any
) -> tuple[str, Any]:
    username = unique(role.split("_")[0])
    reply = client.post(
        ACCOUNTS,
        json={"username": username, "role": role, "org_code": org, **extra},
        headers=login.headers(actor),
    )
    return username, reply


def _count(client: TestClient, login: Login, username: str) -> int:
    reply = client.get(ACCOUNTS, params={"q": username}, headers=login.headers("t_security"))
    assert reply.status_code == 200
    return int(reply.json()["total"])


@pytest.mark.parametrize(
    ("role", "org"),
    [
        ("district_officer", "310117"),
        ("town_operator", "310117103"),
        ("grid_worker", "310117102001"),
        ("dept_handler", "310117"),
        ("leader", "310117"),
    ],
)
def test_sys_admin_opens_operational_accounts_in_scope(
    client: TestClient, login: Login, role: str, org: str
) -> None:
    username, reply = _create(client, login, "t_admin", role, org, display_name="测试 账号")
    assert reply.status_code == 201, reply.text
    body = reply.json()
    account = body["account"]
    assert (account["username"], account["role"], account["org_code"]) == (username, role, org)
    assert account["display_name"] == "测试 账号"
    assert account["active"] is True and account["must_change_password"] is True
    one_time = body["one_time_password"]
    assert isinstance(one_time, str) and len(one_time) >= 20
    [entry] = [
        e
        for e in audit_entries(client, login, action="account.create", actor="t_admin")
        if e["target"] == username
    ]
    assert entry["result"] == "success"
    assert entry["detail"] == {"role": role, "org_code": org}


@pytest.mark.parametrize("role", PRIVILEGED)
def test_sys_admin_cannot_open_privileged_accounts(
    client: TestClient, login: Login, role: str
) -> None:
    username, reply = _create(client, login, "t_admin", role, "310117", password="Str0ng-Passw0rd!")
    assert_problem(reply, 403, "forbidden")
    assert _count(client, login, username) == 0


@pytest.mark.parametrize("role", PRIVILEGED)
def test_security_admin_opens_privileged_accounts(
    client: TestClient, login: Login, role: str
) -> None:
    username, reply = _create(client, login, "t_security", role, "310117")
    assert reply.status_code == 201, reply.text
    assert reply.json()["account"]["role"] == role
    assert _count(client, login, username) == 1


def test_auditor_cannot_open_or_list_accounts(client: TestClient, login: Login) -> None:
    headers = login.headers("t_auditor")
    username, reply = _create(client, login, "t_auditor", "town_operator", "310117102")
    assert_problem(reply, 403, "forbidden")
    assert_problem(client.get(ACCOUNTS, headers=headers), 403, "forbidden")
    own = client.get(ME, headers=headers).json()["account"]["id"]
    assert_problem(client.get(f"{ACCOUNTS}/{own}", headers=headers), 403, "forbidden")
    assert _count(client, login, username) == 0


def test_town_sys_admin_works_only_inside_its_town(client: TestClient, login: Login) -> None:
    username, outside = _create(client, login, "t_sijing_admin", "town_operator", "310117103")
    body = assert_problem(outside, 403, "out-of-scope")
    assert body["code"] == "310117103"
    assert _count(client, login, username) == 0
    _, inside = _create(client, login, "t_sijing_admin", "grid_worker", "310117102001")
    assert inside.status_code == 201, inside.text

    reply = client.get(ACCOUNTS, params={"limit": 500}, headers=login.headers("t_sijing_admin"))
    assert reply.status_code == 200
    page = reply.json()
    names = {item["username"] for item in page["items"]}
    assert all(item["org_code"].startswith("310117102") for item in page["items"])
    assert {"t_sijing", "t_grid", "t_sijing_admin"} <= names
    assert not names & {"t_sheshan", "t_admin", "t_security", "t_duty"}
    assert page["total"] == len(page["items"])


def test_nobody_changes_their_own_role_or_scope(client: TestClient, backend: Backend) -> None:
    for role, new_role in [
        (Role.SECURITY_ADMIN, "audit_admin"),
        (Role.SECURITY_ADMIN, "district_officer"),
        (Role.SYS_ADMIN, "town_operator"),
    ]:
        fresh = new_account(backend, role, "310117", prefix="self")
        headers = bearer(log_in(client, fresh.username))
        path = f"{ACCOUNTS}/{fresh.id}"
        assert_problem(
            client.patch(path, json={"role": new_role}, headers=headers), 403, "forbidden"
        )
        if role is Role.SECURITY_ADMIN:
            grant = client.patch(path, json={"extra_scope": ["310117103"]}, headers=headers)
            assert_problem(grant, 403, "forbidden")
            # A harmless change of one's own display name is allowed.
            renamed = client.patch(path, json={"display_name": "改名"}, headers=headers)
            assert renamed.status_code == 200
            assert renamed.json()["display_name"] == "改名"
        me = client.get(ME, headers=headers).json()
        assert me["account"]["role"] == role.value
        assert me["account"]["extra_scope"] == []


def test_security_admin_changes_roles_and_grants_extra_scope(
    client: TestClient, backend: Backend, login: Login
) -> None:
    fresh = new_account(backend, Role.TOWN_OPERATOR, "310117102", prefix="grant")
    path = f"{ACCOUNTS}/{fresh.id}"
    assert_problem(
        client.patch(path, json={"extra_scope": ["310117103"]}, headers=login.headers("t_admin")),
        403,
        "forbidden",
    )
    assert_problem(
        client.patch(path, json={"role": "audit_admin"}, headers=login.headers("t_admin")),
        403,
        "forbidden",
    )
    granted = client.patch(
        path,
        json={"extra_scope": ["310117103", "310117103"]},
        headers=login.headers("t_security"),
    )
    assert granted.status_code == 200, granted.text
    assert granted.json()["extra_scope"] == ["310117103"]
    token = log_in(client, fresh.username)
    assert client.get(ME, headers=bearer(token)).json()["scope"] == ["310117102", "310117103"]
    assert client.get("/api/v1/org/310117103/children", headers=bearer(token)).status_code == 200
    [entry] = [
        e
        for e in audit_entries(client, login, action="account.update", actor="t_security")
        if e["target"] == fresh.username
    ]
    assert entry["detail"] == {"extra_scope": ["310117103", "310117103"]}


def test_account_opened_without_password_must_change_its_one_time_password(
    client: TestClient, login: Login
) -> None:
    username, reply = _create(client, login, "t_admin", "town_operator", "310117102")
    one_time = reply.json()["one_time_password"]
    logged = client.post(LOGIN, json={"username": username, "password": one_time})
    client.cookies.clear()
    assert logged.status_code == 200
    assert logged.json()["must_change_password"] is True
    token = logged.json()["access_token"]
    assert_problem(
        client.get("/api/v1/org/310117102", headers=bearer(token)),
        403,
        "password-change-required",
    )

    # An admin-chosen password is known to the admin: it must be changed too.
    chosen, with_password = _create(
        client, login, "t_admin", "town_operator", "310117102", password="Chosen-Passw0rd!"
    )
    assert with_password.json()["one_time_password"] is None
    assert with_password.json()["account"]["must_change_password"] is True
    assert (
        client.post(LOGIN, json={"username": chosen, "password": "Chosen-Passw0rd!"}).json()[
            "must_change_password"
        ]
        is True
    )
    client.cookies.clear()

    weak_name, weak = _create(
        client, login, "t_admin", "town_operator", "310117102", password="weak"
    )
    assert_problem(weak, 422, "validation")
    assert _count(client, login, weak_name) == 0


def test_reset_password_unlocks_ends_sessions_and_forces_a_change(
    client: TestClient, backend: Backend, login: Login
) -> None:
    fresh = new_account(backend, prefix="reset")
    token = log_in(client, fresh.username)
    for _ in range(backend.settings.login_max_failures):
        client.post(LOGIN, json={"username": fresh.username, "password": "Wrong-Passw0rd!"})
    locked = client.post(LOGIN, json={"username": fresh.username, "password": PASSWORD})
    assert_problem(locked, 429, "login-locked")

    reply = client.post(f"{ACCOUNTS}/{fresh.id}/reset-password", headers=login.headers("t_admin"))
    assert reply.status_code == 200, reply.text
    one_time = reply.json()["one_time_password"]
    assert one_time != PASSWORD
    assert_problem(client.get(ME, headers=bearer(token)), 401, "unauthenticated")
    old = client.post(LOGIN, json={"username": fresh.username, "password": PASSWORD})
    assert_problem(old, 401, "invalid-credentials")
    logged = client.post(LOGIN, json={"username": fresh.username, "password": one_time})
    client.cookies.clear()
    assert logged.status_code == 200
    assert logged.json()["must_change_password"] is True
    [entry] = [
        e
        for e in audit_entries(client, login, action="account.reset_password", actor="t_admin")
        if e["target"] == fresh.username
    ]
    assert entry["result"] == "success"


def test_reset_password_of_privileged_and_system_accounts(
    client: TestClient, backend: Backend, login: Login
) -> None:
    security = new_account(backend, Role.SECURITY_ADMIN, "310117", prefix="sec")
    by_admin = client.post(
        f"{ACCOUNTS}/{security.id}/reset-password", headers=login.headers("t_admin")
    )
    assert_problem(by_admin, 403, "forbidden")
    log_in(client, security.username)  # the password is unchanged
    by_security = client.post(
        f"{ACCOUNTS}/{security.id}/reset-password", headers=login.headers("t_security")
    )
    assert by_security.status_code == 200
    system = new_account(backend, Role.SYSTEM_CLIENT, "310117", prefix="sys", password=None)
    reply = client.post(
        f"{ACCOUNTS}/{system.id}/reset-password", headers=login.headers("t_security")
    )
    assert_problem(reply, 409, "conflict")


def test_disabling_an_account_revokes_its_tokens(
    client: TestClient, backend: Backend, login: Login
) -> None:
    fresh = new_account(backend, prefix="off")
    tokens = [log_in(client, fresh.username) for _ in range(2)]
    path = f"{ACCOUNTS}/{fresh.id}"
    reply = client.patch(path, json={"active": False}, headers=login.headers("t_admin"))
    assert reply.status_code == 200, reply.text
    assert reply.json()["active"] is False
    for token in tokens:
        assert_problem(client.get(ME, headers=bearer(token)), 401, "unauthenticated")
    again = client.post(LOGIN, json={"username": fresh.username, "password": PASSWORD})
    assert_problem(again, 401, "invalid-credentials")
    # Enabling it again does not bring the old sessions back.
    assert client.patch(path, json={"active": True}, headers=login.headers("t_admin")).json()[
        "active"
    ]
    for token in tokens:
        assert_problem(client.get(ME, headers=bearer(token)), 401, "unauthenticated")
    assert client.get(ME, headers=bearer(log_in(client, fresh.username))).status_code == 200
    changes = [
        e["detail"]
        for e in audit_entries(client, login, action="account.update", actor="t_admin")
        if e["target"] == fresh.username
    ]
    assert changes == [{"active": True}, {"active": False}]


def test_api_key_for_a_system_client_works_until_revoked(client: TestClient, login: Login) -> None:
    system, created = _create(client, login, "t_security", "system_client", "310117")
    assert created.status_code == 201, created.text
    assert created.json()["one_time_password"] is None
    system_id = created.json()["account"]["id"]
    keys = f"{ACCOUNTS}/{system_id}/api-keys"

    assert_problem(client.post(keys, json={"name": "x"}, headers=login.headers("t_admin")), 403)
    reply = client.post(keys, json={"name": "网格化管理系统"}, headers=login.headers("t_security"))
    assert reply.status_code == 201, reply.text
    secret = reply.json()["secret"]
    key = reply.json()["key"]
    assert secret.startswith("cok_") and len(secret) > 40
    assert key["name"] == "网格化管理系统" and key["revoked_at"] is None

    unit = client.get("/api/v1/org/310117", headers=bearer(secret))
    assert unit.status_code == 200, unit.text
    assert unit.json()["name"] == "松江区"
    me = client.get(ME, headers=bearer(secret)).json()
    assert me["token_kind"] == "api_key"
    assert me["account"]["username"] == system
    # A system has no password: the password endpoint and the password login refuse it.
    change = {"old_password": "x", "new_password": "Whatever-Passw0rd!"}
    assert_problem(
        client.post("/api/v1/auth/password", json=change, headers=bearer(secret)), 403, "forbidden"
    )
    assert_problem(
        client.post(LOGIN, json={"username": system, "password": secret}),
        401,
        "invalid-credentials",
    )

    listed = client.get(keys, headers=login.headers("t_security"))
    assert listed.status_code == 200
    assert [k["id"] for k in listed.json()] == [key["id"]]
    assert "secret" not in listed.json()[0]

    revoke = client.delete(f"{keys}/{key['id']}", headers=login.headers("t_security"))
    assert revoke.status_code == 204
    assert_problem(client.get("/api/v1/org/310117", headers=bearer(secret)), 401, "unauthenticated")
    assert client.get(keys, headers=login.headers("t_security")).json()[0]["revoked_at"]
    assert_problem(
        client.delete(f"{keys}/{key['id'] + 100000}", headers=login.headers("t_security")),
        404,
        "not-found",
    )

    entries = [e for e in audit_entries(client, login, action="apikey.") if e["target"] == system]
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("apikey.revoke", "t_security"),
        ("apikey.create", "t_security"),
    ]
    assert entries[0]["detail"] == {"key_id": key["id"]}
    assert entries[1]["detail"] == {"name": "网格化管理系统", "allowed_networks": []}


def test_only_system_clients_get_api_keys(
    client: TestClient, backend: Backend, login: Login
) -> None:
    fresh = new_account(backend, prefix="person")
    reply = client.post(
        f"{ACCOUNTS}/{fresh.id}/api-keys", json={"name": "k"}, headers=login.headers("t_security")
    )
    assert_problem(reply, 409, "conflict")
    listed = client.get(f"{ACCOUNTS}/{fresh.id}/api-keys", headers=login.headers("t_security"))
    assert listed.json() == []

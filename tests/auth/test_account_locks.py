"""Account views tell the truth about sign-in locks: the throttle's, per name and address.

`account.failed_logins`/`locked_until` were no longer written once the throttle replaced them,
yet account views showed them (never locked); auth0002 drops them and views show the throttle.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from cityops.auth.models import Account
from tests.auth.conftest import PASSWORD, new_account
from tests.conftest import Backend, Login

LOGIN = "/api/v1/auth/login"


def test_a_locked_name_shows_its_locked_address_until_the_reset(
    client: TestClient, backend: Backend, login: Login
) -> None:
    fresh = new_account(backend)
    url = f"/api/v1/accounts/{fresh.id}"
    security = login.headers("t_security")
    assert client.get(url, headers=security).json()["sign_in_locks"] == []
    for _ in range(backend.settings.login_max_failures):
        client.post(LOGIN, json={"username": fresh.username, "password": "Nope-Passw0rd!"})
    assert (
        client.post(LOGIN, json={"username": fresh.username, "password": PASSWORD}).status_code
        == 429
    )
    [lock] = client.get(url, headers=security).json()["sign_in_locks"]
    assert lock["client_ip"] == "testclient" and lock["locked_until"]
    listed = client.get(
        "/api/v1/accounts", params={"q": fresh.username}, headers=login.headers("t_admin")
    ).json()["items"]
    assert [a["sign_in_locks"] for a in listed] == [[lock]]
    reset = client.post(f"{url}/reset-password", headers=login.headers("t_admin"))
    assert reset.status_code == 200, reset.text
    assert client.get(url, headers=security).json()["sign_in_locks"] == []


def test_the_stale_lock_columns_are_gone() -> None:
    columns = set(Account.__table__.columns.keys())
    assert not {"failed_logins", "locked_until"} & columns

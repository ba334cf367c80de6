"""API keys of system clients with IP allow-lists: enforced on every request, 403 problem+json."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient

from cityops.auth.roles import Role
from tests.auth.conftest import assert_problem, audit_entries, bearer, new_account
from tests.conftest import Backend, Login

ACCOUNTS = "/api/v1/accounts"
UNIT = "/api/v1/org/310117"


@contextmanager
def calling_from(client: TestClient, address: str) -> Iterator[TestClient]:
    """A client of the same running app (same event loop) whose requests come from `address`."""
    other = TestClient(client.app, raise_server_exceptions=False, client=(address, 40000))
    other.portal = client.portal  # share the lifespan's loop: its engine lives there
    yield other


def test_a_key_works_only_from_its_networks(
    client: TestClient, backend: Backend, login: Login
) -> None:
    system = new_account(backend, Role.SYSTEM_CLIENT, "310117", prefix="town_sys", password=None)
    keys = f"{ACCOUNTS}/{system.id}/api-keys"
    security = login.headers("t_security")
    body = {"name": "泗泾街镇系统", "allowed_networks": ["10.20.0.0/16", "2001:db8::1"]}
    created = client.post(keys, json=body, headers=security)
    assert created.status_code == 201, created.text
    secret, key = created.json()["secret"], created.json()["key"]
    assert key["allowed_networks"] == ["10.20.0.0/16", "2001:db8::1/128"]

    with calling_from(client, "10.20.3.4") as inside:
        assert inside.get(UNIT, headers=bearer(secret)).status_code == 200
    with calling_from(client, "::ffff:10.20.9.9") as mapped:
        assert mapped.get(UNIT, headers=bearer(secret)).status_code == 200
    with calling_from(client, "2001:db8::1") as v6:
        assert v6.get(UNIT, headers=bearer(secret)).status_code == 200
    for outside in ("10.21.0.1", "2001:db8::2"):
        with calling_from(client, outside) as stranger:
            refused = stranger.get(UNIT, headers=bearer(secret))
            body_ = assert_problem(refused, 403, "address-not-allowed")
            assert secret not in refused.text and "detail" in body_
    # The test client's own host is no address at all: refused as well.
    assert_problem(client.get(UNIT, headers=bearer(secret)), 403, "address-not-allowed")

    # The security admin widens the list to anywhere; the change holds at once.
    networks = f"{keys}/{key['id']}/networks"
    put = client.put(networks, json={"allowed_networks": []}, headers=security)
    assert put.status_code == 200 and put.json()["allowed_networks"] == []
    assert client.get(UNIT, headers=bearer(secret)).status_code == 200
    assert_problem(
        client.put(networks, json={"allowed_networks": []}, headers=login.headers("t_admin")), 403
    )
    [entry] = [
        e
        for e in audit_entries(client, login, action="apikey.networks")
        if e["target"] == system.username
    ]
    assert entry["detail"] == {"key_id": key["id"], "allowed_networks": []}


def test_bad_networks_are_422(client: TestClient, backend: Backend, login: Login) -> None:
    system = new_account(backend, Role.SYSTEM_CLIENT, "310117", prefix="bad_net", password=None)
    keys = f"{ACCOUNTS}/{system.id}/api-keys"
    for bad in (["10.0.0.0/33"], ["not-an-ip"], [""], ["10.0.0.1"] * 33, "10.0.0.0/8", [1]):
        reply = client.post(
            keys, json={"name": "k", "allowed_networks": bad}, headers=login.headers("t_security")
        )
        assert_problem(reply, 422, "validation")


def test_keys_without_an_allow_list_are_flagged_and_listed(
    client: TestClient, backend: Backend, login: Login
) -> None:
    system = new_account(backend, Role.SYSTEM_CLIENT, "310117", prefix="open_key", password=None)
    security = login.headers("t_security")
    keys = f"{ACCOUNTS}/{system.id}/api-keys"
    created = client.post(keys, json={"name": "旧密钥"}, headers=security).json()["key"]
    assert created["unrestricted"] is True
    listed = client.get(f"{ACCOUNTS}/api-keys", params={"unrestricted": "true"}, headers=security)
    assert listed.status_code == 200, listed.text
    mine = [k for k in listed.json() if k["account_id"] == system.id]
    assert [(k["id"], k["username"], k["unrestricted"]) for k in mine] == [
        (created["id"], system.username, True)
    ]
    networks = f"{keys}/{created['id']}/networks"
    put = client.put(networks, json={"allowed_networks": ["10.0.0.0/8"]}, headers=security)
    assert put.status_code == 200 and put.json()["unrestricted"] is False
    again = client.get(f"{ACCOUNTS}/api-keys", params={"unrestricted": "true"}, headers=security)
    assert system.id not in {k["account_id"] for k in again.json()}
    everything = client.get(f"{ACCOUNTS}/api-keys", headers=security).json()
    assert any(k["id"] == created["id"] for k in everything)
    for who in ("t_admin", "t_auditor", "t_duty"):
        refused = client.get(f"{ACCOUNTS}/api-keys", headers=login.headers(who))
        assert refused.status_code == 403, (who, refused.text)

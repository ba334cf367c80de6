"""Probe finding 4: a write authenticated by the session cookie must come from this origin."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from cityops.auth.deps import SESSION_COOKIE
from tests.auth.conftest import assert_problem, log_in, new_account
from tests.conftest import Backend

#: What a browser sends with a form posted from another port of the same site.
OTHER_PORT = {"Sec-Fetch-Site": "same-site", "Origin": "http://testserver:8081"}
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"}
CASE = {
    "source": "grid",
    "category": "component:0101",
    "text": "跨站表单",
    "org_code": "310117102001",
}


@pytest.fixture
def victim(client: TestClient, backend: Backend) -> Iterator[str]:
    """A town operator logged in through the browser: the client holds its session cookie."""
    person = new_account(backend, prefix="victim")
    token = log_in(client, person.username)
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, token)
    yield token
    client.cookies.clear()


def _post(client: TestClient, path: str, headers: dict[str, str], **kw: Any) -> httpx.Response:
    return client.post(path, headers=headers, **kw)


def test_cross_site_writes_with_the_cookie_are_refused(client: TestClient, victim: str) -> None:
    refused = _post(client, "/api/v1/cases", OTHER_PORT, json=CASE)
    problem = assert_problem(refused, 403, "cross-site-request")
    assert "another origin" in problem["detail"]
    # Only Origin (an older browser): another port is another origin.
    only_origin = _post(client, "/api/v1/cases", {"Origin": "http://testserver:8081"}, json=CASE)
    assert_problem(only_origin, 403, "cross-site-request")
    assert_problem(_post(client, "/api/v1/cases", {"Origin": "null"}, json=CASE), 403)
    # The plain form that logged the victim out: refused, the session lives on.
    assert_problem(_post(client, "/api/v1/auth/logout", OTHER_PORT), 403, "cross-site-request")
    assert client.get("/api/v1/auth/me").status_code == 200


def test_same_origin_and_bearer_writes_pass(client: TestClient, victim: str) -> None:
    mine = _post(client, "/api/v1/cases", SAME_ORIGIN, json=CASE)
    assert mine.status_code == 201, mine.text
    by_origin = _post(client, "/api/v1/cases", {"Origin": "http://testserver"}, json=CASE)
    assert by_origin.status_code == 201, by_origin.text
    # A bearer token is no ambient credential: a script that holds it may send it from anywhere.
    bearer = {**OTHER_PORT, "Authorization": f"Bearer {victim}"}
    assert _post(client, "/api/v1/cases", bearer, json=CASE).status_code == 201
    # Reads are not checked: a GET changes nothing.
    assert client.get("/api/v1/auth/me", headers=OTHER_PORT).status_code == 200
    assert _post(client, "/api/v1/auth/logout", SAME_ORIGIN).status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 401

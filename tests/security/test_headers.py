"""Probe finding 7 and item 13: security headers on every answer, a strict CSP, Secure cookies."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from cityops.app import create_app
from cityops.auth.deps import SESSION_COOKIE
from cityops.kit.security import STATIC_CSP, STRICT_CSP
from tests.auth.conftest import new_account
from tests.conftest import PASSWORD, Backend

#: Answers of every kind: JSON, problem+json (401, 404, 422), plain text, the spec, a page.
PLAIN = ["/healthz", "/openapi.json", "/api/v1/cases", "/api/v1/nothing", "/problems/validation"]


def _directives(csp: str) -> dict[str, str]:
    return {part.split()[0]: part.strip() for part in csp.split(";") if part.strip()}


@pytest.mark.parametrize("path", PLAIN)
def test_every_answer_has_the_headers(client: TestClient, path: str) -> None:
    reply = client.get(path)
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["referrer-policy"] == "same-origin"
    assert reply.headers["x-frame-options"] == "DENY"
    assert reply.headers["content-security-policy"] == STRICT_CSP
    assert "strict-transport-security" not in reply.headers  # plain HTTP: no HSTS promise


def test_a_refused_body_has_them_too(client: TestClient) -> None:
    reply = client.post("/api/v1/auth/login", content=b"x" * (2 * 1024 * 1024))
    assert reply.status_code == 413
    assert reply.headers["x-frame-options"] == "DENY" and "nosniff" in reply.headers.values()


def test_docs_cannot_be_framed_and_run_no_inline_script(client: TestClient) -> None:
    reply = client.get("/docs")
    assert reply.status_code == 200
    csp = _directives(reply.headers["content-security-policy"])
    assert csp["frame-ancestors"] == "frame-ancestors 'none'"
    assert csp["script-src"] == "script-src 'self'" and csp["default-src"] == "default-src 'none'"
    assert reply.headers["x-frame-options"] == "DENY"
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", reply.text, re.S)
    assert scripts and all("src=" in attrs and not body.strip() for attrs, body in scripts)
    assert "cdn" not in reply.text


def test_portal_pages_keep_their_own_policy(client: TestClient) -> None:
    reply = client.get("/login")
    csp = _directives(reply.headers["content-security-policy"])
    assert csp["script-src"] == "script-src 'self'" and csp["frame-ancestors"].endswith("'none'")
    assert reply.headers["x-content-type-options"] == "nosniff"


def test_openapi_names_the_schemes_for_authorize(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert (schemes["session"]["in"], schemes["session"]["name"]) == ("cookie", SESSION_COOKIE)
    cases = document["paths"]["/api/v1/cases"]["post"]
    assert cases["security"] == [{"bearer": []}, {"session": []}]
    assert "security" not in document["paths"]["/api/v1/auth/login"]["post"]


def _cookie_of(client: TestClient, username: str, base: str = "", **headers: str) -> str:
    reply = client.post(
        f"{base}/api/v1/auth/login",
        json={"username": username, "password": PASSWORD},
        headers=headers,
    )
    client.cookies.clear()
    assert reply.status_code == 200, reply.text
    cookie = next(v for k, v in reply.headers.multi_items() if k == "set-cookie")
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    return cookie


def _secure(cookie: str) -> bool:
    return "secure" in [part.strip().lower() for part in cookie.split(";")]


@pytest.fixture(scope="module")
def behind_proxy(backend: Backend) -> Iterator[TestClient]:
    """The app as `cityops serve` runs it: X-Forwarded-* believed from the trusted proxy only.

    TestClient's peer address is "testclient"; the trusted list is the setting's format.
    """
    app = ProxyHeadersMiddleware(create_app(backend.settings), trusted_hosts="testclient")
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def untrusted_proxy(backend: Backend) -> Iterator[TestClient]:
    """The same, with a proxy list that does not include the caller."""
    app = ProxyHeadersMiddleware(create_app(backend.settings), trusted_hosts="10.9.8.7")
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_cookie_is_secure_behind_https(
    client: TestClient, behind_proxy: TestClient, untrusted_proxy: TestClient, backend: Backend
) -> None:
    person = new_account(backend, prefix="secure")
    assert not _secure(_cookie_of(client, person.username))  # plain HTTP (a dev laptop)
    forwarded = {"X-Forwarded-Proto": "https"}
    assert _secure(_cookie_of(behind_proxy, person.username, **forwarded))
    assert not _secure(_cookie_of(untrusted_proxy, person.username, **forwarded))
    reply = behind_proxy.get("/healthz", headers=forwarded)
    assert reply.headers["strict-transport-security"].startswith("max-age=")
    # Served over HTTPS directly (no proxy header at all).
    assert _secure(_cookie_of(untrusted_proxy, person.username, "https://testserver"))


def test_static_files_get_a_same_origin_policy(client: TestClient) -> None:
    page = client.get("/static/map-embed-example.html")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == STATIC_CSP
    assert page.headers["x-frame-options"] == "SAMEORIGIN"
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
    assert scripts and all("src=" in attrs and not body.strip() for attrs, body in scripts)
    assert "<style" not in page.text
    icon = client.get("/static/favicon.svg")
    assert icon.headers["x-content-type-options"] == "nosniff"

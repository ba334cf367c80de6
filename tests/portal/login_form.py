"""Logging in through the portal's form as a browser does: fetch the form, send its token back."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient

_TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]{32})"')


def token_of(html: str) -> str:
    """The CSRF token of a login form."""
    match = _TOKEN.search(html)
    assert match, "no CSRF token on the login form"
    return match.group(1)


def login_token(client: TestClient) -> str:
    """GET the login form (the client keeps the token's cookie) and return the form's token."""
    form = client.get("/login")
    assert form.status_code == 200, form.text
    return token_of(form.text)


def post_login(
    client: TestClient, username: str, password: str, next_path: str = ""
) -> httpx.Response:
    """Submit the login form with the token of a freshly fetched form; the reply as it comes."""
    data = {"csrf_token": login_token(client), "username": username, "password": password}
    if next_path:
        data["next"] = next_path
    return client.post("/login", data=data)


def login(client: TestClient, username: str, password: str) -> None:
    """Log in afresh through the form; the client keeps the session cookie."""
    client.cookies.clear()
    reply = post_login(client, username, password)
    assert reply.status_code == 303, reply.text

"""Locks per (name, address): no username enumeration, and nobody can lock the owner out.

Clocks are injected (the service's `now`, the app's `auth_clock`); nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth import service
from cityops.auth.service import LoginOutcome, LoginResult
from tests.auth.conftest import Fresh, assert_problem, in_db, new_account, unique
from tests.conftest import PASSWORD, Backend

LOGIN = "/api/v1/auth/login"
WRONG = "Wrong-Passw0rd!"
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
OWNER_IP, ATTACKER_IP = "198.51.100.7", "203.0.113.9"


def attempt(backend: Backend, username: str, password: str, ip: str, now: datetime) -> LoginResult:
    """One password step through the service, committed, at an injected time."""

    async def work(session: AsyncSession) -> LoginResult:
        return await service.login(session, backend.settings, username, password, ip, now)

    return in_db(backend, work)


@pytest.fixture
def clock(client: TestClient) -> Iterator[list[datetime]]:
    """The app's sign-in clock, fixed at T0 (a one-item list the test may move)."""
    now = [T0]
    client.app.state.auth_clock = lambda: now[0]  # type: ignore[attr-defined]
    yield now
    del client.app.state.auth_clock  # type: ignore[attr-defined]


def post(client: TestClient, username: str, password: str) -> Any:
    client.cookies.clear()
    return client.post(LOGIN, json={"username": username, "password": password})


def test_a_locked_account_and_an_unknown_name_get_the_same_answer(
    client: TestClient, backend: Backend, clock: list[datetime]
) -> None:
    real = new_account(backend, prefix="enum")
    ghost = unique("ghost")
    for step in range(backend.settings.login_max_failures):
        a, b = post(client, real.username, WRONG), post(client, ghost, WRONG)
        assert (a.status_code, a.json()) == (b.status_code, b.json()), step
        assert a.json()["attempts_left"] == backend.settings.login_max_failures - step - 1
    locked_real = post(client, real.username, PASSWORD)  # even the right password
    locked_ghost = post(client, ghost, PASSWORD)
    body = assert_problem(locked_real, 429, "login-locked")
    assert assert_problem(locked_ghost, 429, "login-locked") == body
    assert locked_real.headers["retry-after"] == locked_ghost.headers["retry-after"] == "900"
    assert body["retry_after"] == 900 and "15 minutes" in body["detail"]
    assert "set-cookie" not in locked_real.headers


def test_every_path_runs_the_password_hash_once(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Comparable timing: unknown, wrong, locked and right all cost one Argon2 verification."""
    calls: list[str | None] = []
    real_verify = service.verify_password_async

    async def counted(stored: str | None, password: str) -> bool:
        calls.append(stored)
        return await real_verify(stored, password)

    monkeypatch.setattr(service, "verify_password_async", counted)
    fresh = new_account(backend, prefix="timing")
    ghost = unique("ghost")
    for _ in range(backend.settings.login_max_failures):
        attempt(backend, fresh.username, WRONG, ATTACKER_IP, T0)
        attempt(backend, ghost, WRONG, ATTACKER_IP, T0)
    calls.clear()
    outcomes = [
        attempt(backend, fresh.username, PASSWORD, ATTACKER_IP, T0).outcome,  # locked
        attempt(backend, ghost, PASSWORD, ATTACKER_IP, T0).outcome,  # unknown, locked
        attempt(backend, unique("ghost"), PASSWORD, ATTACKER_IP, T0).outcome,  # unknown
        attempt(backend, fresh.username, WRONG, OWNER_IP, T0).outcome,  # wrong
        attempt(backend, fresh.username, PASSWORD, OWNER_IP, T0).outcome,  # right
    ]
    assert outcomes == [LoginOutcome.LOCKED] * 2 + [LoginOutcome.INVALID] * 2 + [LoginOutcome.OK]
    assert len(calls) == 5
    assert calls[0] is not None and calls[1] is None  # the locked account's own hash, a dummy


def test_an_attacker_cannot_lock_the_owner_out(backend: Backend) -> None:
    fresh = new_account(backend, prefix="victim")
    for _ in range(8):  # past the limit, from one address
        last = attempt(backend, fresh.username, WRONG, ATTACKER_IP, T0)
    assert last.outcome is LoginOutcome.LOCKED
    owner = attempt(backend, fresh.username, PASSWORD, OWNER_IP, T0 + timedelta(seconds=1))
    assert owner.outcome is LoginOutcome.OK and owner.token
    # The attacker's address stays locked for the lockout period, then may try again.
    later = T0 + timedelta(minutes=backend.settings.login_lockout_minutes, seconds=1)
    assert attempt(backend, fresh.username, PASSWORD, ATTACKER_IP, later).outcome is LoginOutcome.OK


def _familiar(backend: Backend) -> Fresh:
    fresh = new_account(backend, prefix="spread")
    assert attempt(backend, fresh.username, PASSWORD, OWNER_IP, T0).outcome is LoginOutcome.OK
    return fresh


def test_guessing_spread_over_addresses_slows_strangers_but_not_familiar_addresses(
    backend: Backend,
) -> None:
    settings = backend.settings
    fresh = _familiar(backend)
    now = T0 + timedelta(minutes=1)
    for n in range(settings.login_global_failures):  # one guess each from many addresses
        result = attempt(backend, fresh.username, WRONG, f"192.0.2.{n + 1}", now)
        assert result.attempts_left == settings.login_max_failures - 1
    stranger = attempt(backend, fresh.username, WRONG, "192.0.2.250", now)
    assert (stranger.attempts_left, stranger.locked_for) == (
        0,
        timedelta(minutes=settings.login_lockout_minutes),
    )
    # The owner's familiar address keeps the usual allowance, and signs in.
    familiar = attempt(backend, fresh.username, WRONG, OWNER_IP, now)
    assert familiar.attempts_left == settings.login_max_failures - 1
    assert attempt(backend, fresh.username, PASSWORD, OWNER_IP, now).outcome is LoginOutcome.OK
    # When the window has passed, strangers get the usual allowance again.
    after = now + timedelta(minutes=settings.login_global_window_minutes + 1)
    fresh_stranger = attempt(backend, fresh.username, WRONG, "192.0.2.251", after)
    assert fresh_stranger.attempts_left == settings.login_max_failures - 1


def test_the_name_is_counted_case_blind(backend: Backend) -> None:
    fresh = new_account(backend, prefix="case")
    for _ in range(backend.settings.login_max_failures):
        attempt(backend, fresh.username.upper(), WRONG, ATTACKER_IP, T0)
    locked = attempt(backend, fresh.username, PASSWORD, ATTACKER_IP, T0)
    assert locked.outcome is LoginOutcome.LOCKED

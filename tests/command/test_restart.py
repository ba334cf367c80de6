"""Escalation timers across a kill -9 of the process holding them: each step fires once."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.command.conftest import FakeClock
from tests.command.test_drill import COMMUNITY, _activate, _declare, _escalations, _pass
from tests.conftest import Backend, Login

ROOT = Path(__file__).resolve().parents[2]


def _holder(backend: Backend, clock: FakeClock, mode: str) -> subprocess.Popen[str]:
    """Start a holder process; return once it said it holds (or fired) the due steps."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.command.holder",
            backend.settings.database_url,
            clock.at.isoformat(),
            mode,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 120)  # hang guard
    if not ready:
        _kill(process)
        raise AssertionError("the holder said nothing in 120 s")
    line = process.stdout.readline()
    expected = "claimed" if mode == "hold" else "fired "
    if not line.startswith(expected):
        _kill(process)
        raise AssertionError(f"holder: {line!r}, expected {expected!r}")
    return process


def _kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL


def _order(client: TestClient, login: Login) -> dict[str, Any]:
    incident = _declare(client, login)
    orders = _activate(client, login, incident["id"], level=4)
    return next(o for o in orders if o["unit_code"] == COMMUNITY)


def test_killed_while_holding_a_due_step_it_fires_once_after(
    client: TestClient, login: Login, clock: FakeClock, backend: Backend
) -> None:
    mine = _order(client, login)
    clock.advance(minutes=30)  # the sign-for deadline: the reminder is due
    holder = _holder(backend, clock, "hold")  # claimed it, never committed
    try:
        assert _escalations(backend, mine["id"]) == []
    finally:
        _kill(holder)
    _pass(backend, clock)
    _pass(backend, clock)
    assert [e.kind for e in _escalations(backend, mine["id"])] == ["escalate_remind"]


def test_killed_after_firing_nothing_fires_twice(
    client: TestClient, login: Login, clock: FakeClock, backend: Backend
) -> None:
    mine = _order(client, login)
    clock.advance(minutes=30)
    holder = _holder(backend, clock, "fire")  # fired and committed, then dies
    _kill(holder)
    assert [e.kind for e in _escalations(backend, mine["id"])] == ["escalate_remind"]
    _pass(backend, clock)
    assert len(_escalations(backend, mine["id"])) == 1
    clock.advance(minutes=15)  # the next step still comes, once
    _pass(backend, clock)
    _pass(backend, clock)
    assert [e.kind for e in _escalations(backend, mine["id"])] == [
        "escalate_remind",
        "escalate_leader",
    ]

"""The app's lifespan starts the scheduler (CITYOPS_SCHEDULER) and `cityops scheduler` runs one."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from cityops.app import create_app
from cityops.cases.flow.scheduler import CaseScheduler
from cityops.cases.runtime import run_scheduler
from tests.cases.conftest import Api, FakeClock, Places, sh
from tests.conftest import Backend


def test_lifespan_starts_and_stops_the_scheduler(backend: Backend) -> None:
    if backend.name != "sqlite":
        pytest.skip("the wiring is the same on both backends")
    settings = backend.settings.model_copy(update={"scheduler_interval_seconds": 3600})
    app = create_app(settings)
    with TestClient(app):
        scheduler: CaseScheduler = app.state.case_scheduler
        assert scheduler.running and scheduler.interval == 3600
    assert not scheduler.running
    quiet = create_app(backend.settings.model_copy(update={"scheduler": False}))
    with TestClient(quiet):
        assert quiet.state.case_scheduler is None
        assert quiet.state.cases.settings.scheduler is False


def test_scheduler_command_runs_one_pass(backend: Backend) -> None:
    def long_ago() -> datetime:
        return sh(2024, 1, 2, 9, 0)  # before any test's case: nothing is due

    summary = asyncio.run(run_scheduler(backend.settings, interval=None, once=True, clock=long_ago))
    assert summary == "fired 0 warnings and 0 breaches"


def test_scheduler_command_fires_what_is_due(
    api: Api, clock: FakeClock, places: Places, backend: Backend
) -> None:
    # Earlier than every other test's case: only this one is due at 09:31.
    clock.set(sh(2024, 3, 4, 9, 0))
    cid = api.open_case("t_duty", places["310117102002"], "component:0101")
    api.ok("t_duty", cid, "register")
    api.ok("t_duty", cid, "dispatch")

    def after_sign_deadline() -> datetime:
        return sh(2024, 3, 4, 9, 31)  # sign-for within 30 minutes of dispatch

    summary = asyncio.run(
        run_scheduler(backend.settings, interval=None, once=True, clock=after_sign_deadline)
    )
    assert summary == "fired 0 warnings and 1 breaches"
    assert api.detail(cid)["overdue"] is True
    again = asyncio.run(
        run_scheduler(backend.settings, interval=None, once=True, clock=after_sign_deadline)
    )
    assert again == "fired 0 warnings and 0 breaches"  # a second pass fires nothing twice

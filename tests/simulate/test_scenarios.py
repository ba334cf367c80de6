"""Simulated reports: labelled synthetic, real categories, inside their community, repeatable."""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest
from shapely.geometry import Point, box

from cityops.cases.catalog.codes import find_category
from cityops.cases.flow.table import Status, actions_from
from cityops.simulate.accounts import Login, SimAccounts, places_in_scopes
from cityops.simulate.channels import CasesApiChannel
from cityops.simulate.handlers import NEXT_STEPS, choose_step
from cityops.simulate.runner import SimConfig, Simulation
from cityops.simulate.scenarios import (
    GRID_FINDINGS,
    HOTLINE_CALLS,
    KEY_PREFIX,
    RESIDENT_REPORTS,
    SOURCE_MIX,
    SYNTHETIC_MARK,
    Place,
    ReportMaker,
)
from tests.real_server import free_port

PLACES = [
    Place("310117103001", "甲居委会", "泗泾镇", box(121.20, 31.10, 121.21, 31.11)),
    Place("310117104001", "乙居委会", "佘山镇", box(121.22, 31.10, 121.23, 31.11)),
]


def test_every_category_the_simulator_uses_exists() -> None:
    codes = [c for c, _ in GRID_FINDINGS] + [c for c, _ in HOTLINE_CALLS + RESIDENT_REPORTS]
    for code in codes:
        assert find_category(code), code


def test_reports_are_labelled_and_lie_in_their_community() -> None:
    maker = ReportMaker(PLACES, random.Random(7), "run1")
    reports = [maker.next() for _ in range(300)]
    assert {r.source for r in reports} == set(SOURCE_MIX)
    for report in reports:
        assert report.text.startswith(SYNTHETIC_MARK)
        assert report.key.startswith(f"{KEY_PREFIX}run1-{report.source}-")
        assert report.place.area.contains(Point(report.lon, report.lat))
        assert report.place.town in report.address
        if report.reporter_phone:
            assert report.reporter_phone.startswith("000")  # no real number is ever used
    assert len({r.key for r in reports}) == len(reports)


def test_the_same_seed_draws_the_same_district() -> None:
    first, again = (ReportMaker(PLACES, random.Random(3), "r") for _ in range(2))
    assert [first.next() for _ in range(5)] == [again.next() for _ in range(5)]


@pytest.mark.parametrize("status", [s for s in Status])
def test_handlers_only_take_actions_the_platform_allows(status: Status) -> None:
    allowed = [a.value for a in actions_from(status)]
    rng = random.Random(1)
    for _ in range(50):
        step = choose_step(status.value, allowed, False, rng)
        if step is not None:
            assert step.action in allowed
    assert choose_step(status.value, [], False, rng) is None


def test_every_scripted_step_is_a_row_of_the_workflow_table() -> None:
    for status, steps in NEXT_STEPS.items():
        allowed = {a.value for a in actions_from(Status(status))}
        assert {action for action, _, _ in steps} <= allowed, status


def test_a_pending_extension_is_decided_first() -> None:
    step = choose_step("signed", ["approve_extension", "start"], True, random.Random(1))
    assert step is not None and step.action == "approve_extension"


def test_a_report_the_platform_cannot_take_is_kept_and_sent_first_next_time() -> None:
    accounts = SimAccounts({}, Login("x", "y"), "310117", {}, PLACES)
    simulation = Simulation(SimConfig("http://127.0.0.1:1"), accounts)
    report = simulation.maker.next("grid")

    async def deliver_to_nothing() -> bool:
        # A real connection to a port where nothing listens: the platform is down.
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{free_port()}") as http:
            return await simulation._deliver(http, CasesApiChannel("grid", "k"), report)

    assert asyncio.run(deliver_to_nothing()) is False
    assert simulation.stats.retried == 1
    assert simulation._next_report() == report


def test_the_first_reports_and_every_eighth_go_to_peoples_scopes() -> None:
    focus = places_in_scopes(PLACES, ["310117104", "310117104001", "310117103001", "3101179"])
    assert [p.code for p in focus] == ["310117103001", "310117104001"]  # no place in 3101179
    accounts = SimAccounts({}, Login("x", "y"), "310117", {}, PLACES, focus=focus)
    simulation = Simulation(SimConfig("http://127.0.0.1:1", seed=3), accounts)
    reports = [simulation._next_report() for _ in range(16)]
    assert [r.place.code for r in reports[:2]] == ["310117103001", "310117104001"]
    for report in (*reports[:2], reports[7], reports[15]):
        assert report.source == "grid"
        assert find_category(report.category).loop_level == "community"  # stays in its scope

"""The workflow engine itself, in memory, beside SpiffWorkflow's engine in memory: like for like.

Neither side stores anything here. SpiffWorkflow instantiates a `BpmnWorkflow` per case and runs
its user tasks (cases_spiff.run_memory); cityops runs the pure functions its service layer calls
around the database work, on the same reports and the same eight steps:

* opening — `find_category`, `to_wgs84`, `divisions_at_point` (point in grid polygon, the
  division index loaded from the benchmark database beforehand), `route` (routing rules,
  department, loop level, escalation policy);
* each step — `engine.decide` (permission, transition table, guards, required text) and
  `resolve_target`, then the deadline and working-time arithmetic the step's effect does in
  cases/actions.py: `dispatch` arms the sign-for and handle deadlines (`timers.plan` on the
  Shanghai work calendar, with their 临期 instants) and `handle` computes the handling hours;
  every step appends a timeline entry to the case.

That effect list mirrors cases/actions.py for the main line only; the database effects
(department lookup, timer rows, the timeline INSERT) are what the durable engine path measures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cases_engine import OFFICER, Phase, clock, since
from cases_workload import MAIN_LINE, Report
from cityops.cases.catalog.codes import find_category
from cityops.cases.catalog.shipped import Category
from cityops.cases.flow.decide import ActionInput, Refusal, decide
from cityops.cases.flow.routing import Rule, divisions_at_point, route
from cityops.cases.flow.rule_cache import RuleCache
from cityops.cases.flow.table import Action, Status, resolve_target
from cityops.cases.flow.timers import Span, plan
from cityops.cases.intake.opening import to_wgs84
from cityops.cases.repository import CaseRepository
from cityops.geo.lookup import DivisionIndex
from cityops.geo.service import load_division_index
from cityops.kit.db import in_unit_of_work
from cityops.kit.workcal import WorkCalendar, default_calendar

DISTRICT = "310117"
MAX_RETURNS = 3
WARN_RATIO = 0.8
STEPS = tuple((Action(name), ActionInput(**body)) for name, body in MAIN_LINE)


@dataclass(slots=True)
class MemoryCase:
    """A case as the engine sees it, held in memory (what the database row holds)."""

    category: Category
    owner_code: str
    loop_level: str
    created_at: datetime
    status: str = Status.RECEIVED.value
    returns: int = 0
    supervision: str | None = None
    suspended_from: str | None = None
    registered_at: datetime | None = None
    handling_hours: float | None = None
    deadlines: dict[str, Span] = field(default_factory=dict)
    timeline: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class CoreResult:
    """Creation and transition throughput of the engine in memory."""

    created: Phase
    transitions: Phase


@dataclass(frozen=True)
class Loaded:
    """What the service layer reads before deciding: the division index and routing rules."""

    index: DivisionIndex
    rules: tuple[Rule, ...]


async def load(url: str) -> Loaded:
    """The division index and the routing rules of the benchmark database, read once."""

    async def read(session: Any) -> Loaded:
        # The rules as intake routes by them: the same cache, read once here.
        rules = await RuleCache().current(CaseRepository(session))
        return Loaded(await load_division_index(session, DISTRICT), rules)

    return await in_unit_of_work(url, read)


class Core:
    """The engine in memory over one division index, the rules and one work calendar."""

    def __init__(self, loaded: Loaded, calendar: WorkCalendar | None = None) -> None:
        self.index = loaded.index
        self.rules = loaded.rules
        self.calendar = calendar or default_calendar()

    def open(self, report: Report, now: datetime) -> MemoryCase:
        """Locate and route a report into a new case."""
        category = find_category(report.category)
        lon, lat = to_wgs84(report.lon, report.lat, "wgs84")
        divisions = divisions_at_point(self.index, lon, lat, DISTRICT)
        routed = route(category, divisions, self.rules)
        case = MemoryCase(category, routed.owner_code, routed.loop_level.value, now)
        case.timeline.append({"action": "created", "to": case.status, "at": now})
        return case

    def act(self, case: MemoryCase, action: Action, data: ActionInput, now: datetime) -> None:
        """Decide one step, do its arithmetic, move the case and record it."""
        row = decide(case, action, OFFICER, data, False, MAX_RETURNS)
        if isinstance(row, Refusal):
            raise RuntimeError(f"{action} refused from {case.status}: {row.why}")
        if action is Action.REGISTER:
            case.registered_at = now
        elif action is Action.DISPATCH:
            case.deadlines["sign"] = plan(self.calendar, case.category.sign_for, now, WARN_RATIO)
            case.deadlines["handle"] = plan(self.calendar, case.category.handle, now, WARN_RATIO)
        elif action is Action.HANDLE:
            start = case.registered_at or case.created_at
            case.handling_hours = round(self.calendar.working_hours_between(start, now), 4)
        before = case.status
        case.status = resolve_target(row, case.suspended_from).value
        case.timeline.append({"action": action.value, "from": before, "to": case.status, "at": now})


def run_core(
    loaded: Loaded, batch: list[Report], warmup: list[Report], start: datetime
) -> CoreResult:
    """Open every report, then drive every case through the main line; time both phases."""
    core = Core(loaded)
    minute = timedelta(minutes=1)
    for report in warmup:
        case = core.open(report, start)
        for action, data in STEPS:
            core.act(case, action, data, start)
    started = clock()
    cases = [core.open(report, start) for report in batch]
    created = since(started, len(batch))
    started = clock()
    for case in cases:
        now = start
        for action, data in STEPS:
            now += minute  # steps a minute apart: deadlines and hours are computed, not cached
            core.act(case, action, data, now)
    moved = since(started, len(cases) * len(STEPS))
    if any(case.status != Status.CLOSED for case in cases):
        raise RuntimeError("the engine did not close every case")
    return CoreResult(created, moved)

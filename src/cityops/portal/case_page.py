"""Everything one case's page shows (desktop and phone): fields, timers, timeline, photos, actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import Request

from cityops.auth.accounts import display_names
from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.cases import (
    Action,
    Actor,
    CaseAccess,
    CaseExtension,
    CaseRecord,
    CaseService,
    CaseTimer,
    LoopLevel,
    divisions_of,
    env_of,
)
from cityops.kit.db import unit_of_work
from cityops.kit.web import MAX_INT, sessionmaker_of
from cityops.media.service import sha_of
from cityops.org.service import unit_departments
from cityops.org.tree import OrgTree
from cityops.portal import case_texts as t
from cityops.portal.case_forms import ActionForm, action_forms
from cityops.portal.workbench_views import (
    CaseRow,
    Mark,
    TimelineRow,
    case_row,
    local,
    timeline_rows,
    timer_marks,
)

MAP_LAYERS = "units,communities,grids,cases"


@dataclass(frozen=True, slots=True)
class Division:
    """One division a case lies in."""

    label: str
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class TimerRow:
    """A deadline as shown."""

    label: str
    state: str
    due: str
    warn: str
    marks: list[Mark]


@dataclass(frozen=True, slots=True)
class CaseView:
    """One case for its page."""

    case: CaseRecord
    row: CaseRow
    full_text: str
    category_code: str
    address: str
    owner: str
    department: str | None
    reporter: str | None
    divisions: list[Division]
    timers: list[TimerRow]
    pending_extension: CaseExtension | None
    timeline: list[TimelineRow]
    photos: list[str]  # sha256 of the platform's photos
    links: list[str]  # other references (e.g. an Open311 media_url)
    forms: list[ActionForm]
    departments: list[tuple[int, str]]
    default_department: str | None  # the routed default department's name (its key if unknown)
    targets: list[tuple[str, str]]
    map_url: str | None
    location: str | None


def case_id_of(text: str) -> int | None:
    """A case id from a path or form field, or None when it cannot be one."""
    if not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_INT else None


def _divisions(case: CaseRecord, tree: OrgTree) -> list[Division]:
    found = [
        ("街镇", case.unit_code),
        ("综合网格", case.multigrid_code),
        ("居村", case.community_code),
        ("网格", case.grid_code),
    ]
    result = []
    for name, code in found:
        node = tree.get(code) if code else None
        if code:
            result.append(Division(name, code, node.name if node else code))
    return result


def _timer_rows(timers: list[CaseTimer], now: datetime) -> list[TimerRow]:
    return [
        TimerRow(
            label=t.label(t.TIMER_LABELS, timer.kind),
            state=t.label(t.TIMER_STATES, timer.state),
            due=local(timer.due_at),
            warn=local(timer.warn_at),
            marks=timer_marks([timer], now),
        )
        for timer in timers
    ]


def _targets(case: CaseRecord, tree: OrgTree, principal: Principal) -> list[tuple[str, str]]:
    """Where a district case may be handed down: its town, multi-grid unit, community."""
    codes = [case.unit_code, case.multigrid_code, case.community_code]
    return [
        (code, node.name)
        for code in codes
        if code and (node := tree.get(code)) is not None and principal.scope.allows(code)
    ]


def _map_url(case: CaseRecord, principal: Principal) -> str | None:
    if case.lon is None or case.lat is None or not principal.can(Perm.ORG_READ):
        return None
    return f"/map/embed?layers={MAP_LAYERS}&center={case.lon:.6f},{case.lat:.6f}&zoom=16"


async def load_case_view(request: Request, principal: Principal, case_id: int) -> CaseView | None:
    """A visible case with what the caller may do now; None when it cannot see it."""
    env = env_of(request)
    access = CaseAccess.of(principal)
    tree = await env.tree.current()
    async with unit_of_work(sessionmaker_of(request)) as session:
        svc = CaseService(session, env)
        case = await svc.find(access, case_id)
        if case is None:
            return None
        allowed = await svc.allowed_actions(case, Actor.of(principal))
        timers = await svc.timers.of_case(case.id)
        pending = await svc.pending_extension(case)
        events = await svc.timeline(access, case.id)
        ids = {case.department_id} | {e.detail.get("department_id") for e in events if e.detail}
        named = await svc.departments(sorted(i for i in ids if isinstance(i, int)))
        choices: list[tuple[int, str]] = []
        default_department = case.department_key
        owner_unit = divisions_of(case).department_owner(LoopLevel(case.loop_level))
        if owner_unit and {Action.DISPATCH, Action.REDISPATCH} & set(allowed):
            found = await unit_departments(session, principal.scope, owner_unit)
            choices = [(d.id, d.name) for d in found]
            # The routed default by its name (城管执法中队), not its key (cgzf).
            keyed = {d.key: d.name for d in found}
            default_department = keyed.get(case.department_key or "", default_department)
        people = {e.actor for e in events} | {
            str(e.detail["handled_by"]) for e in events if e.detail and "handled_by" in e.detail
        }
        names = await display_names(session, people)
    now = env.now()
    refs = list(case.photos or [])
    owner = tree.get(case.owner_code)
    department = named.get(case.department_id) if case.department_id else None
    reporter = " ".join(p for p in (case.reporter_name_masked, case.reporter_phone_masked) if p)
    return CaseView(
        case=case,
        row=case_row(case, tree, timers, now),
        full_text=case.text,
        category_code=case.category,
        address=case.address,
        owner=owner.name if owner else case.owner_code,
        department=department.name if department else None,
        reporter=reporter or None,
        divisions=_divisions(case, tree),
        timers=_timer_rows(timers, now),
        pending_extension=pending,
        timeline=timeline_rows(events, tree, {i: d.name for i, d in named.items()}, names),
        photos=[s for s in (sha_of(r) for r in refs) if s],
        links=[r for r in refs if sha_of(r) is None],
        forms=action_forms(case, allowed, photos=True),
        departments=choices,
        default_department=default_department,
        targets=_targets(case, tree, principal),
        map_url=_map_url(case, principal),
        location=f"{case.lon:.6f}, {case.lat:.6f}"
        if case.lon is not None and case.lat is not None
        else None,
    )

"""What each action does besides moving the case: timers, counters, departments, loops."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from cityops.cases.catalog.shipped import LoopLevel
from cityops.cases.errors import IllegalTransition, invalid
from cityops.cases.events import CaseEscalated
from cityops.cases.flow.routing import (
    Divisions,
    divisions_of_code,
    escalation_policy,
    level_rank,
    matching_rules,
    next_level,
    raise_to,
)
from cityops.cases.flow.step import Step, Stepper
from cityops.cases.flow.table import FINAL, Action
from cityops.cases.flow.timers import TimerKind
from cityops.cases.models import CaseExtension, CaseRecord
from cityops.kit.errors import OutOfScope
from cityops.kit.workcal import MissingYearError
from cityops.org.models import COMMUNITY_LEVELS, TOWN_LEVELS, OrgLevel

Effect = Callable[[Stepper, Step], Awaitable[None]]


def divisions_of(case: CaseRecord) -> Divisions:
    """The divisions stored on a case."""
    return Divisions(
        district_code=case.owner_code[:6],
        unit_code=case.unit_code,
        community_code=case.community_code,
        grid_code=case.grid_code,
        multigrid_code=case.multigrid_code,
    )


async def _nothing(svc: Stepper, step: Step) -> None:
    """Actions whose whole effect is the move and the timeline entry."""


async def _register(svc: Stepper, step: Step) -> None:
    step.case.registered_at = step.case.registered_at or svc.now


async def _finish_all(svc: Stepper, step: Step) -> None:
    for kind in TimerKind:
        await svc.timers.finish(step.case, kind)


async def _merge(svc: Stepper, step: Step) -> None:
    case, parent_id = step.case, step.data.parent_id
    if parent_id is None:
        raise invalid("parent_id", "merge needs the parent case id")
    parent = await svc.repo.get(step.access, parent_id)
    if parent is None or parent.id == case.id:
        raise invalid("parent_id", f"case {parent_id} cannot be the parent of case {case.id}")
    if parent.status in FINAL or parent.parent_id is not None:
        raise invalid("parent_id", f"case {parent_id} is {parent.status}: merge into an open case")
    case.parent_id = parent.id
    step.detail["parent_id"] = parent.id
    await _finish_all(svc, step)
    await svc.log(parent, step.actor, "merged_in", parent.status, detail={"child_id": case.id})


async def _department(svc: Stepper, step: Step) -> int | None:
    """The department a dispatch targets: given by id or key, else the routed default."""
    case, data = step.case, step.data
    owner_unit = divisions_of(case).department_owner(LoopLevel(case.loop_level))
    if data.department_id is not None:
        department = await svc.repo.department(data.department_id)
        if department is None or not case.owner_code.startswith(department.org_code):
            raise invalid("department_id", f"department {data.department_id} cannot take this case")
        return department.id
    key = data.department_key or case.department_key
    if key is None or owner_unit is None:
        if data.department_key is not None:
            raise invalid("department_key", f"a {case.loop_level} loop case has no departments")
        return None  # a community or multi-grid loop handles with its own people
    department = await svc.repo.department_by_key(owner_unit, key)
    if department is None and data.department_key is not None:
        raise invalid("department_key", f"{owner_unit} has no department {key!r}")
    return department.id if department else None


async def _dispatch(svc: Stepper, step: Step) -> None:
    case = step.case
    case.department_id = await _department(svc, step)
    case.dispatched_at = case.dispatched_at or svc.now
    category = svc.category(case)
    await svc.timers.arm(case, TimerKind.SIGN, category.sign_for, svc.now)
    if await svc.timers.get(case.id, TimerKind.HANDLE) is None:
        await svc.timers.arm(case, TimerKind.HANDLE, category.handle, svc.now)
    step.detail["department_id"] = case.department_id


async def _redispatch(svc: Stepper, step: Step) -> None:
    step.case.reworks += 1
    await _dispatch(svc, step)
    await svc.timers.rearm(step.case, TimerKind.HANDLE)


async def _sign(svc: Stepper, step: Step) -> None:
    step.case.signed_at = svc.now
    await svc.timers.finish(step.case, TimerKind.SIGN)


async def _return(svc: Stepper, step: Step) -> None:
    step.case.returns += 1
    step.detail["returns"] = step.case.returns
    await svc.timers.finish(step.case, TimerKind.SIGN)


async def _handle(svc: Stepper, step: Step) -> None:
    case = step.case
    case.handled_at = svc.now
    start = case.registered_at or case.created_at
    try:
        case.handling_hours = round(svc.calendar.working_hours_between(start, svc.now), 4)
    except MissingYearError:
        case.handling_hours = None
    await svc.timers.finish(case, TimerKind.HANDLE)


async def _rework(svc: Stepper, step: Step) -> None:
    step.case.reworks += 1
    await svc.timers.rearm(step.case, TimerKind.HANDLE)


async def _close(svc: Stepper, step: Step) -> None:
    step.case.closed_at = svc.now
    await _finish_all(svc, step)


async def _evaluate(svc: Stepper, step: Step) -> None:
    score = step.data.satisfaction
    if score is None or not 1 <= score <= 5:
        raise invalid("satisfaction", "evaluate needs a satisfaction from 1 to 5")
    step.case.satisfaction = score
    step.case.evaluated_at = svc.now
    step.detail["satisfaction"] = score


async def _reopen(svc: Stepper, step: Step) -> None:
    case = step.case
    case.closed_at = case.handled_at = case.evaluated_at = None
    case.satisfaction = None
    case.department_id = None
    await svc.timers.arm(case, TimerKind.HANDLE, svc.category(case).handle, svc.now)


async def _move_to(svc: Stepper, step: Step, level: LoopLevel, divisions: Divisions) -> None:
    """Give the case to the owner of another loop; its new dispatcher starts afresh."""
    case = step.case
    before_level, before_owner = case.loop_level, case.owner_code
    applied = matching_rules(await svc.env.rules.current(svc.repo), case.category, divisions)
    case.loop_level = level.value
    case.owner_code = divisions.owner_at(level) or divisions.district_code
    case.unit_code, case.community_code = divisions.unit_code, divisions.community_code
    case.grid_code, case.multigrid_code = divisions.grid_code, divisions.multigrid_code
    case.department_id = None
    case.escalate_on_breach = escalation_policy(applied, level)
    await svc.timers.finish(case, TimerKind.SIGN)
    step.detail.update(
        from_level=before_level,
        to_level=level.value,
        from_owner=before_owner,
        to_owner=case.owner_code,
    )


async def escalate(svc: Stepper, step: Step, *, automatic: bool = False) -> None:
    """Pass the case up to the next loop that may close its category.

    Loops go community → multi-grid → town → district; a loop below the category's lowest
    closing level (the catalogue's `loop_level`) is skipped, since it could not close it either.
    """
    case = step.case
    divisions = divisions_of(case)
    level = next_level(case.loop_level, divisions)
    if level is None:
        raise IllegalTransition(case.status, Action.ESCALATE.value, [], "already at the district")
    floor = svc.category(case).loop_level
    level = raise_to(max(level, floor, key=level_rank), divisions)
    await _move_to(svc, step, level, divisions)
    step.detail["automatic"] = automatic
    moved = {k: step.detail[k] for k in ("from_level", "to_level", "from_owner", "to_owner")}
    key = (
        f"{CaseEscalated.name}:{case.id}:{moved['from_level']}>{level.value}:{svc.now.isoformat()}"
    )
    svc.emit(CaseEscalated.about(case, svc.now, key, automatic=automatic, **moved))


async def _escalate(svc: Stepper, step: Step) -> None:
    await escalate(svc, step)


async def _assign_down(svc: Stepper, step: Step) -> None:
    case, target = step.case, step.data.target_code
    if target is None:
        raise invalid(
            "target_code", "assign_down needs target_code (a town, multi-grid or community)"
        )
    if step.tree is None or step.tree.get(target) is None:
        raise invalid("target_code", f"org unit {target} does not exist")
    if not step.access.scope.allows(target):
        raise OutOfScope(target)
    node = step.tree.get(target)
    assert node is not None
    level = _level_of(node.level)
    if level is None:
        raise invalid(
            "target_code", f"{target} is a {node.level}: give a town, multi-grid or community"
        )
    current = divisions_of(case)
    if case.unit_code is not None and target not in current.codes():
        raise invalid("target_code", f"{target} is not where case {case.id} lies")
    found = divisions_of_code(step.tree, target, current.district_code)
    merged = Divisions(
        district_code=current.district_code,
        unit_code=current.unit_code or found.unit_code,
        community_code=current.community_code or found.community_code,
        grid_code=current.grid_code or found.grid_code,
        multigrid_code=current.multigrid_code or found.multigrid_code,
    )
    await _move_to(svc, step, level, merged)


def _level_of(org_level: str) -> LoopLevel | None:
    if org_level in TOWN_LEVELS:
        return LoopLevel.TOWN
    if org_level == OrgLevel.MULTIGRID:
        return LoopLevel.MULTIGRID
    if org_level in COMMUNITY_LEVELS:
        return LoopLevel.COMMUNITY
    return None


async def _suspend(svc: Stepper, step: Step) -> None:
    step.case.suspended_from = step.case.status
    await svc.timers.pause(step.case, svc.now)


async def _resume(svc: Stepper, step: Step) -> None:
    await svc.timers.resume(step.case, svc.now)


async def _request_extension(svc: Stepper, step: Step) -> None:
    data = step.data
    if (data.hours is None) == (data.days is None):
        raise invalid("hours", "request_extension needs hours or days (one of them)")
    if await svc.timers.get(step.case.id, TimerKind.HANDLE) is None:
        raise IllegalTransition(step.case.status, Action.REQUEST_EXTENSION.value, [], "no deadline")
    request = CaseExtension(
        case_id=step.case.id,
        state="pending",
        hours=data.hours,
        days=data.days,
        reason=data.reason,
        requested_by=step.actor.name,
        requested_at=svc.now,
    )
    svc.session.add(request)
    await svc.session.flush()
    step.detail.update(extension_id=request.id, hours=data.hours, days=data.days)


async def _decide_extension(svc: Stepper, step: Step, approve: bool) -> CaseExtension:
    request = await svc.repo.pending_extension(step.case.id)
    assert request is not None  # the guard checked it
    request.state = "approved" if approve else "rejected"
    request.decided_by, request.decided_at = step.actor.name, svc.now
    step.detail["extension_id"] = request.id
    return request


async def _approve_extension(svc: Stepper, step: Step) -> None:
    request = await _decide_extension(svc, step, approve=True)
    moved = await svc.timers.extend(step.case, svc.now, request.hours, request.days)
    if moved is not None:
        request.previous_due_at, request.new_due_at = moved
        step.detail.update(previous_due_at=moved[0].isoformat(), new_due_at=moved[1].isoformat())


async def _reject_extension(svc: Stepper, step: Step) -> None:
    await _decide_extension(svc, step, approve=False)


async def _supervise(svc: Stepper, step: Step) -> None:
    level = step.data.level or "supervise"
    step.case.supervision = level
    step.detail["level"] = level


async def _unsupervise(svc: Stepper, step: Step) -> None:
    step.detail["level"] = step.case.supervision
    step.case.supervision = None


EFFECTS: dict[Action, Effect] = {
    Action.REGISTER: _register,
    Action.VOID: _finish_all,
    Action.MERGE: _merge,
    Action.DISPATCH: _dispatch,
    Action.SIGN: _sign,
    Action.RETURN: _return,
    Action.START: _nothing,
    Action.HANDLE: _handle,
    Action.CHECK: _nothing,
    Action.VERIFY: _nothing,
    Action.REWORK: _rework,
    Action.REDISPATCH: _redispatch,
    Action.CLOSE: _close,
    Action.EVALUATE: _evaluate,
    Action.REOPEN: _reopen,
    Action.ESCALATE: _escalate,
    Action.ASSIGN_DOWN: _assign_down,
    Action.SUSPEND: _suspend,
    Action.RESUME: _resume,
    Action.REQUEST_EXTENSION: _request_extension,
    Action.APPROVE_EXTENSION: _approve_extension,
    Action.REJECT_EXTENSION: _reject_extension,
    Action.SUPERVISE: _supervise,
    Action.UNSUPERVISE: _unsupervise,
}

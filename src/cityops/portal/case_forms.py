"""Acting on cases from the portal: which form each allowed action needs, and running it.

Forms call the same `CaseService.act` as `POST /api/v1/cases/{id}/actions/{action}`, with the
same actor, access and checks; a refusal comes back as one Chinese sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from fastapi import Request
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError
from starlette.datastructures import FormData

from cityops.auth.principal import Principal
from cityops.cases import (
    ACTION_LABELS,
    MAIN_LINE,
    Action,
    ActionInput,
    ActionRequest,
    Actor,
    CaseAccess,
    CaseRecord,
    CaseService,
    Status,
    env_of,
    lookup,
)
from cityops.config import Settings
from cityops.kit.bus import publish_all
from cityops.kit.db import unit_of_work
from cityops.kit.errors import ProblemError
from cityops.kit.web import sessionmaker_of
from cityops.kit.workcal import CalendarError
from cityops.media.service import MediaService, Uploader, ref_of
from cityops.portal.case_texts import problem_text
from cityops.portal.forms import PhotoFile, photo_files, text

#: Fields an action reads besides comment and reason.
EXTRA_FIELDS: dict[Action, tuple[str, ...]] = {
    Action.MERGE: ("parent_id",),
    Action.DISPATCH: ("department_id",),
    Action.REDISPATCH: ("department_id",),
    Action.EVALUATE: ("satisfaction",),
    Action.ASSIGN_DOWN: ("target_code",),
    Action.REQUEST_EXTENSION: ("hours", "days"),
    Action.SUPERVISE: ("level",),
}
#: Steps a photo documents (the scene before, the work done, the check).
PHOTO_ACTIONS = frozenset(
    {Action.START, Action.HANDLE, Action.CHECK, Action.VERIFY, Action.REWORK, Action.RETURN}
)
#: The forward steps of the flow, drawn as primary buttons: the main line and its follow-ups.
FORWARD = frozenset({*MAIN_LINE, Action.EVALUATE, Action.RESUME, Action.APPROVE_EXTENSION})
_FORM_KEYS = ("comment", "reason", "department_id", "target_code", "parent_id", "hours", "days")


@dataclass(frozen=True, slots=True)
class ActionForm:
    """One allowed action as the page draws it: a button, or a small form when it needs input."""

    action: str
    label: str
    needs_comment: bool
    needs_reason: bool
    fields: tuple[str, ...]
    photos: bool
    primary: bool

    @property
    def direct(self) -> bool:
        """Whether one click does it (nothing to fill in)."""
        return not (self.needs_comment or self.needs_reason or self.fields or self.photos)


def action_forms(case: CaseRecord, allowed: Sequence[str], *, photos: bool) -> list[ActionForm]:
    """The forms of the actions allowed now, in the table's order; photos on phone pages."""
    status = Status(case.status)
    forms: list[ActionForm] = []
    for name in allowed:
        action = Action(name)
        row = lookup(status, action)
        if row is None:
            continue
        forms.append(
            ActionForm(
                action=action.value,
                label=ACTION_LABELS[action],
                needs_comment=row.needs_comment,
                needs_reason=row.needs_reason,
                fields=EXTRA_FIELDS.get(action, ()),
                photos=photos and action in PHOTO_ACTIONS,
                primary=action in FORWARD,
            )
        )
    return forms


def action_input(form: FormData) -> ActionInput:
    """The action's input from a form, checked by the API's own schema (422 in Chinese)."""
    raw: dict[str, object] = {key: text(form, key) for key in _FORM_KEYS}
    for key in ("department_id", "target_code", "parent_id", "hours", "days"):
        raw[key] = str(raw[key]).strip() or None
    for key in ("satisfaction", "level"):
        raw[key] = text(form, key).strip() or None
    try:
        body = ActionRequest.model_validate(raw)
    except ValidationError as exc:
        errors = [
            {"loc": [str(p) for p in e["loc"]], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
        raise ProblemError(422, "validation", "the form is not valid", errors=errors) from exc
    data = body.model_dump(exclude={"photos"})
    return ActionInput(**data)


async def store_photos(
    session: AsyncSession, settings: Settings, files: Sequence[PhotoFile], uploader: Uploader
) -> list[str]:
    """Clean and store uploaded photos in the caller's transaction; their references."""
    media = MediaService(session, settings)
    refs: list[str] = []
    for upload in files:
        row, _ = await media.save(await media.clean(upload.data, "photos"), uploader)
        refs.append(ref_of(row.sha256))
    return refs


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a posted action went: why it was refused (Chinese), or whether the case is still yours."""

    error: str | None = None
    still_visible: bool = True


async def perform(
    request: Request, principal: Principal, case_id: int, action: Action, form: FormData
) -> Outcome:
    """Take an action from a posted form, as the API would."""
    env = env_of(request)
    uploader = Uploader(principal.account_id, principal.username, principal.org_code)
    try:
        data = action_input(form)
        files = await photo_files(form, "photos", env.settings.media_max_bytes)
        async with unit_of_work(sessionmaker_of(request)) as session:
            if files:
                refs = await store_photos(session, env.settings, files, uploader)
                data = replace(data, photos=tuple(refs))
            svc, access = CaseService(session, env), CaseAccess.of(principal)
            tree = await env.tree.current()
            case = await svc.act(access, Actor.of(principal), case_id, action, data, tree)
            visible, events = access.allows(case), list(svc.events)
    except ProblemError as exc:
        return Outcome(problem_text(exc))
    except StaleDataError:
        return Outcome("案件已被他人更新，请刷新后重试")
    except CalendarError:
        return Outcome("工作日历缺少所需年份，请联系管理员")
    await publish_all(env.bus, events)
    return Outcome(None, visible)

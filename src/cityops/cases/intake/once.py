"""The one way to open a case: once per source key, a racing duplicate recognised, events kept.

The HTTP API, every source adapter, the portal's forms and the bus all open cases here, so the
rule lives in one place: try; if another request inserted the same (source, source key)
between our check and our insert, roll back and recognise its case instead. The caller
publishes `Opened.events` once its transaction has committed (`publish_after_response`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from fastapi import BackgroundTasks
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.cases.access import Actor, CaseAccess
from cityops.cases.flow.env import CaseEnv
from cityops.cases.flow.service import CaseService
from cityops.cases.intake.opening import Intake, NewCase, existing_case, intake
from cityops.kit.bus import publish_all
from cityops.kit.errors import Conflict
from cityops.kit.events import Event
from cityops.org.tree import OrgTree

T = TypeVar("T")
#: Open (or recognise) in a fresh service; `Recognise` finds what a racing request opened.
Attempt = Callable[[CaseService], Awaitable[T]]
Recognise = Callable[[CaseService], Awaitable[T | None]]


@dataclass(slots=True)
class Opened(Generic[T]):
    """What was opened or recognised, and the service that did it (its events, its repository)."""

    svc: CaseService
    result: T
    tree: OrgTree | None = None  # the org tree it was placed on, for the reply's names

    @property
    def events(self) -> list[Event]:
        """The domain events to publish after commit."""
        return list(self.svc.events)


async def open_once(
    session: AsyncSession,
    env: CaseEnv,
    attempt: Attempt[T],
    recognise: Recognise[T],
    what: str = "the report",
) -> Opened[T]:
    """Run `attempt`; on a duplicate insert, roll back and return what `recognise` finds."""
    svc = CaseService(session, env)
    try:
        return Opened(svc, await attempt(svc))
    except IntegrityError:
        # Another request opened the same source key between our check and our insert.
        await session.rollback()
        svc = CaseService(session, env)
        found = await recognise(svc)
        if found is None:
            raise Conflict(f"{what} could not be stored; send it again") from None
        return Opened(svc, found)


async def open_case(
    session: AsyncSession,
    env: CaseEnv,
    access: CaseAccess,
    actor: Actor,
    data: NewCase,
    recognise: Recognise[Intake] | None = None,
) -> Opened[Intake]:
    """Open a case for an actor, or return the one opened for its source key.

    `recognise`, when given, is asked first and again after a race (a source's own case that
    has left its view, say); by default a repeat is the visible case (200) or a 409.
    """
    tree, index = await env.tree.current(), await env.index.current()

    async def visible(svc: CaseService) -> Intake | None:
        return await existing_case(svc, access, data)

    async def attempt(svc: CaseService) -> Intake:
        first = await recognise(svc) if recognise is not None else None
        return first or await intake(svc, access, actor, data, tree, index)

    opened = await open_once(session, env, attempt, recognise or visible)
    opened.tree = tree
    return opened


def publish_after_response(tasks: BackgroundTasks, env: CaseEnv, opened: Opened[T]) -> None:
    """Publish the events once the response is sent, i.e. after the request's commit."""
    # Never publish a rolled-back case: background tasks run after DbSession has committed.
    tasks.add_task(publish_all, env.bus, opened.events)

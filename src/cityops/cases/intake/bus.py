"""Cases from the bus: IoT scene events, AI detections, video alarms and declared incidents.

Each event opens its case once, keyed by (source, the event's key); a repeat delivery finds the
case already open. An event the platform cannot place is logged and dropped, never retried.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial

from fastapi import FastAPI

from cityops.ai import Detection
from cityops.cases.access import Actor, CaseAccess
from cityops.cases.flow.env import CaseEnv
from cityops.cases.intake.once import open_case
from cityops.cases.intake.opening import NewCase, Source
from cityops.command import IncidentDeclared
from cityops.iot import SceneEvent
from cityops.kit.bus import Bus, publish_all
from cityops.kit.db import unit_of_work
from cityops.kit.errors import ProblemError
from cityops.kit.events import PointReport
from cityops.video import VideoAlarm

log = logging.getLogger(__name__)

#: The events that open cases, and the case source each stands for.
CONSUMED: dict[type[PointReport], Source] = {
    SceneEvent: Source.IOT,
    Detection: Source.AI,
    VideoAlarm: Source.VIDEO,
    IncidentDeclared: Source.COMMAND,
}


def new_case_from(event: PointReport) -> NewCase:
    """The report an event stands for."""
    return NewCase(
        source=CONSUMED[type(event)],
        category=event.category,
        text=event.text or event.name,
        source_key=event.key,
        lon=event.lon,
        lat=event.lat,
        crs=event.crs,
        occurred_at=event.occurred_at,
    )


async def open_from_event(env: CaseEnv, event: PointReport) -> None:
    """Open (or recognise) the case of a consumed event; one that cannot be placed is dropped."""
    data = new_case_from(event)
    actor = Actor.system(f"bus:{event.name}", env.settings.district_code)
    try:
        async with unit_of_work(env.sessions) as session:
            opened = await open_case(session, env, CaseAccess.everything(), actor, data)
    except ProblemError as exc:
        log.warning("%s %s refused: %s", event.name, data.source_key, exc.detail)
        return
    await publish_all(env.bus, opened.events)


def handler_for(app: FastAPI) -> Callable[[PointReport], Awaitable[None]]:
    """The bus handler that opens cases in this app's case environment (the manifest binds it)."""
    return partial(open_from_event, app.state.cases)


def subscribe_intake(bus: Bus, env: CaseEnv) -> None:
    """Open cases from the IoT, AI, video and command events on a bus (outside an app)."""
    for event_type in CONSUMED:
        bus.subscribe(event_type, partial(open_from_event, env))

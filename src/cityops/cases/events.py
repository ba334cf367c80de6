"""Domain events of the event flow: what cases publish, and what they consume to open cases.

Published on the bus after the transaction that caused them commits. Every payload also
carries the case's location codes (unit_code, community_code, grid_code, each may be null):

| subject | when | payload |
|---|---|---|
| `case.created` | a case was opened (not on an idempotent repeat) | id, source, source_key, category, status, loop_level, owner_code |
| `case.transitioned` | an action moved a case to another state | id, action, from, to, actor, loop_level, owner_code |
| `case.escalated` | a case moved to a higher loop (by hand or on a breach) | id, from_level, to_level, from_owner, to_owner, automatic |
| `case.due_soon` | a deadline reached its 临期 point | id, timer, due_at, owner_code |
| `case.overdue` | a deadline passed (超期) | id, timer, due_at, owner_code |

Consumed: `iot.scene_event`, `ai.detection`, `video.alarm` (payload: source_key, category,
lon, lat, text, occurred_at) each open a case idempotently by (source, source_key).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from cityops.cases.models import CaseRecord
from cityops.kit.bus import DomainEvent, InProcessBus

CASE_CREATED = "case.created"
CASE_TRANSITIONED = "case.transitioned"
CASE_ESCALATED = "case.escalated"
CASE_DUE_SOON = "case.due_soon"
CASE_OVERDUE = "case.overdue"
PUBLISHED = (CASE_CREATED, CASE_TRANSITIONED, CASE_ESCALATED, CASE_DUE_SOON, CASE_OVERDUE)

#: Subjects that open cases, and the case source each stands for.
CONSUMED: dict[str, str] = {"iot.scene_event": "iot", "ai.detection": "ai", "video.alarm": "video"}


def case_event(subject: str, case: CaseRecord, at: datetime, **payload: Any) -> DomainEvent:
    """A domain event about a case, with its id, loop level and owner."""
    body = {
        "id": case.id,
        "loop_level": case.loop_level,
        "owner_code": case.owner_code,
        # Where the case lies, so listeners (the overview) know which areas changed.
        "unit_code": case.unit_code,
        "community_code": case.community_code,
        "grid_code": case.grid_code,
    }
    body.update(payload)
    return DomainEvent(subject, body, at.isoformat())


async def publish_all(bus: InProcessBus, events: Iterable[DomainEvent]) -> None:
    """Publish events in order, after their transaction has committed."""
    for event in events:
        await bus.publish(event)

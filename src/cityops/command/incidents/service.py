"""Open, read, note, link and close incidents; every step goes into the timeline."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.command.actor import Actor
from cityops.command.flow import Action, IncidentState, Kind, decide
from cityops.command.incidents.timeline import record
from cityops.command.models import Incident, IncidentCase, Order
from cityops.kit.errors import NotFound, OutOfScope, ProblemError
from cityops.kit.scope import scoped
from cityops.kit.workcal import SHANGHAI

SOURCES = ("manual", "case", "iot", "video")
LEVEL_NAMES = {1: "Ⅰ级", 2: "Ⅱ级", 3: "Ⅲ级", 4: "Ⅳ级"}


@dataclass(frozen=True, slots=True)
class NewIncident:
    """What opening an incident takes."""

    type: str
    level: int
    title: str
    area_code: str
    commander: str = ""
    source: str = "manual"
    source_ref: str = ""
    case_id: int | None = None
    lon: float | None = None
    lat: float | None = None
    synthetic: bool = False


class Incidents:
    """Incident steps in the caller's transaction (services never commit)."""

    def __init__(self, session: AsyncSession, actor: Actor, now: datetime) -> None:
        self.session = session
        self.actor = actor
        self.now = now

    def _number(self) -> str:
        # Random, not a running count: two duty desks opening at once never collide.
        day = self.now.astimezone(SHANGHAI).strftime("%Y%m%d")
        return f"ZH{day}-{uuid.uuid4().hex[:8].upper()}"

    async def open(self, new: NewIncident) -> Incident:
        """Declare an incident in the actor's scope (403 outside it)."""
        if not self.actor.scope.allows(new.area_code):
            raise OutOfScope(new.area_code)
        if new.source not in SOURCES:
            raise ProblemError(422, "invalid", f"source is one of {', '.join(SOURCES)}")
        incident = Incident(
            number=self._number(),
            type=new.type,
            level=new.level,
            title=new.title,
            area_code=new.area_code,
            state=IncidentState.DECLARED.value,
            commander=new.commander or self.actor.name,
            source=new.source,
            source_ref=new.source_ref,
            lon=new.lon,
            lat=new.lat,
            synthetic=new.synthetic,
            opened_by=self.actor.name,
            opened_at=self.now,
        )
        self.session.add(incident)
        await self.session.flush()
        text = f"登记{LEVEL_NAMES[new.level]}{new.title}（来源：{new.source}）"
        self._log(incident, "declared", text, {"source": new.source, "ref": new.source_ref})
        if new.case_id is not None:
            await self.link_case(incident, new.case_id)
        return incident

    def _log(self, incident: Incident, kind: str, text: str, detail: dict[str, object]) -> None:
        record(
            self.session,
            incident.id,
            actor=self.actor.name,
            kind=kind,
            at=self.now,
            text=text,
            detail=dict(detail),
        )

    async def get(self, incident_id: int) -> Incident:
        """An incident the actor may see: its area in scope, or an order of it to a unit in scope."""
        incident = await self.session.get(Incident, incident_id)
        if incident is None:
            raise NotFound("incident", incident_id)
        if self.actor.scope.allows(incident.area_code):
            return incident
        ordered = exists().where(
            Order.incident_id == incident_id, self.actor.scope.clause(Order.unit_code)
        )
        if await self.session.scalar(select(ordered)):
            return incident
        raise NotFound("incident", incident_id)  # outside the scope it does not exist

    def commands(self, incident: Incident) -> bool:
        """Whether the actor commands this incident (its area is in the actor's scope)."""
        return self.actor.scope.allows(incident.area_code)

    def require_command(self, incident: Incident, action: Action) -> None:
        """Decide the move and check the actor commands the incident (403, 409)."""
        decide(Kind.INCIDENT, incident.state, action, self.actor.permissions)
        if not self.commands(incident):
            raise OutOfScope(incident.area_code)

    async def listing(self, state: str | None, limit: int, offset: int) -> list[Incident]:
        """Incidents of the actor's area or with an order to a unit in scope, newest first."""
        ordered = select(Order.incident_id).where(self.actor.scope.clause(Order.unit_code))
        stmt = select(Incident).where(
            self.actor.scope.clause(Incident.area_code) | Incident.id.in_(ordered)
        )
        if state is not None:
            stmt = stmt.where(Incident.state == state)
        stmt = stmt.order_by(Incident.id.desc()).limit(limit).offset(offset)
        return list((await self.session.scalars(stmt)).all())

    async def note(self, incident: Incident, text: str) -> None:
        """Record something said or done."""
        self.require_command(incident, Action.NOTE)
        self._log(incident, "note", text, {})

    async def link_case(self, incident: Incident, case_id: int) -> None:
        """Link a case (once); the timeline says so."""
        self.require_command(incident, Action.LINK_CASE)
        stmt = select(IncidentCase.id).where(
            IncidentCase.incident_id == incident.id, IncidentCase.case_id == case_id
        )
        if await self.session.scalar(stmt) is None:
            self.session.add(IncidentCase(incident_id=incident.id, case_id=case_id))
            self._log(incident, "case_linked", f"关联案件 {case_id}", {"case_id": case_id})

    async def cases(self, incident: Incident) -> list[int]:
        """The linked case ids."""
        stmt = select(IncidentCase.case_id).where(IncidentCase.incident_id == incident.id)
        return list((await self.session.scalars(stmt.order_by(IncidentCase.id))).all())

    async def relevel(self, incident: Incident, level: int) -> None:
        """Change the response level."""
        self.require_command(incident, Action.RELEVEL)
        before, incident.level = incident.level, level
        text = f"响应级别 {LEVEL_NAMES[before]} → {LEVEL_NAMES[level]}"
        self._log(incident, "relevel", text, {"from": before, "to": level})

    async def close(self, incident: Incident, text: str) -> None:
        """End the response; open orders are cancelled with it."""
        move = decide(Kind.INCIDENT, incident.state, Action.CLOSE, self.actor.permissions)
        if not self.commands(incident):
            raise OutOfScope(incident.area_code)
        incident.state, incident.closed_at = move.to, self.now
        self._log(incident, "closed", text or "结束响应", {})

    async def in_scope_count(self) -> int:
        """How many incidents the actor's area holds (for the overview next session)."""
        stmt = scoped(select(func.count(Incident.id)), Incident.area_code, self.actor.scope)
        return int(await self.session.scalar(stmt) or 0)

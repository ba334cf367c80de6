"""Every query of the cases module; reads of cases pass through the caller's access."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    Select,
    Table,
    bindparam,
    delete,
    func,
    insert,
    literal,
    null,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.cases.access import CaseAccess
from cityops.cases.filters import CaseFilter
from cityops.cases.models import CaseEvent, CaseExtension, CaseRecord, CaseTimer, RoutingRule
from cityops.kit.scope import DataScope, scoped
from cityops.org.models import Department

#: The routing rules' stamp: how many there are and the highest id (see cases/rule_cache.py).
RulesStamp = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Twin:
    """What the twin search reads of an open case nearby."""

    id: int
    status: str
    created_at: datetime
    at: tuple[float, float]  # lon, lat


@dataclass(frozen=True, slots=True)
class TwinSearch:
    """Where and when to look for open cases of a category: merge candidates of a new case."""

    category: str
    box: tuple[float, float, float, float]  # west, south, east, north
    window: tuple[datetime, datetime]
    statuses: tuple[str, ...]

    def params(self) -> dict[str, Any]:
        """The bound values of the search."""
        west, south, east, north = self.box
        since, until = self.window
        return {
            "category": self.category,
            "since": since,
            "until": until,
            "west": west,
            "east": east,
            "south": south,
            "north": north,
        }


@dataclass(frozen=True, slots=True)
class IntakeFacts:
    """What intake reads before it writes, in one round trip."""

    next_id: int | None  # the new case's id, drawn ahead on PostgreSQL; None elsewhere
    existing_id: int | None  # the case already opened for the source key
    rules_stamp: RulesStamp
    twins: tuple[Twin, ...]  # open visible cases nearby, when a search was asked for


class CaseRepository:
    """Reads and writes of cases, their timeline, extensions and routing rules."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(
        self, access: CaseAccess, case_id: int, *, for_update: bool = False
    ) -> CaseRecord | None:
        """One case if the access sees it; locked for the transaction when asked."""
        return await self.session.scalar(_case_by_id(access, for_update), {"case_id": case_id})

    async def intake_facts(
        self, access: CaseAccess, source: str, source_key: str | None, search: TwinSearch | None
    ) -> IntakeFacts:
        """The id for a new case, the key's case, the rules' stamp and the twins nearby.

        One statement instead of four: each round trip costs more than its query here.
        """
        drawn = self.session.get_bind().dialect.name == "postgresql"
        params = {"source": source, "source_key": source_key}
        if search is None:
            stmt = _intake_facts(drawn, None, ())
        else:
            stmt = _intake_facts(drawn, access, search.statuses)
            params |= search.params()
        rows = (await self.session.execute(stmt, params)).all()
        first = rows[0]  # the facts come with every twin, or alone (an outer join)
        return IntakeFacts(
            first.next_id,
            first.existing_id,
            (int(first.rules), int(first.highest_rule)),
            tuple(_twins(rows) if search is not None else ()),
        )

    async def rules_stamp(self) -> RulesStamp:
        """How many routing rules there are and the highest id."""
        row = (await self.session.execute(_RULES_STAMP)).one()
        return int(row[0]), int(row[1])

    async def by_source_key(self, source: str, source_key: str) -> CaseRecord | None:
        """The case already opened for a source key, wherever it is (idempotent intake)."""
        params = {"source": source, "source_key": source_key}
        return await self.session.scalar(_BY_SOURCE_KEY, params)

    async def insert_case(
        self, case: CaseRecord, with_id: Callable[[CaseRecord], None] | None = None
    ) -> None:
        """Insert a new case; `with_id` runs as soon as the case has its id.

        Sealing the reporter's contact binds it to the id. When the case comes with an id
        drawn ahead (`intake_facts` on PostgreSQL), what `with_id` sets goes out with the
        INSERT; otherwise the row is inserted, then completed by an UPDATE at the next flush.
        """
        if case.id is not None:
            if with_id is not None:
                with_id(case)
            self.session.add(case)
            await self.session.flush()
            return
        self.session.add(case)
        await self.session.flush()
        if with_id is not None:
            with_id(case)

    async def list(
        self, access: CaseAccess, where: CaseFilter, limit: int, offset: int
    ) -> tuple[Sequence[CaseRecord], int]:
        """A page of visible cases, newest first, and how many match."""
        stmt = access.apply(select(CaseRecord))
        stmt = _filtered(stmt, where)
        total = await self.session.scalar(select(func.count()).select_from(stmt.subquery()))
        page = stmt.order_by(CaseRecord.id.desc()).limit(limit).offset(offset)
        return (await self.session.scalars(page)).all(), int(total or 0)

    async def append_event(self, values: dict[str, Any]) -> int:
        """Insert a timeline entry numbered after the case's last one; its number.

        The number is computed inside the INSERT (one statement, no SELECT before it) and
        read back with RETURNING. The caller holds the case row locked (on SQLite the write
        lock of the database), and (case_id, seq) is unique: two entries never share one.
        """
        params = values | {"of_case": values["case_id"]}
        return int((await self.session.execute(_APPEND_EVENT, params)).scalar_one())

    async def timeline(self, access: CaseAccess, case_id: int) -> Sequence[CaseEvent]:
        """A visible case's timeline, oldest first."""
        stmt = access.apply(
            select(CaseEvent)
            .join(CaseRecord, CaseRecord.id == CaseEvent.case_id)
            .where(CaseEvent.case_id == case_id)
        )
        return (await self.session.scalars(stmt.order_by(CaseEvent.seq))).all()

    async def last_actor(self, case_id: int, action: str) -> tuple[int | None, str] | None:
        """Who last took this action on a case the caller already loaded: (account id, name)."""
        stmt = (
            select(CaseEvent.actor_id, CaseEvent.actor)
            .where(CaseEvent.case_id == case_id, CaseEvent.action == action)
            .order_by(CaseEvent.seq.desc())
            .limit(1)
        )
        row = (await self.session.execute(stmt)).first()
        return None if row is None else (row[0], row[1])

    async def timers_of(self, case_ids: Sequence[int]) -> dict[int, Sequence[CaseTimer]]:
        """The SLA timers of cases the caller already loaded through its access, by case id."""
        if not case_ids:
            return {}
        stmt = select(CaseTimer).where(CaseTimer.case_id.in_(list(case_ids)))
        rows = (await self.session.scalars(stmt.order_by(CaseTimer.id))).all()
        return {i: [t for t in rows if t.case_id == i] for i in case_ids}

    async def pending_extension(self, case_id: int) -> CaseExtension | None:
        """The open extension request of a case, if any."""
        stmt = select(CaseExtension).where(
            CaseExtension.case_id == case_id, CaseExtension.state == "pending"
        )
        return await self.session.scalar(stmt)

    async def department(self, department_id: int) -> Department | None:
        """One department by id (the caller checks it belongs to the case's owner chain)."""
        return await self.session.get(Department, department_id)

    async def departments(self, ids: Sequence[int]) -> dict[int, Department]:
        """Departments by id (for showing where cases went)."""
        if not ids:
            return {}
        rows = await self.session.scalars(select(Department).where(Department.id.in_(list(ids))))
        return {d.id: d for d in rows.all()}

    async def department_by_key(self, org_code: str, key: str) -> Department | None:
        """The department with a key owned by a unit."""
        stmt = scoped(
            select(Department).where(Department.org_code == org_code, Department.key == key),
            Department.org_code,
            DataScope.of([org_code]),
        )
        return await self.session.scalar(stmt)

    async def rules(self, scope: DataScope) -> Sequence[RoutingRule]:
        """Routing rules inside a scope, oldest first."""
        return (await self.session.scalars(_rules(scope))).all()

    async def rule(self, scope: DataScope, rule_id: int) -> RoutingRule | None:
        """One routing rule inside a scope."""
        stmt = scoped(
            select(RoutingRule).where(RoutingRule.id == rule_id), RoutingRule.owner_code, scope
        )
        return await self.session.scalar(stmt)

    async def delete_rule(self, rule: RoutingRule) -> None:
        """Remove a routing rule."""
        await self.session.execute(delete(RoutingRule).where(RoutingRule.id == rule.id))


@lru_cache(maxsize=4096)
def _case_by_id(access: CaseAccess, for_update: bool) -> Select[CaseRecord]:
    """The scoped SELECT of one case by id for an access, built once per access and lock.

    Every action loads its case this way; building the statement (with the scope's clause)
    cost more than executing it, so it is kept, with the id as a bound parameter.
    """
    stmt = access.apply(select(CaseRecord).where(CaseRecord.id == bindparam("case_id")))
    if for_update:
        stmt = stmt.with_for_update()
    return stmt.execution_options(populate_existing=True)


#: How many routing rules there are and the highest id: rules are added and removed, never
#: changed, and ids only grow, so the pair moves with every edit.
_RULES_STAMP = select(
    func.count(RoutingRule.id).label("rules"),
    func.coalesce(func.max(RoutingRule.id), 0).label("highest_rule"),
)


def _twins(rows: Sequence[Any]) -> Iterator[Twin]:
    # Twin columns are NULL on the one row of a search that found nothing; the box's BETWEENs
    # leave out cases without a location.
    for r in rows:
        if r.twin_id is not None:
            yield Twin(r.twin_id, r.twin_status, r.twin_created_at, (r.twin_lon, r.twin_lat))


@lru_cache(maxsize=4096)
def _intake_facts(
    draw_id: bool, access: CaseAccess | None, statuses: tuple[str, ...]
) -> Select[*tuple[Any, ...]]:
    """Next case id (PostgreSQL's sequence), the key's case, the rules' stamp; and the twins.

    The facts are one row; the twin search of an access (when given) is outer-joined to it.
    PostgreSQL does not flatten a subquery that calls a volatile function (nextval), so the
    id is drawn once however many twins come back.
    """
    next_id = func.nextval(func.pg_get_serial_sequence("case_record", "id")) if draw_id else null()
    existing = (
        select(CaseRecord.id)
        .where(
            CaseRecord.source == bindparam("source"),
            CaseRecord.source_key == bindparam("source_key"),
        )
        .scalar_subquery()
    )
    stamp = _RULES_STAMP.subquery()
    facts = select(
        next_id.label("next_id"),
        existing.label("existing_id"),
        stamp.c.rules,
        stamp.c.highest_rule,
    ).subquery("facts")
    if access is None:
        return select(*facts.c)
    twins = _near(access, statuses).subquery("twins")
    return select(
        *facts.c,
        twins.c.id.label("twin_id"),
        twins.c.status.label("twin_status"),
        twins.c.created_at.label("twin_created_at"),
        twins.c.lon.label("twin_lon"),
        twins.c.lat.label("twin_lat"),
    ).select_from(facts.outerjoin(twins, true()))


#: The intake's idempotence check, wherever the case lies (a repeat from another scope is a 409).
_BY_SOURCE_KEY = CaseAccess.everything().apply(
    select(CaseRecord).where(
        CaseRecord.source == bindparam("source"), CaseRecord.source_key == bindparam("source_key")
    )
)


def _near(
    access: CaseAccess, statuses: tuple[str, ...]
) -> Select[int, str, datetime, float | None, float | None]:
    """The twin search of an access: open cases of a category in a box and a time window."""
    twin = (CaseRecord.id, CaseRecord.status, CaseRecord.created_at, CaseRecord.lon, CaseRecord.lat)
    stmt = access.apply(
        select(*twin).where(
            CaseRecord.category == bindparam("category"),
            # One parameter per status, compiled once: an expanding IN is re-rendered per call.
            CaseRecord.status.in_([literal(status) for status in statuses]),
            CaseRecord.created_at.between(bindparam("since"), bindparam("until")),
            CaseRecord.lon.between(bindparam("west"), bindparam("east")),
            CaseRecord.lat.between(bindparam("south"), bindparam("north")),
        )
    )
    return stmt.order_by(CaseRecord.id).limit(50)


@lru_cache(maxsize=1024)
def _rules(scope: DataScope) -> Select[RoutingRule]:
    """The routing rules of a scope, oldest first, built once per scope."""
    return scoped(select(RoutingRule), RoutingRule.owner_code, scope).order_by(RoutingRule.id)


#: The INSERT of a timeline entry, built once: constructing it per call cost more than running
#: it. `of_case` names the case whose last number the subquery reads.
_APPEND_EVENT = (
    insert(cast(Table, CaseEvent.__table__))
    .values(
        seq=select(func.coalesce(func.max(CaseEvent.seq), 0) + 1)
        .where(CaseEvent.case_id == bindparam("of_case"))
        .scalar_subquery()
    )
    .returning(CaseEvent.seq)
)


def _filtered(stmt: Select[CaseRecord], where: CaseFilter) -> Select[CaseRecord]:
    """Apply the list filters; the unit prefix goes through the scope helper too."""
    if where.statuses:
        stmt = stmt.where(CaseRecord.status.in_(list(where.statuses)))
    if where.source:
        stmt = stmt.where(CaseRecord.source == where.source)
    if where.category:
        stmt = stmt.where(CaseRecord.category == where.category)
    if where.loop_level:
        stmt = stmt.where(CaseRecord.loop_level == where.loop_level)
    if where.unit:
        stmt = scoped(stmt, CaseRecord.owner_code, DataScope.of([where.unit]))
    if where.overdue is not None:
        stmt = stmt.where(CaseRecord.overdue.is_(where.overdue))
    if where.supervised is not None:
        has = CaseRecord.supervision.is_not(None)
        stmt = stmt.where(has if where.supervised else CaseRecord.supervision.is_(None))
    if where.created_since is not None:
        stmt = stmt.where(CaseRecord.created_at >= where.created_since)
    if where.created_until is not None:
        stmt = stmt.where(CaseRecord.created_at < where.created_until)
    return stmt

"""Event-flow endpoints beside the cases: KPIs, the category catalogue and routing rules."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from cityops.auth import audit
from cityops.cases.access import CaseAccess
from cityops.cases.catalog.codes import all_categories, category_code, find_category
from cityops.cases.catalog.shipped import Kind, LoopLevel, UnknownCategoryError, department_keys
from cityops.cases.errors import invalid, invalid_query
from cityops.cases.http.deps import Env, Reader, RuleEditor, aware
from cityops.cases.http.schemas import CategoryRead, KpiRead, RoutingRuleCreate, RoutingRuleRead
from cityops.cases.http.views import category_read
from cityops.cases.kpi import KpiQuery, compute
from cityops.cases.models import RoutingRule
from cityops.cases.repository import CaseRepository
from cityops.kit.errors import NotFound, OutOfScope
from cityops.kit.web import MAX_INT, ClientIp, DbSession, Instant
from cityops.org.schemas import CODE_PATTERN

admin_router = APIRouter()
RuleId = Annotated[int, Path(ge=1, le=MAX_INT)]


@admin_router.get("/kpi", response_model=KpiRead, summary="Event-flow KPIs")
async def get_kpi(
    principal: Reader,
    env: Env,
    session: DbSession,
    since: Instant | None = None,
    until: Instant | None = None,
    unit: Annotated[str | None, Query(pattern=CODE_PATTERN)] = None,
    loop_level: LoopLevel | None = None,
) -> KpiRead:
    """立案数, 应结案数, 结案数 and rates for a unit prefix, loop and period (default: 30 days)."""
    end = aware(until, "until") or env.now()
    start = aware(since, "since") or end - timedelta(days=30)
    if start >= end:
        raise invalid_query("since", "since must be before until")
    query = KpiQuery(start, end, unit, loop_level.value if loop_level else None)
    kpi = await compute(session, CaseAccess.of(principal), query)
    return KpiRead(
        since=start,
        until=end,
        unit=unit,
        loop_level=query.loop_level,
        registered=kpi.registered,
        due=kpi.due,
        closed=kpi.closed,
        close_rate=kpi.close_rate,
        on_time_rate=kpi.on_time_rate,
        rework_rate=kpi.rework_rate,
        return_rate=kpi.return_rate,
        avg_handling_hours=kpi.avg_handling_hours,
        avg_satisfaction=kpi.avg_satisfaction,
        evaluated=kpi.evaluated,
        closed_by_loop=kpi.closed_by_loop,
    )


@admin_router.get("/categories", response_model=list[CategoryRead], summary="Case categories")
async def list_categories(principal: Reader, kind: Kind | None = None) -> list[CategoryRead]:
    """The catalogue cases are opened with (`code` is what POST /cases takes)."""
    return [category_read(c) for c in all_categories() if kind is None or c.kind is kind]


@admin_router.get("/routing-rules", response_model=list[RoutingRuleRead], summary="Rules")
async def list_rules(principal: RuleEditor, session: DbSession) -> list[RoutingRuleRead]:
    """Routing overrides inside your scope."""
    rules = await CaseRepository(session).rules(principal.scope)
    return [RoutingRuleRead.model_validate(r) for r in rules]


def _checked_rule(body: RoutingRuleCreate) -> str | None:
    """Validate a new rule; return its category code."""
    if body.category is None and body.unit_prefix is None:
        raise invalid("category", "a rule matches a category, a unit prefix or both")
    if body.department_key is None and body.loop_level is None and body.escalate_on_breach is None:
        raise invalid(
            "department_key", "a rule sets department_key, loop_level or escalate_on_breach"
        )
    if body.department_key is not None and body.department_key not in department_keys():
        known = ", ".join(sorted(department_keys()))
        raise invalid("department_key", f"unknown department {body.department_key!r} ({known})")
    if body.category is None:
        return None
    try:
        return category_code(find_category(body.category))
    except UnknownCategoryError as exc:
        raise invalid("category", str(exc), "category") from exc


@admin_router.post(
    "/routing-rules", response_model=RoutingRuleRead, status_code=201, summary="Add a rule"
)
async def create_rule(
    body: RoutingRuleCreate, principal: RuleEditor, env: Env, session: DbSession, ip: ClientIp
) -> RoutingRuleRead:
    """Add a routing override; the most specific matching rule wins."""
    code = _checked_rule(body)
    tree = await env.tree.current()
    if body.unit_prefix is not None and tree.get(body.unit_prefix) is None:
        raise invalid("unit_prefix", f"org unit {body.unit_prefix} does not exist")
    owner = body.unit_prefix or principal.org_code
    if not principal.scope.allows(owner):
        raise OutOfScope(owner)
    rule = RoutingRule(
        owner_code=owner,
        category=code,
        unit_prefix=body.unit_prefix,
        department_key=body.department_key,
        loop_level=body.loop_level.value if body.loop_level else None,
        escalate_on_breach=body.escalate_on_breach,
        note=body.note,
        created_by=principal.username,
        created_at=env.now(),
    )
    session.add(rule)
    await session.flush()
    await audit.record(
        session,
        action="case.rule_create",
        result="success",
        actor=principal,
        target=f"routing_rule:{rule.id}",
        client_ip=ip,
        detail=body.model_dump(mode="json"),
    )
    return RoutingRuleRead.model_validate(rule)


@admin_router.delete("/routing-rules/{rule_id}", status_code=204, summary="Remove a rule")
async def delete_rule(
    rule_id: RuleId, principal: RuleEditor, session: DbSession, ip: ClientIp
) -> Response:
    """Remove a routing override; cases already routed keep their route."""
    repo = CaseRepository(session)
    rule = await repo.rule(principal.scope, rule_id)
    if rule is None:
        raise NotFound("routing rule", rule_id)
    await repo.delete_rule(rule)
    await audit.record(
        session,
        action="case.rule_delete",
        result="success",
        actor=principal,
        target=f"routing_rule:{rule_id}",
        client_ip=ip,
    )
    return Response(status_code=204)

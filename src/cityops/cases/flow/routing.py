"""Routing: where a case lies, which loop owns it, which department should handle it.

The location gives the divisions (unit, community, grid, multi-grid unit); the category gives
the lowest loop level that may close the case and the default department key; editable
`routing_rule` rows override either, and set whether a breach escalates. The starting loop is
the higher of the category's (or rule's) level and the lowest level the location allows; the
owner is the community (small loop), its multi-grid unit (medium), the town (large) or the
district.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from cityops.cases import glossary
from cityops.cases.catalog.codes import category_code
from cityops.cases.catalog.shipped import Category, LoopLevel
from cityops.cases.models import RoutingRule
from cityops.geo.lookup import DivisionIndex
from cityops.org.models import COMMUNITY_LEVELS, TOWN_LEVELS, OrgLevel
from cityops.org.tree import OrgTree

#: The four closed loops (四闭环), lowest first.
LOOP_ORDER: tuple[LoopLevel, ...] = (
    LoopLevel.COMMUNITY,
    LoopLevel.MULTIGRID,
    LoopLevel.TOWN,
    LoopLevel.DISTRICT,
)
LOOP_LABELS: dict[LoopLevel, str] = {v: glossary.LOOP_LABELS[v.value] for v in LoopLevel}


class LocationError(ValueError):
    """A location or unit that cannot place a case in the district; the message says why."""


@dataclass(frozen=True, slots=True)
class Divisions:
    """The divisions a case lies in; None where unknown."""

    district_code: str
    unit_code: str | None = None
    community_code: str | None = None
    grid_code: str | None = None
    multigrid_code: str | None = None

    def codes(self) -> list[str]:
        """The known codes, finest first."""
        found = [self.grid_code, self.community_code, self.multigrid_code, self.unit_code]
        return [c for c in found if c] + [self.district_code]

    def owner_at(self, level: LoopLevel) -> str | None:
        """The org code that owns a case at a loop level, None when the location has none."""
        if level == LoopLevel.COMMUNITY:
            return self.community_code
        if level == LoopLevel.MULTIGRID:
            return self.multigrid_code
        if level == LoopLevel.TOWN:
            return self.unit_code
        if level == LoopLevel.DISTRICT:
            return self.district_code
        raise KeyError(level)

    def lowest_level(self) -> LoopLevel:
        """The lowest loop the location allows."""
        return next(level for level in LOOP_ORDER if self.owner_at(level))

    def department_owner(self, level: LoopLevel) -> str | None:
        """The unit whose departments (职能部门) handle a case at a loop: town or district."""
        if level is LoopLevel.TOWN:
            return self.unit_code
        if level is LoopLevel.DISTRICT:
            return self.district_code
        return None


_RANK = {level: rank for rank, level in enumerate(LOOP_ORDER)}


def level_rank(level: LoopLevel | str) -> int:
    """The position of a loop level, community 0 … district 3."""
    return _RANK[LoopLevel(level)]


def raise_to(level: LoopLevel, divisions: Divisions) -> LoopLevel:
    """The first loop at or above `level` that the location has an owner for."""
    for candidate in LOOP_ORDER[level_rank(level) :]:
        if divisions.owner_at(candidate):
            return candidate
    return LoopLevel.DISTRICT


def next_level(level: LoopLevel | str, divisions: Divisions) -> LoopLevel | None:
    """The loop above (skipping a missing multi-grid unit); None at the district."""
    rank = level_rank(level)
    if rank + 1 >= len(LOOP_ORDER):
        return None
    return raise_to(LOOP_ORDER[rank + 1], divisions)


def divisions_at_point(index: DivisionIndex, lon: float, lat: float, district: str) -> Divisions:
    """Place a WGS84/CGCS2000 point, or raise LocationError outside the district."""
    place = index.codes_one(lon, lat)
    if not place.inside_district:
        raise LocationError(f"location ({lon:.6f}, {lat:.6f}) lies outside district {district}")
    return Divisions(
        district_code=place.district or district,
        unit_code=place.unit,
        community_code=place.community,
        grid_code=place.grid,
        multigrid_code=place.multigrid,
    )


def divisions_of_code(tree: OrgTree, code: str, district: str) -> Divisions:
    """The divisions of an org unit given instead of a point (a hotline order without one)."""
    node = tree.get(code)
    if node is None:
        raise LocationError(f"org unit {code} does not exist")
    if not code.startswith(district):
        raise LocationError(f"org unit {code} lies outside district {district}")
    found = Divisions(district_code=district)
    while node is not None and node.level != OrgLevel.DISTRICT:
        if node.level == OrgLevel.GRID:
            found = replace(found, grid_code=node.code)
        elif node.level in COMMUNITY_LEVELS:
            found = replace(found, community_code=node.code, multigrid_code=node.multigrid_code)
        elif node.level == OrgLevel.MULTIGRID:
            found = replace(found, multigrid_code=node.code)
        elif node.level in TOWN_LEVELS:
            found = replace(found, unit_code=node.code)
        node = tree.get(node.parent_code) if node.parent_code else None
    return found


@dataclass(frozen=True, slots=True)
class Rule:
    """A routing rule as routing reads it: a snapshot of a `routing_rule` row."""

    id: int
    category: str | None = None
    unit_prefix: str | None = None
    department_key: str | None = None
    loop_level: str | None = None
    escalate_on_breach: bool | None = None

    @classmethod
    def of(cls, row: RoutingRule) -> Rule:
        """The snapshot of a row."""
        return cls(
            id=row.id,
            category=row.category,
            unit_prefix=row.unit_prefix,
            department_key=row.department_key,
            loop_level=row.loop_level,
            escalate_on_breach=row.escalate_on_breach,
        )


def default_escalation(level: LoopLevel) -> bool:
    """Without a rule, a breach escalates the small and medium loops only."""
    return level in (LoopLevel.COMMUNITY, LoopLevel.MULTIGRID)


def rule_matches(rule: Rule, code: str, divisions: Divisions) -> bool:
    """Whether a rule applies to a case of this category at this place."""
    if rule.category is not None and rule.category != code:
        return False
    prefix = rule.unit_prefix
    return prefix is None or any(c.startswith(prefix) for c in divisions.codes())


def _specificity(rule: Rule) -> tuple[int, int, int]:
    return (1 if rule.category else 0, len(rule.unit_prefix or ""), rule.id)


def matching_rules(rules: Iterable[Rule], code: str, divisions: Divisions) -> list[Rule]:
    """The rules that apply, most specific first (category beats place, longer prefix wins)."""
    hits = [r for r in rules if rule_matches(r, code, divisions)]
    return sorted(hits, key=_specificity, reverse=True)


@dataclass(frozen=True, slots=True)
class Route:
    """Where a new or re-routed case goes."""

    divisions: Divisions
    loop_level: LoopLevel
    owner_code: str
    department_key: str | None
    escalate_on_breach: bool
    rule_ids: tuple[int, ...]


def route(category: Category, divisions: Divisions, rules: Sequence[Rule]) -> Route:
    """Route a case: loop level, owner, default department and breach policy."""
    applied = matching_rules(rules, category_code(category), divisions)
    level_rule = next((r for r in applied if r.loop_level), None)
    dept_rule = next((r for r in applied if r.department_key), None)
    wanted = LoopLevel(level_rule.loop_level) if level_rule and level_rule.loop_level else None
    wanted = wanted or category.loop_level
    floor = divisions.lowest_level()
    level = raise_to(max(wanted, floor, key=level_rank), divisions)
    owner = divisions.owner_at(level) or divisions.district_code
    used = {r.id for r in (level_rule, dept_rule) if r is not None}
    return Route(
        divisions=divisions,
        loop_level=level,
        owner_code=owner,
        department_key=dept_rule.department_key if dept_rule else category.department,
        escalate_on_breach=escalation_policy(applied, level),
        rule_ids=tuple(sorted(used)),
    )


def escalation_policy(applied: Sequence[Rule], level: LoopLevel) -> bool:
    """Whether a breach at this loop escalates: the most specific rule that says, else default."""
    rule = next((r for r in applied if r.escalate_on_breach is not None), None)
    return bool(rule.escalate_on_breach) if rule else default_escalation(level)

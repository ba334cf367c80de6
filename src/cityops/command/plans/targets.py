"""Resolve a plan step's target to org units, relative to the incident's area (pure)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cityops.command.plans.schema import StepSpec, Target
from cityops.org.models import COMMUNITY_LEVELS, TOWN_LEVELS


@dataclass(frozen=True, slots=True)
class Unit:
    """What resolution reads of an org unit."""

    code: str
    level: str
    parent_code: str | None


Lookup = Callable[[str], Unit | None]
Children = Callable[[str], Sequence[str]]


def town_of(area: str, get: Lookup) -> str | None:
    """The town (街镇) the area lies in, the area itself when it is one."""
    node = get(area)
    while node is not None:
        if node.level in TOWN_LEVELS:
            return node.code
        node = get(node.parent_code) if node.parent_code else None
    return None


def communities_of(area: str, get: Lookup, children: Children) -> list[str]:
    """The communities (居村) of the area: itself if it is one, else the town's communities."""
    node = get(area)
    if node is None:
        return []
    if node.level in COMMUNITY_LEVELS:
        return [node.code]
    town = town_of(area, get)
    if town is None:
        return []
    return [c for c in children(town) if (n := get(c)) is not None and n.level in COMMUNITY_LEVELS]


def resolve(step: StepSpec, area: str, district: str, get: Lookup, children: Children) -> list[str]:
    """The org codes that receive this step's order for an incident in `area`."""
    if step.target is Target.DISTRICT:
        return [district]
    if step.target is Target.UNIT:
        return [step.unit_code] if step.unit_code and get(step.unit_code) else []
    if step.target is Target.AREA_TOWN:
        town = town_of(area, get)
        return [town] if town else []
    return communities_of(area, get, children)

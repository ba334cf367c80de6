"""What the portal pages show, computed from the in-memory org tree and the caller's scope."""

from __future__ import annotations

from dataclasses import dataclass

from cityops.kit.scope import DataScope
from cityops.org.models import COMMUNITY_LEVELS, TOWN_LEVELS, OrgLevel
from cityops.org.schemas import LEVEL_LABELS
from cityops.org.tree import OrgNode, OrgTree, count_units

#: Levels of the tree proper; multi-grid units are an overlay listed on their own.
TREE_LEVELS: tuple[str, ...] = tuple(lv.value for lv in OrgLevel if lv is not OrgLevel.MULTIGRID)
SYNTHETIC_LABEL = "合成数据（非官方）"
IMPORTED_LABEL = "导入数据"

#: What a unit's children are called on its page.
CHILD_NOUNS: dict[str, str] = {
    OrgLevel.DISTRICT: "街镇及功能区",
    OrgLevel.STREET: "居村委会",
    OrgLevel.TOWN: "居村委会",
    OrgLevel.TOWNSHIP: "居村委会",
    OrgLevel.ZONE: "居村委会",
    OrgLevel.RESIDENTS_COMMITTEE: "网格",
    OrgLevel.VILLAGE_COMMITTEE: "网格",
    OrgLevel.VIRTUAL_COMMUNITY: "网格",
    OrgLevel.MULTIGRID: "包含的居村委会",
}

#: What the count column of a unit's children means, by the unit's level (None: no column).
COUNT_LABELS: dict[str, str | None] = {
    OrgLevel.DISTRICT: "居村数",
    **{lv.value: "网格数" for lv in TOWN_LEVELS},
    **{lv.value: None for lv in COMMUNITY_LEVELS},
    OrgLevel.MULTIGRID: "网格数",
    OrgLevel.GRID: None,
}


@dataclass(frozen=True, slots=True)
class Link:
    """A named link to a unit page."""

    code: str
    name: str
    href: str
    synthetic: bool = False


@dataclass(frozen=True, slots=True)
class UnitRow:
    """One unit as a table row."""

    code: str
    name: str
    level: str
    level_label: str
    href: str
    children: int
    in_guideline_18: bool
    synthetic: bool
    source: str
    multigrid: Link | None


@dataclass(frozen=True, slots=True)
class Stat:
    """A headline count of units in the caller's scope."""

    label: str
    value: int
    synthetic: bool


def level_label(level: str) -> str:
    """The Chinese name of a level."""
    return LEVEL_LABELS.get(level, level)


def source_label(node: OrgNode) -> str:
    """Where a unit comes from: the NBS release, an import, or the synthetic generator."""
    if node.synthetic:
        return SYNTHETIC_LABEL
    if node.division_year is not None:
        return f"NBS {node.division_year} 统计用区划代码"
    return IMPORTED_LABEL


def visible(tree: OrgTree, scope: DataScope, code: str) -> bool:
    """Whether a unit may be shown: inside the scope or an ancestor on the way to it."""
    return tree.get(code) is not None and (scope.allows(code) or scope.covers_ancestor(code))


def link(node: OrgNode) -> Link:
    """A link to a unit's page."""
    return Link(node.code, node.name, f"/org/{node.code}", node.synthetic)


def unit_row(tree: OrgTree, scope: DataScope, node: OrgNode) -> UnitRow:
    """A table row of a unit, counting only the children the caller may see."""
    if node.level == OrgLevel.MULTIGRID:
        count = len(multigrid_members(tree, scope, node))
    else:
        count = len(tree.children(node.code, scope, levels=TREE_LEVELS))
    multigrid = tree.get(node.multigrid_code) if node.multigrid_code else None
    return UnitRow(
        code=node.code,
        name=node.name,
        level=node.level,
        level_label=level_label(node.level),
        href=f"/org/{node.code}",
        children=count,
        in_guideline_18=node.in_guideline_18,
        synthetic=node.synthetic,
        source=source_label(node),
        multigrid=link(multigrid)
        if multigrid is not None and visible(tree, scope, multigrid.code)
        else None,
    )


def child_rows(tree: OrgTree, scope: DataScope, code: str) -> list[UnitRow]:
    """The visible tree children of a unit as rows."""
    return [unit_row(tree, scope, n) for n in tree.children(code, scope, levels=TREE_LEVELS)]


def multigrid_rows(tree: OrgTree, scope: DataScope, code: str) -> list[UnitRow]:
    """The visible 多格合一 units of a town as rows."""
    overlay = tree.children(code, scope, levels=[OrgLevel.MULTIGRID.value])
    return [unit_row(tree, scope, n) for n in overlay]


def multigrid_members(tree: OrgTree, scope: DataScope, node: OrgNode) -> list[OrgNode]:
    """The visible communities grouped into a multi-grid unit."""
    if node.parent_code is None:
        return []
    siblings = tree.children(node.parent_code, scope, levels=TREE_LEVELS)
    return [n for n in siblings if n.multigrid_code == node.code]


def breadcrumb(tree: OrgTree, node: OrgNode) -> list[Link]:
    """The path from the district down to the unit, the unit included."""
    return [link(n) for n in [*tree.path(node.code), node]]


def scope_stats(tree: OrgTree, scope: DataScope) -> list[Stat]:
    """Headline counts of the units inside the caller's scope."""
    n = count_units(node for code, node in tree.nodes.items() if scope.allows(code))
    return [
        Stat("街镇及功能区", n.towns, False),
        Stat("居村委会", n.communities, False),
        Stat("多格合一综合网格", n.multigrids, n.synthetic_multigrids),
        Stat("网格", n.grids, n.synthetic_grids),
    ]

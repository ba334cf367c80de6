"""Parts built from reference data: area overview (区域概况), population (人口), economy (经济发展)."""

from __future__ import annotations

from typing import Any

from cityops.org.tree import count_units
from cityops.overview.context import CHILD_TITLES, PartContext
from cityops.overview.labels import PART_TITLES, PartKey
from cityops.overview.schemas import FigureRead, Part, PartStatus, SourceRead
from cityops.overview.stats import Figure

SYNTHETIC_NOTE = "网格和多格合一综合网格为系统生成的合成数据（非官方），仅供演示和联调。"


def _part(ctx: PartContext, key: PartKey, status: PartStatus, note: str, **kw: Any) -> Part:
    return Part(
        key=key.value,
        title=PART_TITLES[key],
        status=status,
        note=note,
        computed_at=ctx.now,
        **kw,
    )


def figure_read(figure: Figure) -> FigureRead:
    """A published figure with its source, for the API."""
    s = figure.source
    return FigureRead(
        key=figure.key,
        label=figure.label,
        year=figure.year,
        value=figure.value,
        unit=figure.unit,
        source=SourceRead(publisher=s.publisher, title=s.title, year=s.year, url=s.url, via=s.via),
        note=figure.note,
    )


def _counts(ctx: PartContext) -> tuple[list[dict[str, Any]], bool]:
    """Units under the area inside the caller's scope, by kind (one pass over the tree)."""
    prefix = ctx.node.code
    n = count_units(
        node
        for code, node in ctx.tree.nodes.items()
        if code != prefix and code.startswith(prefix) and ctx.scope.allows(code)
    )
    towns, communities, multigrids, grids = n.towns, n.communities, n.multigrids, n.grids
    synthetic = n.synthetic_grids or n.synthetic_multigrids
    rows = [
        {"key": "towns", "label": "街镇及功能区", "value": towns, "synthetic": False},
        {"key": "communities", "label": "居村委会", "value": communities, "synthetic": False},
        {"key": "multigrids", "label": "多格合一综合网格", "value": multigrids, "synthetic": True},
        {"key": "grids", "label": "网格", "value": grids, "synthetic": True},
    ]
    shown = {"district": rows, "town": rows[1:], "community": rows[3:], "grid": []}[ctx.kind]
    for row in shown:
        row["synthetic"] = row["synthetic"] and synthetic
    return shown, synthetic


def area_part(ctx: PartContext) -> Part:
    """区域概况: the unit, its place in the tree, what lies under it, its published area."""
    counts, synthetic = _counts(ctx)
    area = ctx.stats.latest(ctx.node.code, "area", "area")
    parent = ctx.tree.get(ctx.node.parent_code) if ctx.node.parent_code else None
    division_year = next((n.division_year for n in ctx.tree.path(ctx.node.code)), None)
    data: dict[str, Any] = {
        "name": ctx.node.name,
        "code": ctx.node.code,
        "level_label": ctx.ref(ctx.node).level_label,
        "parent": ctx.ref(parent).model_dump() if parent else None,
        "counts": counts,
        "area": figure_read(area).model_dump() if area else None,
        "area_missing": None if area else ctx.stats.missing("area"),
        "division_year": ctx.node.division_year or division_year,
        "children_title": CHILD_TITLES[ctx.kind],
    }
    notes = ["区划代码与名称来自国家统计局统计用区划代码。"]
    if ctx.node.synthetic:
        notes.append("本网格为系统生成的合成数据（非官方）。")
    elif synthetic:
        notes.append(SYNTHETIC_NOTE)
    status: PartStatus = "static"
    return _part(
        ctx,
        PartKey.AREA,
        status,
        "".join(notes),
        synthetic=synthetic or ctx.node.synthetic,
        data=data,
    )


def _series(figures: list[Figure], key: str) -> list[dict[str, Any]]:
    """One key's figures as a year series, oldest first."""
    picked = sorted((f for f in figures if f.key == key), key=lambda f: f.year or 0)
    return [{"year": f.year, "value": f.value} for f in picked]


def population_part(ctx: PartContext) -> Part:
    """人口: census figures where published (district), else a plain statement that none is."""
    figures = ctx.stats.of(ctx.node.code, "population")
    if not figures:
        note = ctx.stats.missing("population")
        return _part(ctx, PartKey.POPULATION, "not_available", note, data={"figures": []})
    resident = ctx.stats.latest(ctx.node.code, "population", "resident")
    urban = ctx.stats.latest(ctx.node.code, "population", "urban")
    ages = [f for f in figures if f.key.startswith("age_")]
    data = {
        "figures": [figure_read(f).model_dump() for f in figures],
        "census": _series(figures, "resident"),
        "urban_share": round(urban.value / resident.value, 4)
        if urban and resident and urban.year == resident.year
        else None,
        "ages": [{"label": f.label, "value": f.value, "year": f.year} for f in ages],
    }
    note = "第七次（2020年）与第六次（2010年）全国人口普查数据，来源见各项；街镇分项数据未找到公开来源。"
    return _part(ctx, PartKey.POPULATION, "static", note, data=data)


def economy_part(ctx: PartContext) -> Part:
    """经济发展: published district figures with their sources, else a plain statement."""
    figures = ctx.stats.of(ctx.node.code, "economy")
    if not figures:
        note = ctx.stats.missing("economy")
        return _part(ctx, PartKey.ECONOMY, "not_available", note, data={"figures": []})
    sectors = [f for f in figures if f.key in ("primary", "secondary", "tertiary")]
    data = {
        "figures": [figure_read(f).model_dump() for f in figures],
        "gdp": _series(figures, "gdp"),
        "sectors": [{"label": f.label, "value": f.value, "year": f.year} for f in sectors],
    }
    note = "公开发布的区级统计数据，年份与来源见各项；松江统计年鉴在此未能查阅，街镇经济数据未找到公开来源。"
    return _part(ctx, PartKey.ECONOMY, "static", note, data=data)

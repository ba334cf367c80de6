"""Parts computed from the platform's live case data: city operation, event flow, multi-grid, map.

Video (R4), IoT (R6) and command (R9) have not landed: their parts say so in `note` and
`missing`, and meanwhile show what the cases tell (video-sourced cases, supervision, escalations,
overdue counts).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from cityops.cases import SOURCE_LABELS, STATUS_LABELS, OpenRow, Performance
from cityops.org.models import OrgLevel
from cityops.overview.context import CHILD_TITLES, SHANGHAI, Facts, PartContext
from cityops.overview.labels import (
    LOOP_NAMES,
    LOOP_ORDER,
    LOOP_SHORT,
    PART_TITLES,
    SUPERVISION_LABELS,
    PartKey,
    category_name,
    short_name,
    source_label,
    status_label,
)
from cityops.overview.schemas import Part, PartStatus

NO_CASE_READ = "您的角色无权查看案件数据，本部分不显示。"
#: What a part still waits for, in the duty officer's words (shown as "…尚未接入"); a module
#: that lands names the same words in its `PartProvider.module`.
IOT_MISSING = "物联感知设备"
VIDEO_MISSING = "视频监控（摄像机联网）"
COMMAND_MISSING = "指挥调度系统"
#: At most this many child areas in a chart (the busiest); the table beside it lists them all.
CHART_CHILDREN = 20


def _part(ctx: PartContext, key: PartKey, status: PartStatus, note: str, **kw: Any) -> Part:
    return Part(
        key=key.value, title=PART_TITLES[key], status=status, note=note, computed_at=ctx.now, **kw
    )


def _refused(ctx: PartContext, key: PartKey, **kw: Any) -> Part:
    return _part(ctx, key, "not_available", NO_CASE_READ, **kw)


def _facts(ctx: PartContext) -> Facts:
    assert ctx.facts is not None
    return ctx.facts


#: Below this mean the tile reads 0.0 (one decimal) and says why.
HOURS_SHOWN = 0.05


async def child_rows(ctx: PartContext) -> list[dict[str, Any]]:
    """The area's children with their open, overdue and today's case counts."""
    facts = _facts(ctx)
    open_by: Counter[str | None] = Counter()
    overdue_by: Counter[str | None] = Counter()
    for row in await facts.open_rows():
        open_by[row.child] += row.count
        if row.overdue:
            overdue_by[row.child] += row.count
    today_by: Counter[str | None] = Counter()
    for t in await facts.today_rows():
        today_by[t.child] += t.count
    return [
        {
            "code": node.code,
            "name": node.name,
            "short": short_name(node.name),
            "href": ctx.ref(node).overview,
            "synthetic": node.synthetic,
            "open": open_by[node.code],
            "overdue": overdue_by[node.code],
            "today": today_by[node.code],
        }
        for node in ctx.children()
    ]


#: How the two closing figures are counted, said on the part (a "—" or a 0.0 must not puzzle).
PERFORMANCE_NOTE = (
    "按期结案率：处置期限在近 30 天内到期的案件中按期办结的比例，提前办结、尚未到期的案件到期后计入；"
    "平均处置时长按工作时间计，工作时间外的处置不计时。"
)


def rate_hint(perf: Performance) -> str | None:
    """Why the on-time rate has no value, in a few words; None when it has one."""
    if perf.due:
        return None
    return "结案均未到期" if perf.closed else "近30天无到期案件"


def hours_hint(perf: Performance) -> str | None:
    """Why the mean handling time reads (near) zero or nothing, in a few words."""
    if not perf.closed:
        return "近30天无结案"
    if (perf.avg_handling_hours or 0.0) < HOURS_SHOWN:
        return "均在工作时间外办结"
    return None


async def city_operation_part(ctx: PartContext) -> Part:
    """城市运行: live case indicators of the area and per child area."""
    if ctx.facts is None:
        return _refused(ctx, PartKey.CITY_OPERATION, missing=[IOT_MISSING])
    facts = ctx.facts
    open_rows = await facts.open_rows()
    perf = await facts.performance()
    today = sum(t.count for t in await facts.today_rows())
    rate = round(perf.due_closed_on_time / perf.due, 4) if perf.due else None
    indicators = [
        {
            "key": "open",
            "label": "在办案件",
            "value": sum(r.count for r in open_rows),
            "unit": "件",
        },
        {"key": "today_new", "label": "今日新增", "value": today, "unit": "件"},
        {
            "key": "today_closed",
            "label": "今日结案",
            "value": await facts.closed_today(),
            "unit": "件",
        },
        {
            "key": "overdue",
            "label": "超期未结",
            "value": sum(r.count for r in open_rows if r.overdue),
            "unit": "件",
        },
        {
            "key": "supervised",
            "label": "督办中",
            "value": sum(r.count for r in open_rows if r.supervision),
            "unit": "件",
        },
        {
            "key": "on_time_rate",
            "label": "按期结案率（近30天）",
            "value": rate,
            "unit": "%",
            "hint": rate_hint(perf),
        },
        {
            "key": "avg_hours",
            "label": "平均处置时长（近30天）",
            "value": perf.avg_handling_hours,
            "unit": "工作小时",
            "hint": hours_hint(perf),
        },
    ]
    children = await child_rows(ctx)
    busiest = sorted(children, key=lambda r: (-r["open"], r["code"]))[:CHART_CHILDREN]
    data = {
        "indicators": indicators,
        "children": children,
        "chart": sorted(busiest, key=lambda r: r["code"])
        if len(children) > CHART_CHILDREN
        else children,
        "children_title": CHILD_TITLES[ctx.kind],
        "closed_30d": perf.closed,
        "due_30d": perf.due,
    }
    note = (
        "实时案件指标（每次案件变化即更新）。物联感知设备尚未接入："
        "接入后此处将显示传感器在线率和感知告警。"
    )
    note += PERFORMANCE_NOTE
    return _part(ctx, PartKey.CITY_OPERATION, "live", note, missing=[IOT_MISSING], data=data)


def _loop_counts(rows: list[Any]) -> list[dict[str, Any]]:
    counts: Counter[str] = Counter()
    for row in rows:
        counts[row.loop_level] += row.count
    return [
        {"key": k, "label": LOOP_NAMES.get(k, k), "short": LOOP_SHORT.get(k, k), "value": counts[k]}
        for k in LOOP_ORDER
    ]


async def event_flow_part(ctx: PartContext) -> Part:
    """事件流转: today's cases by source, loop and status; overdue; the newest cases."""
    if ctx.facts is None:
        return _refused(ctx, PartKey.EVENT_FLOW)
    facts = ctx.facts
    today = await facts.today_rows()
    open_rows = await facts.open_rows()
    sources: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    for row in today:
        sources[row.source] += row.count
        statuses[row.status] += row.count
    recent = await facts.figures.recent(facts.today, 8)
    data = {
        "today_total": sum(sources.values()),
        "by_source": [
            {"key": k, "label": label, "value": sources[k]} for k, label in SOURCE_LABELS.items()
        ],
        "by_loop": _loop_counts(today),
        "by_status": [
            {"key": k, "label": status_label(k), "value": n} for k, n in sorted(statuses.items())
        ],
        "open_by_loop": _loop_counts(open_rows),
        "overdue_open": sum(r.count for r in open_rows if r.overdue),
        "overdue_today": sum(r.count for r in today if r.overdue),
        "recent": [
            {
                "id": c.id,
                "category": category_name(c.category),
                "source": source_label(c.source),
                "status": status_label(c.status),
                "status_key": c.status,
                "urgency": c.urgency,
                "overdue": c.overdue,
                "place": ctx.name_of(c.unit_code),
                "created_at": c.created_at.isoformat(),
                "time": c.created_at.astimezone(SHANGHAI).strftime("%H:%M"),
            }
            for c in recent
        ],
    }
    note = "今日（北京时间 0 时起）新增案件按来源、闭环层级和状态统计；超期为尚未结案且已超过处置时限的案件。"
    return _part(ctx, PartKey.EVENT_FLOW, "live", note, data=data)


def _multigrid_units(ctx: PartContext) -> list[Any]:
    """The multi-grid units of the area in scope (a community's or grid's: its own unit)."""
    node = ctx.node
    if ctx.kind in ("district", "town"):
        return [
            n
            for code, n in ctx.tree.nodes.items()
            if n.level == OrgLevel.MULTIGRID
            and code.startswith(node.code)
            and ctx.scope.allows(code)
        ]
    community = node if ctx.kind == "community" else ctx.tree.get(node.parent_code or "")
    code = community.multigrid_code if community else None
    unit = ctx.tree.get(code) if code else None
    return [unit] if unit is not None and ctx.scope.allows(unit.code) else []


async def multigrid_part(ctx: PartContext) -> Part:
    """多格合一: the comprehensive grid units of the area and their open cases."""
    units = sorted(_multigrid_units(ctx), key=lambda n: n.code)
    synthetic = any(u.synthetic for u in units)
    if ctx.facts is None:
        return _refused(ctx, PartKey.MULTIGRID, synthetic=synthetic, data={"units": len(units)})
    counted = {row.code: row for row in await ctx.facts.figures.open_by_multigrid()}
    members: Counter[str] = Counter(
        n.multigrid_code for n in ctx.tree.nodes.values() if n.multigrid_code
    )
    rows = [
        {
            "code": u.code,
            "name": u.name,
            "town": ctx.name_of(u.parent_code),
            "members": members[u.code],
            "open": counted[u.code].open if u.code in counted else 0,
            "medium_loop_open": counted[u.code].medium_loop if u.code in counted else 0,
            "synthetic": u.synthetic,
        }
        for u in units
    ]
    rows.sort(key=lambda r: (-r["open"], r["code"]))
    data = {
        "units": len(units),
        "communities": sum(r["members"] for r in rows),
        "medium_loop_open": sum(r["medium_loop_open"] for r in rows),
        "rows": rows[:12],
    }
    note = "多格合一综合网格的在办案件（位于该网格内）及中闭环在办案件。"
    if synthetic:
        note += "综合网格清单无公开来源，现为系统生成的合成数据（非官方）。"
    return _part(ctx, PartKey.MULTIGRID, "live", note, synthetic=synthetic, data=data)


async def video_part(ctx: PartContext) -> Part:
    """视频: the video hub has not landed; show today's cases opened by video alarms."""
    note = (
        "视频监控（摄像机联网，GB/T 28181-2016）尚未接入：接入后此处显示摄像机在线数、视频告警和实时画面。"
        "目前仅显示今日由视频告警生成的案件数。"
    )
    data: dict[str, Any] = {"cameras": None, "video_cases_today": None}
    if ctx.facts is not None:
        today = await ctx.facts.today_rows()
        data["video_cases_today"] = sum(r.count for r in today if r.source == "video")
    return _part(ctx, PartKey.VIDEO, "not_available", note, missing=[VIDEO_MISSING], data=data)


def _child_filter(ctx: PartContext) -> list[str] | None:
    """Which child features to draw: a town's communities, a community's grids (property, value)."""
    if ctx.kind == "town":
        return ["unit_code", ctx.node.code]
    if ctx.kind == "community":
        return ["community_code", ctx.node.code]
    if ctx.kind == "grid" and ctx.node.parent_code:
        return ["community_code", ctx.node.parent_code]
    return None


async def map_part(ctx: PartContext) -> Part:
    """地图: the platform's own tiles over the area; children clickable with their open cases."""
    child_layer = {"district": "units", "town": "communities", "community": "grids"}.get(ctx.kind)
    data: dict[str, Any] = {
        "bounds": ctx.bounds,
        "layers": ctx.layers,
        "child_layer": child_layer,
        "highlight": ctx.node.code,
        "child_filter": _child_filter(ctx),
        "highlight_layer": {
            "district": "district",
            "town": "units",
            "community": "communities",
            "grid": "grids",
        }[ctx.kind],
        "children": await child_rows(ctx)
        if ctx.facts is not None
        else [
            {"code": n.code, "name": n.name, "href": ctx.ref(n).overview, "synthetic": n.synthetic}
            for n in ctx.children()
        ],
    }
    note = "平台自有矢量瓦片（无外部地图服务）。边界为系统生成的近似范围（无公开的官方界线），点击区域可进入其总览。"
    status: PartStatus = "live" if ctx.facts is not None else "static"
    synthetic = ctx.kind in ("community", "grid")
    return _part(ctx, PartKey.MAP, status, note, synthetic=synthetic, data=data)


def _supervision(rows: list[OpenRow]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for row in rows:
        if row.supervision:
            counts[row.supervision] += row.count
    return {key: counts[key] for key in SUPERVISION_LABELS}


async def command_part(ctx: PartContext) -> Part:
    """综合指挥 (district): R9 has not landed; show supervision, escalations and overdue cases."""
    note = (
        "指挥调度系统尚未接入：预案、应急资源、多方会商与指令上传下达将在此显示。"
        "目前显示由案件数据得出的督办、升级和超期情况。"
    )
    if ctx.facts is None:
        return _refused(ctx, PartKey.COMMAND, missing=[COMMAND_MISSING])
    facts = ctx.facts
    rows = await facts.open_rows()
    children = sorted(await child_rows(ctx), key=lambda r: (-r["overdue"], r["code"]))
    data = {
        "supervision": _supervision(rows),
        "supervision_labels": SUPERVISION_LABELS,
        "escalated_today": await facts.figures.escalations_since(facts.today),
        "district_loop_open": sum(r.count for r in rows if r.loop_level == "district"),
        "overdue_open": sum(r.count for r in rows if r.overdue),
        "overdue_children": [c for c in children if c["overdue"]][:6],
    }
    return _part(ctx, PartKey.COMMAND, "live", note, missing=[COMMAND_MISSING], data=data)


async def dispatch_part(ctx: PartContext) -> Part:
    """调度 (town and below): cases waiting for dispatch, returned, dispatched today, extensions."""
    note = (
        "街镇调度：待派遣、退单和延期申请等来自案件流转。指挥调度系统尚未接入，"
        "接入后此处显示调度资源、队伍和通信。"
    )
    if ctx.facts is None:
        return _refused(ctx, PartKey.DISPATCH, missing=[COMMAND_MISSING])
    facts = ctx.facts
    rows = await facts.open_rows()
    by_status: Counter[str] = Counter()
    for row in rows:
        by_status[row.status] += row.count
    data = {
        "awaiting_dispatch": by_status["received"] + by_status["registered"],
        "returned": by_status["returned"],
        "in_hand": by_status["dispatched"] + by_status["signed"] + by_status["in_progress"],
        "dispatched_today": await facts.figures.dispatched_since(facts.today),
        "pending_extensions": await facts.figures.pending_extensions(),
        "overdue_open": sum(r.count for r in rows if r.overdue),
        "supervision": _supervision(rows),
        "supervision_labels": SUPERVISION_LABELS,
        "status_labels": {k: STATUS_LABELS[k] for k in ("received", "registered", "returned")},
    }
    return _part(ctx, PartKey.DISPATCH, "live", note, missing=[COMMAND_MISSING], data=data)

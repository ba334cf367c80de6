"""What the workbench pages show: list filters from the query, rows, marks, timeline entries."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from cityops.cases import (
    LOOP_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
    CaseEvent,
    CaseFilter,
    CaseRecord,
    CaseTimer,
    LoopLevel,
    Source,
    Status,
    category_name,
)
from cityops.kit.scope import DataScope
from cityops.kit.web import day_in_range
from cityops.kit.workcal import SHANGHAI
from cityops.media.service import sha_of
from cityops.org.models import TOWN_LEVELS
from cityops.org.schemas import CODE_PATTERN
from cityops.org.tree import OrgTree
from cityops.portal import case_texts as t

PAGE_SIZE = 20
MAX_PAGE = 10_000
_CODE = re.compile(CODE_PATTERN)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def local(value: datetime | None) -> str:
    """An instant as Shanghai wall-clock time."""
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value else ""


@dataclass
class Filters:
    """The list filters as read from the query string (bad values dropped, with a note)."""

    statuses: list[str] = field(default_factory=list)
    source: str = ""
    loop_level: str = ""
    unit: str = ""
    overdue: str = ""
    supervised: str = ""
    since: date | None = None
    until: date | None = None
    page: int = 1
    problems: list[str] = field(default_factory=list)

    def case_filter(self) -> CaseFilter:
        """The repository filter (dates are whole Shanghai days, `until` included)."""
        return CaseFilter(
            statuses=tuple(self.statuses),
            source=self.source or None,
            loop_level=self.loop_level or None,
            unit=self.unit or None,
            overdue=_flag(self.overdue),
            supervised=_flag(self.supervised),
            created_since=_day_start(self.since),
            created_until=_day_start(self.until + timedelta(days=1)) if self.until else None,
        )

    def query(self, **changes: Any) -> str:
        """The query string of these filters with some values changed (for paging links)."""
        values: dict[str, Any] = {
            "status": self.statuses,
            "source": self.source,
            "loop_level": self.loop_level,
            "unit": self.unit,
            "overdue": self.overdue,
            "supervised": self.supervised,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "page": self.page,
        }
        values.update(changes)
        pairs = [(k, v) for k, vs in values.items() for v in (vs if isinstance(vs, list) else [vs])]
        return urlencode(
            [(k, v) for k, v in pairs if v not in ("", None) and (k, v) != ("page", 1)]
        )


def _flag(value: str) -> bool | None:
    return {"1": True, "0": False}.get(value)


def _day_start(day: date | None) -> datetime | None:
    return datetime.combine(day, time(0), tzinfo=SHANGHAI) if day else None


def _shown(value: str) -> str:
    """A bad value as it may be echoed: short, control characters replaced."""
    return _CONTROL.sub("\ufffd", value[:32])


def _choice(value: str, allowed: Iterable[str], name: str, problems: list[str]) -> str:
    if value and value not in set(allowed):
        problems.append(f"已忽略无效的{name}：{_shown(value)}")
        return ""
    return value


def _date(value: str, name: str, problems: list[str]) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        day = None
    if day is None or not day_in_range(day):  # a calendar end overflows once shifted to UTC
        problems.append(f"已忽略无效的{name}：{_shown(value)}")
        return None
    return day


def parse_filters(params: QueryParams) -> Filters:
    """Read the filters; a bad value is dropped and named, never an error page."""
    problems: list[str] = []
    statuses = [s for s in params.getlist("status")[:20] if s]
    known = {s.value for s in Status}
    for bad in [s for s in statuses if s not in known]:
        problems.append(f"已忽略无效的状态：{_shown(bad)}")
    unit = params.get("unit", "")
    if unit and not _CODE.fullmatch(unit):
        problems.append(f"已忽略无效的单位代码：{_shown(unit)}")
        unit = ""
    page_text = params.get("page", "1")
    page = int(page_text) if page_text.isdigit() and 0 < int(page_text) <= MAX_PAGE else 1
    filters = Filters(
        statuses=[s for s in statuses if s in known],
        source=_choice(params.get("source", ""), (s.value for s in Source), "来源", problems),
        loop_level=_choice(
            params.get("loop_level", ""), (lv.value for lv in LoopLevel), "闭环层级", problems
        ),
        unit=unit,
        overdue=_choice(params.get("overdue", ""), ("1", "0"), "超期条件", problems),
        supervised=_choice(params.get("supervised", ""), ("1", "0"), "督办条件", problems),
        since=_date(params.get("since", ""), "起始日期", problems),
        until=_date(params.get("until", ""), "截止日期", problems),
        page=page,
        problems=problems,
    )
    return filters


@dataclass(frozen=True, slots=True)
class Mark:
    """A flag beside a case: 临期, 超期, 督办."""

    text: str
    kind: str  # warn | over | sup | paused


def timer_marks(timers: Sequence[CaseTimer], now: datetime) -> list[Mark]:
    """临期/超期 of the running deadlines (judged by the clock too: the scheduler may lag)."""
    marks: list[Mark] = []
    for timer in timers:
        name = t.label(t.TIMER_LABELS, timer.kind)
        if timer.state == "breached" or (
            timer.state in ("pending", "warned") and now >= timer.due_at
        ):
            marks.append(Mark(f"{name}超期", "over"))
        elif timer.state == "warned" or (timer.state == "pending" and now >= timer.warn_at):
            marks.append(Mark(f"{name}临期", "warn"))
    return marks


def case_marks(case: CaseRecord, timers: Sequence[CaseTimer], now: datetime) -> list[Mark]:
    """Every mark of a case: its deadlines, the overdue flag and supervision."""
    marks = timer_marks(timers, now)
    if case.overdue and not any(m.kind == "over" for m in marks):
        marks.append(Mark("超期", "over"))
    if case.supervision:
        marks.append(Mark(t.label(t.SUPERVISION_LABELS, case.supervision), "sup"))
    return marks


def place_name(case: CaseRecord, tree: OrgTree) -> str:
    """Where a case lies: town / community / grid names."""
    names = []
    for code in (case.unit_code, case.community_code, case.grid_code):
        node = tree.get(code) if code else None
        if node is not None:
            names.append(node.name)
    return " / ".join(names) or case.owner_code


@dataclass(frozen=True, slots=True)
class CaseRow:
    """One case as a list row or a phone card."""

    id: int
    category: str
    text: str
    place: str
    loop: str
    status: str
    status_label: str
    urgency: str
    urgency_label: str
    source_label: str
    created: str
    marks: list[Mark]


def case_row(
    case: CaseRecord, tree: OrgTree, timers: Sequence[CaseTimer], now: datetime
) -> CaseRow:
    """A case for a list."""
    return CaseRow(
        id=case.id,
        category=category_name(case.category),
        text=case.text if len(case.text) <= 60 else case.text[:60] + "…",
        place=place_name(case, tree),
        loop=t.label(LOOP_LABELS, case.loop_level),
        status=case.status,
        status_label=t.label(STATUS_LABELS, case.status),
        urgency=case.urgency,
        urgency_label=t.label(t.URGENCY_LABELS, case.urgency),
        source_label=t.label(SOURCE_LABELS, case.source),
        created=local(case.created_at),
        marks=case_marks(case, timers, now),
    )


@dataclass(frozen=True, slots=True)
class TimelineRow:
    """One entry of a case's timeline as shown."""

    seq: int
    at: str
    action: str
    action_label: str
    states: str
    actor: str
    actor_org: str
    comment: str
    reason: str
    notes: list[str]
    photos: list[str]


def _notes(
    detail: Mapping[str, Any],
    tree: OrgTree,
    departments: Mapping[int, str],
    names: Mapping[str, str],
) -> list[str]:
    """The parts of an entry's detail worth reading, in Chinese."""
    notes: list[str] = []
    handler = detail.get("handled_by")
    if isinstance(handler, str):
        who = names.get(handler, handler)
        independent = "独立核查" if detail.get("independent") else "办结人本人核查（本闭环允许）"
        notes.append(f"核查 {who} 的处置（{independent}）")
    department = detail.get("department_id")
    if isinstance(department, int):
        notes.append(f"承办部门：{departments.get(department, department)}")
    if "to_level" in detail:
        owner = tree.get(str(detail.get("to_owner", "")))
        where = owner.name if owner else detail.get("to_owner", "")
        notes.append(f"转至{t.label(LOOP_LABELS, str(detail['to_level']))}：{where}")
    if detail.get("automatic"):
        notes.append("系统自动")
    for key, text in (("parent_id", "并入主案件"), ("child_id", "并入的案件")):
        if key in detail:
            notes.append(f"{text} #{detail[key]}")
    if "satisfaction" in detail:
        notes.append(f"满意度：{detail['satisfaction']} 分")
    if detail.get("level") in t.SUPERVISION_LABELS:
        notes.append(f"级别：{t.SUPERVISION_LABELS[detail['level']]}")
    if detail.get("hours") or detail.get("days"):
        amount = (
            f"{detail['hours']:g} 小时" if detail.get("hours") else f"{detail['days']} 个工作日"
        )
        notes.append(f"延期：{amount}")
    if "returns" in detail:
        notes.append(f"第 {detail['returns']} 次退单")
    return notes


def timeline_rows(
    events: Sequence[CaseEvent],
    tree: OrgTree,
    departments: Mapping[int, str],
    names: Mapping[str, str] | None = None,
) -> list[TimelineRow]:
    """A case's timeline, oldest first; people by display name where `names` has one."""
    names = names or {}
    rows: list[TimelineRow] = []
    for event in events:
        before = t.label(STATUS_LABELS, event.from_status) if event.from_status else ""
        after = t.label(STATUS_LABELS, event.to_status)
        org = tree.get(event.actor_org) if event.actor_org else None
        detail = event.detail or {}
        photos = detail.get("photos", [])
        rows.append(
            TimelineRow(
                seq=event.seq,
                at=local(event.at),
                action=event.action,
                action_label=t.action_label(event.action),
                states=f"{before} → {after}" if before and before != after else after,
                actor=names.get(event.actor, event.actor),
                actor_org=org.name if org else event.actor_org,
                comment=event.comment,
                reason=event.reason,
                notes=_notes(detail, tree, departments, names),
                photos=[s for s in (sha_of(p) for p in photos if isinstance(p, str)) if s],
            )
        )
    return rows


def unit_options(tree: OrgTree, scope: DataScope, district: str) -> list[tuple[str, str]]:
    """Units to filter by: the towns in scope and, for a single town, its communities."""
    towns = [n for n in tree.children(district, scope) if n.level in TOWN_LEVELS]
    options = [(n.code, n.name) for n in towns]
    if len(towns) == 1:
        communities = tree.children(towns[0].code, scope)
        options += [(n.code, f"　{n.name}") for n in communities if n.level != "multigrid"]
    return options

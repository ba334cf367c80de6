"""Chinese words of the event workbench: labels of states and sources, and errors in Chinese.

The case service answers in English problem+json (the API's language); the portal turns each
problem into one Chinese sentence from its type, its fields and the known wording of its detail.
Anything it does not recognise is shown with the original detail in brackets, so nothing is
hidden from the user.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from cityops.cases import ACTION_LABELS, LOOP_LABELS, STATUS_LABELS
from cityops.kit.errors import ProblemError

URGENCY_LABELS: dict[str, str] = {"normal": "一般", "urgent": "紧急", "critical": "特急"}
SUPERVISION_LABELS: dict[str, str] = {"urge": "催办", "supervise": "督办", "listed": "挂牌督办"}
TIMER_LABELS: dict[str, str] = {"sign": "签收时限", "handle": "处置时限"}
TIMER_STATES: dict[str, str] = {
    "pending": "计时中",
    "warned": "临期",
    "breached": "超期",
    "done": "已完成",
    "paused": "已暂停",
}
#: Timeline entries that are not actions of the workflow table.
EVENT_LABELS: dict[str, str] = {
    "created": "创建",
    "merged_in": "并入案件",
    "due_soon": "临期提醒",
    "overdue": "超期",
    **ACTION_LABELS,
}
FIELD_LABELS: dict[str, str] = {
    "comment": "处理意见",
    "reason": "原因",
    "department_id": "承办部门",
    "department_key": "承办部门",
    "target_code": "下派单位",
    "parent_id": "主案件编号",
    "hours": "延期小时数",
    "days": "延期天数",
    "satisfaction": "满意度",
    "level": "督办级别",
    "photos": "照片",
    "file": "照片",
    "category": "问题类别",
    "location": "位置",
    "org_code": "所在居村",
    "text": "问题描述",
    "address": "地址",
    "phone": "手机号码",
    "name": "姓名",
}


def label(table: Mapping[str, str], value: str | None) -> str:
    """The Chinese label of a code, or the code itself."""
    if value is None:
        return ""
    return table.get(value, value)


def action_label(action: str) -> str:
    """The Chinese name of an action or timeline entry."""
    return EVENT_LABELS.get(action, action)


Rewrite = Callable[[re.Match[str]], str]

#: Known wordings of the case service's details, and their Chinese.
_DETAILS: list[tuple[re.Pattern[str], Rewrite]] = [
    (re.compile(r"needs a comment"), lambda m: "请填写处理意见"),
    (re.compile(r"needs a reason"), lambda m: "请填写原因"),
    (re.compile(r"merge needs the parent case id"), lambda m: "请填写要并入的主案件编号"),
    (
        re.compile(r"case (\d+) cannot be the parent of case (\d+)"),
        lambda m: f"案件 {m[1]} 不能作为案件 {m[2]} 的主案件",
    ),
    (
        re.compile(r"case (\d+) is (\w+): merge into an open case"),
        lambda m: f"案件 {m[1]} {label(STATUS_LABELS, m[2])}，只能并入未结案件",
    ),
    (re.compile(r"department (\d+) cannot take this case"), lambda m: "所选部门不能承办此案件"),
    (
        re.compile(r"a (\w+) loop case has no departments"),
        lambda m: f"{label(LOOP_LABELS, m[1])}的案件由本级人员处置，不派部门",
    ),
    (re.compile(r"(\d+) has no department"), lambda m: f"单位 {m[1]} 没有该部门"),
    (re.compile(r"assign_down needs target_code"), lambda m: "请选择下派单位"),
    (re.compile(r"org unit (\S+) does not exist"), lambda m: f"单位 {m[1]} 不存在"),
    (re.compile(r"give a town, multi-grid or community"), lambda m: "请选择街镇、综合网格或居村"),
    (re.compile(r"is not where case (\d+) lies"), lambda m: "所选单位不是案件所在地"),
    (re.compile(r"satisfaction from 1 to 5"), lambda m: "请选择 1–5 分的满意度"),
    (re.compile(r"needs hours or days"), lambda m: "请填写延期小时数或天数（二选一）"),
    (
        re.compile(r"returned (\d+) times \(limit (\d+)\)"),
        lambda m: f"该案件已退单 {m[1]} 次（上限 {m[2]} 次），请升级处理",
    ),
    (re.compile(r"extension request is already pending"), lambda m: "已有待审批的延期申请"),
    (re.compile(r"no extension request is pending"), lambda m: "没有待审批的延期申请"),
    (re.compile(r"already at the district"), lambda m: "案件已在区级闭环，不能再升级"),
    (re.compile(r"only a case at the district loop"), lambda m: "只有区级闭环的案件才能下派"),
    (re.compile(r"not under supervision"), lambda m: "案件未在督办中"),
    (re.compile(r"no deadline"), lambda m: "案件没有处置时限，不能申请延期"),
    (re.compile(r"unknown photo reference"), lambda m: "照片不存在或无权使用，请重新上传"),
    (
        re.compile(r"a photo may have at most (\d+) bytes"),
        lambda m: f"照片过大：每张不超过 {int(m[1]) / 1048576:g} MB",
    ),
    (re.compile(r"the file is empty"), lambda m: "照片文件为空"),
    (re.compile(r"outside (the )?district"), lambda m: "位置不在本区范围内"),
    (re.compile(r"give a location"), lambda m: "请允许定位、在地图上选点，或选择所在居村"),
    (re.compile(r"no category with code or name|unknown category"), lambda m: "请选择问题类别"),
    (
        re.compile(r"source key .* is already used"),
        lambda m: "该表单已提交过，请刷新页面后重新填写",
    ),
    (re.compile(r"changed meanwhile"), lambda m: "案件已被他人更新，请刷新后重试"),
    (
        re.compile(r"[Cc]alendar|no working-day data"),
        lambda m: "工作日历缺少所需年份，请联系管理员",
    ),
]
_BY_SLUG: dict[str, str] = {
    "forbidden": "您的角色无权执行此操作",
    "not-found": "案件不存在，或不在您的数据范围内",
    "out-of-scope": "所选单位不在您的数据范围内",
    "body-too-large": "提交的内容过大（照片每张不超过规定大小）",
    "unauthenticated": "登录已过期，请重新登录",
}
_IMAGE_REASONS = {
    "unsupported": "不是 JPEG、PNG 或 WebP 格式的图片",
    "corrupt": "图片已损坏或不完整",
    "too_many_pixels": "图片像素过多",
}
#: Pydantic error types and what they mean for a form field.
_PYDANTIC: dict[str, str] = {
    "missing": "必填",
    "int_parsing": "应为整数",
    "float_parsing": "应为数字",
    "greater_than": "数值过小",
    "greater_than_equal": "数值过小",
    "less_than": "数值过大",
    "less_than_equal": "数值过大",
    "string_too_long": "内容过长",
    "string_too_short": "不能为空",
    "string_pattern_mismatch": "格式不正确",
    "too_long": "数量过多",
    "finite_number": "应为有限数字",
}


def detail_text(detail: str) -> str | None:
    """The Chinese of a known service detail, or None."""
    for pattern, rewrite in _DETAILS:
        match = pattern.search(detail)
        if match:
            return rewrite(match)
    return None


def field_errors(errors: Sequence[Mapping[str, Any]]) -> list[str]:
    """One Chinese line per field error (pydantic's or the service's)."""
    lines: list[str] = []
    for err in errors:
        loc = [str(part) for part in err.get("loc", ())]
        name = next((p for p in reversed(loc) if p in FIELD_LABELS), loc[-1] if loc else "")
        msg = str(err.get("msg", ""))
        known = detail_text(msg) or _PYDANTIC.get(str(err.get("type", "")))
        lines.append(f"{FIELD_LABELS.get(name, name)}：{known or msg}" if name else known or msg)
    return lines


def problem_text(exc: ProblemError) -> str:
    """One Chinese sentence for a refused action or form."""
    detail = exc.detail or ""
    if exc.slug == "illegal-transition":
        state = str(exc.extensions.get("state", ""))
        action = str(exc.extensions.get("action", ""))
        why = detail_text(detail)
        return why or f"案件{label(STATUS_LABELS, state)}，不能「{action_label(action)}」"
    if exc.slug == "invalid-image":
        reason = str(exc.extensions.get("reason", ""))
        return f"照片无法使用：{_IMAGE_REASONS.get(reason, detail)}"
    if exc.slug == "validation" and exc.errors:
        return "；".join(field_errors(exc.errors))
    known = detail_text(detail) or _BY_SLUG.get(exc.slug)
    if known:
        return known
    return f"操作未完成（{detail or exc.slug}）"

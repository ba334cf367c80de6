"""Which steps of a case become WeCom and official-account notices, written to the outbox.

| step | channel | to |
|---|---|---|
| `dispatch`, `redispatch` | WeCom text card | the department's WeCom users/parties (`CITYOPS_WECOM_RECIPIENTS` key `<org>/<dept key>`), else the owner unit's |
| `overdue` (超期) | WeCom text card | the owner unit's (the longest configured prefix of its code) |
| `close`, `evaluate` | official-account template | every openid following the case (`case_subscriber`) |

Nothing is written while a channel is disabled or nobody is configured for the place. Notices
about one case arrive in the order of its steps (ordering keys `wecom:<case>`, `mp:<case>`).
"""

from __future__ import annotations

from datetime import datetime

from cityops.cases.catalog.codes import find_category
from cityops.cases.catalog.shipped import UnknownCategoryError
from cityops.cases.flow.service import CaseService
from cityops.cases.flow.table import STATUS_LABELS, Action, Status
from cityops.cases.models import CaseEvent, CaseRecord
from cityops.cases.notices.subscribers import MP, recipients
from cityops.config import Settings, WeComRecipient
from cityops.kit.outbox.queue import enqueue
from cityops.kit.workcal import SHANGHAI
from cityops.notify.base import Notice, Recipients

WECOM = "wecom"
DISPATCH_ACTIONS = frozenset({Action.DISPATCH.value, Action.REDISPATCH.value})
CITIZEN_ACTIONS = frozenset({Action.CLOSE.value, Action.EVALUATE.value})
TIMER_LABELS = {"sign": "签收", "handle": "处置"}
SUMMARY_CHARS = 20  # a template's "thing" field holds about this much


def local(value: datetime | None) -> str:
    """Shanghai wall-clock time for people to read."""
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value else "—"


def _category_name(case: CaseRecord) -> str:
    try:
        return find_category(case.category).name
    except UnknownCategoryError:
        return case.category


def unit_recipients(settings: Settings, code: str) -> WeComRecipient | None:
    """The WeCom recipients of the longest configured unit prefix of `code`."""
    keys = [k for k in settings.wecom_recipients if "/" not in k and code.startswith(k)]
    return settings.wecom_recipients[max(keys, key=len)] if keys else None


def _case_url(template: str, case: CaseRecord) -> str:
    return template.replace("{id}", str(case.id)) if template else ""


def _wecom(svc: CaseService, case: CaseRecord, who: WeComRecipient, title: str, body: str) -> None:
    notice = Notice(
        Recipients(tuple(who.users), tuple(who.parties)),
        title,
        body,
        _case_url(svc.settings.wecom_case_url, case),
    )
    enqueue(
        svc.session,
        channel=WECOM,
        topic="wecom.case",
        payload=notice.to_payload(),
        owner_code=case.owner_code,
        ref=f"case:{case.id}",
        now=svc.now,
        max_attempts=svc.settings.outbox_max_attempts,
        ordering_key=f"wecom:{case.id}",  # 派遣 before 超期, as the steps happened
    )


async def _dispatched(svc: CaseService, case: CaseRecord) -> None:
    who = None
    department = await svc.repo.department(case.department_id) if case.department_id else None
    if department is not None:
        who = svc.settings.wecom_recipients.get(f"{department.org_code}/{department.key}")
    who = who or unit_recipients(svc.settings, case.owner_code)
    if who is None or not (who.users or who.parties):
        return
    place = department.name if department else case.owner_code
    body = (
        f"案件编号：{case.id}\n派至：{place}\n地址：{case.address or '—'}\n"
        f"内容：{case.text[:120]}\n处置时限：{local(case.handle_due_at)}"
    )
    _wecom(svc, case, who, f"案件派遣：{_category_name(case)}", body)


def _overdue(svc: CaseService, case: CaseRecord, entry: CaseEvent) -> None:
    who = unit_recipients(svc.settings, case.owner_code)
    if who is None or not (who.users or who.parties):
        return
    timer = str((entry.detail or {}).get("timer", ""))
    due = (entry.detail or {}).get("due_at")
    due_text = local(datetime.fromisoformat(due)) if isinstance(due, str) else "—"
    body = (
        f"案件编号：{case.id}\n{TIMER_LABELS.get(timer, timer)}时限 {due_text} 已过\n"
        f"地址：{case.address or '—'}\n内容：{case.text[:120]}"
    )
    _wecom(svc, case, who, f"案件超期：{_category_name(case)}", body)


def _citizen_values(case: CaseRecord, entry: CaseEvent) -> dict[str, str]:
    evaluated = entry.action == Action.EVALUATE
    result = (
        f"满意度 {case.satisfaction}/5，感谢您的评价"
        if evaluated
        else entry.comment or "已办理完毕"
    )
    return {
        "title": "感谢您的评价" if evaluated else "您反映的问题已办结",
        "case_no": str(case.id),
        "status": STATUS_LABELS[Status(entry.to_status)],
        "time": local(entry.at),
        "summary": case.text[:SUMMARY_CHARS],
        "result": result,
    }


async def _citizens(svc: CaseService, case: CaseRecord, entry: CaseEvent) -> None:
    settings = svc.settings
    openids = await recipients(svc.session, case.id, MP, svc.env.cipher())
    values = _citizen_values(case, entry)
    fields = {key: values[source] for key, source in settings.mp_template_fields.items()}
    for openid in openids:
        notice = Notice(
            Recipients((openid,)),
            values["title"],
            values["result"],
            _case_url(settings.mp_case_url, case),
            template=settings.mp_template_id,
            fields=fields,
        )
        enqueue(
            svc.session,
            channel=MP,
            topic=f"mp.{entry.action}",
            payload=notice.to_payload(),
            owner_code=case.owner_code,
            ref=f"case:{case.id}",
            now=svc.now,
            max_attempts=settings.outbox_max_attempts,
            ordering_key=f"mp:{case.id}",
        )


async def wechat_notices(svc: CaseService, case: CaseRecord, entry: CaseEvent) -> None:
    """Write the WeCom and official-account notices of a step into its transaction."""
    settings = svc.settings
    if settings.wecom_enabled and entry.action in DISPATCH_ACTIONS:
        await _dispatched(svc, case)
    elif settings.wecom_enabled and entry.action == "overdue":
        _overdue(svc, case, entry)
    if settings.mp_enabled and entry.action in CITIZEN_ACTIONS:
        await _citizens(svc, case, entry)

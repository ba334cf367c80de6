"""Tell the 12345 system what became of its orders: one signed callback per step, in order.

A timeline hook (`hotline_callbacks`) sees every step of every case inside its transaction; for
a hotline order with a callback URL and a step the hotline follows, it writes one outbox row
(channel `webhook`, ordering key `hotline:<case id>`). The row commits with the step, and the
dispatcher POSTs it signed, retrying until the hotline answers 2xx. The payload is documented
in docs/hotline.md.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select

from cityops.cases.flow.service import CaseService
from cityops.cases.flow.table import ACTION_LABELS, STATUS_LABELS, Action, Status
from cityops.cases.intake.opening import Source
from cityops.cases.models import CaseEvent, CaseRecord
from cityops.cases.sources.hotline.models import HotlineOrder
from cityops.config import Settings
from cityops.kit.outbox.queue import Channel, enqueue
from cityops.kit.outbox.webhook import WEBHOOK, WebhookChannel

SCHEMA = "cityops.hotline.callback/1"
#: The steps the hotline hears about (签收, 退单, 延期, 办结, 结案, 回访, and the ones that undo them).
CALLBACK_ACTIONS = frozenset(
    {
        Action.SIGN,
        Action.RETURN,
        Action.REQUEST_EXTENSION,
        Action.APPROVE_EXTENSION,
        Action.REJECT_EXTENSION,
        Action.HANDLE,
        Action.CLOSE,
        Action.EVALUATE,
        Action.VOID,
        Action.REOPEN,
    }
)


def secret_ref_of(system_name: str) -> str:
    """The name under which a hotline system's signing secret is looked up."""
    return f"hotline:{system_name}"


def utc(value: datetime | None) -> str | None:
    """An instant as the payload writes it: ISO 8601, UTC, with Z."""
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def _extension(entry: CaseEvent) -> dict[str, Any] | None:
    detail = entry.detail or {}
    if entry.action == Action.REQUEST_EXTENSION:
        return {"hours": detail.get("hours"), "days": detail.get("days")}
    if entry.action == Action.APPROVE_EXTENSION:
        new_due = detail.get("new_due_at")
        return {"new_deadline": new_due.replace("+00:00", "Z") if new_due else None}
    if entry.action == Action.REJECT_EXTENSION:
        return {}
    return None


def callback_payload(
    order: HotlineOrder, case: CaseRecord, entry: CaseEvent, delivery_id: str
) -> dict[str, Any]:
    """The JSON body the hotline receives for one step."""
    action = Action(entry.action)
    status = Status(entry.to_status)
    payload: dict[str, Any] = {
        "schema": SCHEMA,
        "delivery_id": delivery_id,
        "order_no": order.order_no,
        "case_id": case.id,
        "seq": entry.seq,
        "action": action.value,
        "action_label": ACTION_LABELS[action],
        "status": status.value,
        "status_label": STATUS_LABELS[status],
        "at": utc(entry.at),
        "actor_org": entry.actor_org,
        "comment": entry.comment,
        "reason": entry.reason,
        "deadline": utc(case.handle_due_at),
        "hotline_deadline": utc(order.hotline_due_at),
    }
    if action is Action.HANDLE:
        payload["result"] = entry.comment  # 办结结果
    extension = _extension(entry)
    if extension is not None:
        payload["extension"] = extension
    if action is Action.EVALUATE:
        payload["satisfaction"] = case.satisfaction
    return payload


async def hotline_callbacks(svc: CaseService, case: CaseRecord, entry: CaseEvent) -> None:
    """Write the callback of a step of a 12345 order into the step's transaction."""
    if case.source != Source.HOTLINE_12345 or entry.action not in CALLBACK_ACTIONS:
        return
    stmt = select(HotlineOrder).where(HotlineOrder.case_id == case.id)
    order = await svc.session.scalar(stmt)
    if order is None or not order.callback_url:
        return
    delivery_id = str(uuid.uuid4())
    enqueue(
        svc.session,
        channel=WEBHOOK,
        topic=f"hotline.{entry.action}",
        payload=callback_payload(order, case, entry, delivery_id),
        owner_code=case.owner_code,
        ref=f"case:{case.id}",
        now=svc.now,
        max_attempts=svc.settings.outbox_max_attempts,
        target=order.callback_url,
        secret_ref=order.secret_ref,
        ordering_key=f"hotline:{case.id}",
        delivery_id=delivery_id,
    )


def webhook_channels(settings: Settings, client: httpx.AsyncClient) -> dict[str, Channel]:
    """The signed-webhook channel, signing with each 12345 system's configured secret."""
    secrets = {
        secret_ref_of(name): system.secret.get_secret_value().encode("utf-8")
        for name, system in settings.hotline_systems.items()
    }
    return {WEBHOOK: WebhookChannel(client, secrets.get)}

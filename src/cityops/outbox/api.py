"""Outbox operations under /api/v1/outbox: see what is stuck, retry it or give it up."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from cityops.auth import audit
from cityops.auth.deps import require
from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.kit.errors import Conflict, NotFound
from cityops.kit.outbox.models import OutboxMessage, OutboxState
from cityops.kit.outbox.queue import (
    OutboxFilter,
    deliver_after_commit,
    discard,
    get_message,
    list_messages,
    rearm,
)
from cityops.kit.web import MAX_INT, NO_NUL, ClientIp, DbSession
from cityops.outbox.retention import is_masked
from cityops.outbox.runtime import platform_now
from cityops.outbox.schemas import DiscardRequest, OutboxMessageRead, OutboxPage, outbox_read

router = APIRouter(prefix="/api/v1/outbox", tags=["outbox"])
Manager = Annotated[Principal, Depends(require(Perm.OUTBOX_MANAGE))]
MessageId = Annotated[int, Path(ge=1, le=MAX_INT, description="Outbox message id")]
RETRYABLE = (OutboxState.FAILED.value, OutboxState.DISCARDED.value)
DISCARDABLE = (OutboxState.PENDING.value, OutboxState.FAILED.value)


@router.get("", response_model=OutboxPage, summary="Outbox messages")
async def list_outbox(
    principal: Manager,
    session: DbSession,
    state: OutboxState | None = None,
    channel: Annotated[str | None, Query(max_length=16, pattern=r"^[a-z0-9_]+$")] = None,
    topic: Annotated[str | None, Query(max_length=48, pattern=NO_NUL)] = None,
    ref: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> OutboxPage:
    """Messages in your scope, newest first; `state=failed` lists the dead ones."""
    where = OutboxFilter(state.value if state else None, channel, topic, ref)
    rows, total = await list_messages(session, principal.scope, where, limit, offset)
    return OutboxPage(items=[outbox_read(r) for r in rows], total=total, limit=limit, offset=offset)


async def _message(session: DbSession, principal: Principal, message_id: int) -> OutboxMessage:
    row = await get_message(session, principal.scope, message_id, lock=True)
    if row is None:
        raise NotFound("outbox message", message_id)
    return row


@router.get("/{message_id}", response_model=OutboxMessageRead, summary="One outbox message")
async def get_outbox(
    message_id: MessageId, principal: Manager, session: DbSession
) -> OutboxMessageRead:
    """One message in your scope."""
    row = await get_message(session, principal.scope, message_id)
    if row is None:
        raise NotFound("outbox message", message_id)
    return outbox_read(row)


@router.post("/{message_id}/retry", response_model=OutboxMessageRead, summary="Retry a message")
async def retry_outbox(
    message_id: MessageId,
    principal: Manager,
    session: DbSession,
    request: Request,
    ip: ClientIp,
) -> OutboxMessageRead:
    """Give a failed or discarded message a fresh set of attempts, due now (audited)."""
    row = await _message(session, principal, message_id)
    if row.state not in RETRYABLE:
        raise Conflict(f"a {row.state} message cannot be retried", state=row.state)
    if is_masked(row):
        raise Conflict("its recipients were masked after their retention period", state=row.state)
    before = row.state
    rearm(row, platform_now(request.app.state))
    await audit.record(
        session,
        action="outbox.retry",
        result="success",
        actor=principal,
        target=f"outbox:{row.id}",
        client_ip=ip,
        detail={"topic": row.topic, "ref": row.ref, "from": before},
    )
    await session.flush()
    deliver_after_commit(session)
    return outbox_read(row)


@router.post("/{message_id}/discard", response_model=OutboxMessageRead, summary="Give up a message")
async def discard_outbox(
    message_id: MessageId,
    body: DiscardRequest,
    principal: Manager,
    session: DbSession,
    request: Request,
    ip: ClientIp,
) -> OutboxMessageRead:
    """Stop trying a pending or failed message; later ones of its order may go (audited)."""
    row = await _message(session, principal, message_id)
    if row.state not in DISCARDABLE:
        raise Conflict(f"a {row.state} message cannot be discarded", state=row.state)
    before = row.state
    discard(
        row, platform_now(request.app.state), f"discarded by {principal.username}: {body.reason}"
    )
    await audit.record(
        session,
        action="outbox.discard",
        result="success",
        actor=principal,
        target=f"outbox:{row.id}",
        client_ip=ip,
        detail={"topic": row.topic, "ref": row.ref, "from": before, "reason": body.reason},
    )
    await session.flush()
    deliver_after_commit(session)
    return outbox_read(row)

"""HTTP ingestion: a device pushes with its token, a gateway with its, a system client in batch.

Each call answers after its readings are committed (or 503 when the store is slow: retry, a
repeat is stored once), so nothing acknowledged is lost.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from fastapi import APIRouter, status

from cityops.iot.access import may_manage
from cityops.iot.http.deps import Ingester, Runtime
from cityops.iot.http.schemas import Accepted, BatchIn, DeviceReadingIn, GatewayIn
from cityops.iot.ingest.accept import DeadRow, Outcome, clean, device_message, gateway_message
from cityops.iot.ingest.payloads import Invalid
from cityops.iot.registry.service import ID_PATTERN
from cityops.iot.registry.tokens import matches
from cityops.iot.runtime import IotRuntime
from cityops.kit.db import utcnow
from cityops.kit.errors import ProblemError

router = APIRouter(prefix="/api/v1/iot", tags=["iot"])

_BAD_TOKEN = "unknown device or wrong token"


async def _commit(runtime: IotRuntime, outcome: Outcome) -> None:
    try:
        await asyncio.wait_for(
            runtime.writer.write(outcome.readings, outcome.dead),
            runtime.settings.http_wait_seconds,
        )
    except TimeoutError:
        raise ProblemError(
            503,
            "unavailable",
            "the store is busy; send again (a repeat is stored once)",
            headers={"Retry-After": "5"},
        ) from None


def _answer(outcome: Outcome) -> Accepted:
    return Accepted(
        accepted=len(outcome.readings),
        dead_letters=len(outcome.dead),
        errors=[{"device": d.device_id, "reason": d.reason} for d in outcome.dead],
    )


@router.post("/telemetry", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted)
async def push_reading(body: DeviceReadingIn, runtime: Runtime) -> Accepted:
    """One device's readings, authorised by the device's own token."""
    snap = await runtime.cache.current()
    device = snap.devices.get(body.device)
    if device is None or not matches(body.token, device.token_hash):
        raise ProblemError(401, "unauthenticated", _BAD_TOKEN)
    now = utcnow()
    raw: dict[str, Any] = body.model_dump(exclude={"token"})
    try:
        readings = device_message(snap, body.device, raw, now, token=False)
    except Invalid as exc:
        dead = DeadRow(
            "http",
            "",
            device.owner_code,
            device.device_id,
            clean(str(exc), 500),
            orjson.dumps(raw),
            now,
        )
        await _commit(runtime, Outcome(dead=[dead]))
        raise ProblemError(422, "validation", str(exc)) from None
    outcome = Outcome(readings)
    await _commit(runtime, outcome)
    return _answer(outcome)


@router.post("/telemetry/batch", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted)
async def push_batch(body: BatchIn, principal: Ingester, runtime: Runtime) -> Accepted:
    """Many devices' readings from a system client (iot.ingest), inside its data scope."""
    snap = await runtime.cache.current()
    raw = body.model_dump()
    outcome = gateway_message(
        snap,
        raw,
        utcnow(),
        gateway_id=None,
        channel="http",
        topic="batch",
        may_write=lambda owner: may_manage(principal, owner),
    )
    await _commit(runtime, outcome)
    return _answer(outcome)


@router.post(
    "/gateways/{gateway_id}/telemetry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
)
async def push_gateway(gateway_id: str, body: GatewayIn, runtime: Runtime) -> Accepted:
    """A gateway's message: the readings of the devices registered behind it."""
    import re

    snap = await runtime.cache.current()
    gateway = snap.gateways.get(gateway_id) if re.match(ID_PATTERN, gateway_id) else None
    if gateway is None or not matches(body.token, gateway.token_hash):
        raise ProblemError(401, "unauthenticated", "unknown gateway or wrong token")
    raw = body.model_dump(exclude={"token"})
    outcome = gateway_message(
        snap, raw, utcnow(), gateway_id=gateway_id, channel="http", topic=f"gateway/{gateway_id}"
    )
    await _commit(runtime, outcome)
    return _answer(outcome)

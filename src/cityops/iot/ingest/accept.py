"""From a raw message to readings and dead letters, against a registry snapshot (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from cityops.iot.ingest.payloads import (
    Invalid,
    check_token,
    device_readings,
    gateway_items,
    load_json,
    parse_topic,
)
from cityops.iot.readings import Reading
from cityops.iot.registry.directory import Snapshot

MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class DeadRow:
    """A refused message (or gateway item) as the dead-letter table keeps it."""

    channel: str
    topic: str
    owner_code: str
    device_id: str
    reason: str
    raw: bytes
    received_at: datetime


@dataclass(slots=True)
class Outcome:
    """What one message yields: readings to store and dead letters to keep."""

    readings: list[Reading] = field(default_factory=list)
    dead: list[DeadRow] = field(default_factory=list)


def _dead(
    channel: str, topic: str, owner: str, device: str, exc: Exception, raw: bytes, now: datetime
) -> DeadRow:
    return DeadRow(
        channel,
        clean(topic, 256),
        clean(owner, 32),
        clean(device, 64),
        clean(str(exc), MAX_REASON),
        raw,
        now,
    )


def clean(text: str, limit: int) -> str:
    """Text a database column takes: no NUL (PostgreSQL refuses it), at most `limit` long."""
    return text.replace("\x00", "\ufffd")[:limit]


def device_message(
    snap: Snapshot, device_id: str, body: Mapping[str, Any], now: datetime, *, token: bool = True
) -> list[Reading]:
    """The readings of one device's message; `token` False when the caller is authorised."""
    device = snap.devices.get(device_id)
    if device is None:
        raise Invalid(f"device {device_id} is not registered")
    if token:
        check_token(body, device.token_hash)
    return device_readings(device, snap.profiles.get(device.profile, {}), body, now)


def gateway_message(
    snap: Snapshot,
    body: Mapping[str, Any],
    now: datetime,
    *,
    gateway_id: str | None,
    channel: str,
    topic: str,
    may_write: Any = None,
) -> Outcome:
    """A gateway's (or a batch client's) items: good ones read, each bad one dead-lettered.

    A gateway may carry only devices registered behind it; a batch client (`gateway_id` None)
    only devices `may_write(owner_code)` allows.
    """
    out = Outcome()
    for item in gateway_items(body):
        device_id = str(item["device"])
        device = snap.devices.get(device_id)
        try:
            if device is None:
                raise Invalid(f"device {device_id} is not registered")
            if gateway_id is not None and device.gateway_id != gateway_id:
                raise Invalid(f"device {device_id} is not behind gateway {gateway_id}")
            if may_write is not None and not may_write(device.owner_code):
                raise Invalid(f"device {device_id} is outside the caller's data scope")
            out.readings.extend(device_message(snap, device_id, item, now, token=False))
        except Invalid as exc:
            owner = device.owner_code if device else ""
            out.dead.append(_dead(channel, topic, owner, device_id, exc, orjson.dumps(item), now))
    return out


def mqtt_message(snap: Snapshot, prefix: str, topic: str, raw: bytes, now: datetime) -> Outcome:
    """One MQTT message: a device's telemetry or a gateway's batch; never raises."""
    owner, sender = "", ""
    try:
        parsed = parse_topic(topic, prefix)
        owner, sender = parsed.owner_code, parsed.sender
        body = load_json(raw)
        if parsed.kind == "telemetry":
            device = snap.devices.get(sender)
            if device is not None and device.owner_code != owner:
                raise Invalid(f"device {sender} does not belong to {owner}")
            return Outcome(device_message(snap, sender, body, now))
        gateway = snap.gateways.get(sender)
        if gateway is None or gateway.owner_code != owner:
            raise Invalid(f"gateway {sender} is not registered under {owner}")
        check_token(body, gateway.token_hash)
        return gateway_message(snap, body, now, gateway_id=sender, channel="mqtt", topic=topic)
    except Invalid as exc:
        return Outcome(dead=[_dead("mqtt", topic, owner, sender, exc, raw, now)])

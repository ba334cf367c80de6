"""Pure checks of incoming messages: topic, token, timestamp and values against the profile.

A message is taken whole or refused whole with one reason (it then becomes a dead letter);
nothing here touches the database, so the same code serves MQTT, HTTP and the benchmark.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from cityops.iot.profiles import KeySpec
from cityops.iot.readings import Reading
from cityops.iot.registry.tokens import matches

#: A reading stamped further ahead of the hub's clock than this is refused (a wrong clock).
MAX_FUTURE = timedelta(minutes=5)
#: A reading older than this is refused (a replay or a clock reset to 1970).
MAX_AGE = timedelta(days=366)
MAX_KEYS = 64
MAX_GATEWAY_ITEMS = 1000
MAX_TEXT = 256


class Invalid(ValueError):
    """A message the hub refuses, with the reason operators read in the dead-letter list."""


@dataclass(frozen=True, slots=True)
class DeviceEntry:
    """What ingest needs of a registered device (kept in memory by the directory)."""

    device_id: str
    owner_code: str
    profile: str
    token_hash: str
    gateway_id: str | None = None


@dataclass(frozen=True, slots=True)
class GatewayEntry:
    """What ingest needs of a registered gateway."""

    gateway_id: str
    owner_code: str
    token_hash: str


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed topic: <prefix>/<owner_code>/<id>/<telemetry|gateway>."""

    owner_code: str
    sender: str
    kind: str


def parse_topic(topic: str, prefix: str) -> Topic:
    """The parts of a telemetry or gateway topic, or Invalid."""
    if not topic.startswith(prefix + "/"):
        raise Invalid("topic outside the hub's prefix")
    parts = topic[len(prefix) + 1 :].split("/")
    if len(parts) != 3 or parts[2] not in ("telemetry", "gateway") or not all(parts):
        raise Invalid("topic is not <owner_code>/<id>/telemetry or <owner_code>/<id>/gateway")
    return Topic(parts[0], parts[1], parts[2])


def load_json(raw: bytes) -> dict[str, Any]:
    """The payload as a JSON object, or Invalid."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Invalid(f"payload is not JSON: {exc.msg}") from None
    if not isinstance(body, dict):
        raise Invalid("payload is not a JSON object")
    return body


def parse_ts(value: object, now: datetime) -> datetime:
    """A measurement time: ISO 8601 with a zone, or epoch milliseconds; absent means now."""
    if value is None:
        return now
    if isinstance(value, bool):
        raise Invalid("ts must be ISO 8601 with a time zone or epoch milliseconds")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise Invalid("ts is not a finite number")
        try:
            ts = datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            raise Invalid("ts is out of range") from None
    elif isinstance(value, str):
        try:
            ts = datetime.fromisoformat(value)
        except ValueError:
            raise Invalid("ts is not ISO 8601") from None
        if ts.tzinfo is None:
            raise Invalid("ts has no time zone")
        ts = ts.astimezone(UTC)
    else:
        raise Invalid("ts must be ISO 8601 with a time zone or epoch milliseconds")
    if ts > now + MAX_FUTURE:
        raise Invalid("ts is in the future (check the device clock)")
    if ts < now - MAX_AGE:
        raise Invalid("ts is more than a year old")
    return ts


def check_value(key: str, spec: KeySpec, value: object) -> float | bool | str:
    """One value checked against its key's type and range."""
    if spec.type == "bool":
        if not isinstance(value, bool):
            raise Invalid(f"{key}: expected true or false")
        return value
    if spec.type == "text":
        if not isinstance(value, str) or len(value) > MAX_TEXT or "\x00" in value:
            raise Invalid(f"{key}: expected text of at most {MAX_TEXT} characters")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Invalid(f"{key}: expected a number")
    if spec.min is not None and value < spec.min:
        raise Invalid(f"{key}: {value} is below the sensor's range ({spec.min} {spec.unit})")
    if spec.max is not None and value > spec.max:
        raise Invalid(f"{key}: {value} is above the sensor's range ({spec.max} {spec.unit})")
    return float(value)


def device_readings(
    device: DeviceEntry,
    keys: Mapping[str, KeySpec],
    item: Mapping[str, Any],
    now: datetime,
) -> list[Reading]:
    """The readings of one device's message body ({"ts", "values"}), checked against its profile."""
    ts = parse_ts(item.get("ts"), now)
    values = item.get("values")
    if not isinstance(values, dict) or not values:
        raise Invalid("values must be a non-empty object of key: value")
    if len(values) > MAX_KEYS:
        raise Invalid(f"more than {MAX_KEYS} keys in one message")
    readings: list[Reading] = []
    for key, value in values.items():
        spec = keys.get(key)
        if spec is None:
            raise Invalid(f"{key}: not a key of profile {device.profile}")
        checked = check_value(key, spec, value)
        readings.append(Reading(device.device_id, device.owner_code, key, checked, ts, now))
    return readings


def gateway_items(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The per-device items of a gateway or batch message ({"devices": [...]}), or Invalid."""
    items = body.get("devices")
    if not isinstance(items, list) or not items:
        raise Invalid("devices must be a non-empty list")
    if len(items) > MAX_GATEWAY_ITEMS:
        raise Invalid(f"more than {MAX_GATEWAY_ITEMS} items in one message")
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("device"), str):
            raise Invalid('every item needs "device" (the device id), "ts" and "values"')
    return items


def check_token(body: Mapping[str, Any], token_hash: str) -> None:
    """Refuse a message whose token is not the sender's."""
    if not matches(body.get("token"), token_hash):
        raise Invalid("token missing or wrong")

"""The pure checks of incoming messages: topic, token, time, values against the profile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from cityops.iot.ingest.accept import mqtt_message
from cityops.iot.ingest.payloads import DeviceEntry, GatewayEntry, Invalid, parse_topic, parse_ts
from cityops.iot.profiles import BASE_PROFILES, KeySpec
from cityops.iot.registry.directory import Snapshot
from cityops.iot.registry.tokens import digest

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
PREFIX = "cityops/v1"


def snapshot() -> Snapshot:
    profiles = {
        p.code: {k: KeySpec.of(v) for k, v in p.telemetry_json().items()} for p in BASE_PROFILES
    }
    return Snapshot(
        devices={
            "wl-1": DeviceEntry("wl-1", "310117102", "water_level_gauge", digest("tok"), "gw-1"),
            "sm-1": DeviceEntry("sm-1", "310117102", "smoke_detector", digest("tok2"), None),
        },
        gateways={"gw-1": GatewayEntry("gw-1", "310117102", digest("gwtok"))},
        profiles=profiles,
    )


def publish(topic: str, body: object) -> tuple[int, int, list[str]]:
    out = mqtt_message(snapshot(), PREFIX, topic, orjson.dumps(body), NOW)
    return len(out.readings), len(out.dead), [d.reason for d in out.dead]


def test_a_good_device_message_gives_one_reading_per_key() -> None:
    n, dead, _ = publish(
        f"{PREFIX}/310117102/wl-1/telemetry",
        {"token": "tok", "ts": NOW.isoformat(), "values": {"water_level": 3.2, "battery": 80}},
    )
    assert (n, dead) == (2, 0)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"token": "bad", "values": {"water_level": 1}}, "token"),
        ({"token": "tok", "values": {"water_level": 99}}, "above"),
        ({"token": "tok", "values": {"water_level": "high"}}, "number"),
        ({"token": "tok", "values": {"depth": 1}}, "not a key"),
        ({"token": "tok", "values": {}}, "non-empty"),
        ({"token": "tok", "ts": "2026-12-07T08:00:00", "values": {"water_level": 1}}, "zone"),
        ({"token": "tok", "ts": "2027-12-07T08:00:00Z", "values": {"water_level": 1}}, "future"),
        ({"token": "tok", "values": {"water_level": True}}, "number"),
    ],
)
def test_a_bad_device_message_is_one_dead_letter_with_its_reason(body: object, reason: str) -> None:
    n, dead, reasons = publish(f"{PREFIX}/310117102/wl-1/telemetry", body)
    assert (n, dead) == (0, 1)
    assert reason in reasons[0]


def test_not_json_and_wrong_owner_are_dead_letters() -> None:
    out = mqtt_message(snapshot(), PREFIX, f"{PREFIX}/310117102/wl-1/telemetry", b"\xff{", NOW)
    assert "not JSON" in out.dead[0].reason and out.dead[0].raw == b"\xff{"
    _, dead, reasons = publish(
        f"{PREFIX}/310117103/wl-1/telemetry", {"token": "tok", "values": {"battery": 1}}
    )
    assert dead == 1 and "does not belong" in reasons[0]


def test_a_gateway_message_keeps_good_items_and_dead_letters_the_rest() -> None:
    body = {
        "token": "gwtok",
        "devices": [
            {"device": "wl-1", "ts": 1765094400000, "values": {"water_level": 2.0}},
            {"device": "sm-1", "values": {"smoke": 0.01}},  # not behind this gateway
            {"device": "nope", "values": {"smoke": 0.01}},
        ],
    }
    n, dead, reasons = publish(f"{PREFIX}/310117102/gw-1/gateway", body)
    assert (n, dead) == (1, 2)
    assert "not behind gateway" in reasons[0] and "not registered" in reasons[1]


def test_topics_and_times_parse() -> None:
    assert parse_topic(f"{PREFIX}/310117102/wl-1/telemetry", PREFIX).sender == "wl-1"
    with pytest.raises(Invalid):
        parse_topic(f"{PREFIX}/310117102/telemetry", PREFIX)
    assert parse_ts(None, NOW) == NOW
    assert parse_ts(int((NOW - timedelta(hours=1)).timestamp() * 1000), NOW) == NOW - timedelta(
        hours=1
    )
    with pytest.raises(Invalid):
        parse_ts(True, NOW)


def test_dead_letter_text_never_carries_nul() -> None:
    body = {"token": "tok", "values": {"bad\x00key": 1}}
    out = mqtt_message(
        snapshot(), PREFIX, f"{PREFIX}/310117102/wl-1/telemetry", orjson.dumps(body), NOW
    )
    assert "\x00" not in out.dead[0].reason

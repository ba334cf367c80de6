"""The hub over HTTP: registry, device pushes, batches, reads scoped by iot/access.py, sinks."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from cityops.iot.ingest.sinks import register_sink
from cityops.iot.readings import Reading
from tests.conftest import Backend, Login

SIJING, SHESHAN = "310117102", "310117103"


def new_id(stem: str) -> str:
    return f"t-{stem}-{uuid.uuid4().hex[:8]}"


def register(
    client: TestClient, login: Login, who: str, owner: str, profile: str = "water_level_gauge"
) -> tuple[str, str]:
    device_id = new_id(profile[:5])
    reply = client.post(
        "/api/v1/iot/devices",
        headers=login.headers(who),
        json={
            "id": device_id,
            "name": "测试水位计",
            "owner_code": owner,
            "profile": profile,
            "lon": 121.265,
            "lat": 31.12,
            "site": "泗泾塘",
            "department": "sw",
        },
    )
    assert reply.status_code == 201, reply.text
    return device_id, reply.json()["token"]


def push(
    client: TestClient, device: str, token: str, values: dict[str, object], ts: datetime
) -> int:
    reply = client.post(
        "/api/v1/iot/telemetry",
        json={"device": device, "token": token, "ts": ts.isoformat(), "values": values},
    )
    return reply.status_code


def test_a_pushed_reading_is_stored_once_and_read_back(client: TestClient, login: Login) -> None:
    device, token = register(client, login, "t_sijing", SIJING)
    ts = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    assert push(client, device, token, {"water_level": 3.61, "battery": 88}, ts) == 202
    assert push(client, device, token, {"water_level": 3.61, "battery": 88}, ts) == 202  # repeat
    assert (
        push(client, device, token, {"water_level": 3.1}, ts - timedelta(minutes=1)) == 202
    )  # late
    headers = login.headers("t_sijing")
    series = client.get(
        f"/api/v1/iot/devices/{device}/telemetry", params={"key": "water_level"}, headers=headers
    )
    assert series.status_code == 200, series.text
    assert [p["value"] for p in series.json()["points"]] == [3.1, 3.61]
    latest = {
        v["key"]: v
        for v in client.get(f"/api/v1/iot/devices/{device}/latest", headers=headers).json()
    }
    assert latest["water_level"]["value"] == 3.61 and latest["water_level"]["unit"] == "m"
    detail = client.get(f"/api/v1/iot/devices/{device}", headers=headers).json()
    assert detail["online"] is True and detail["last_seen"] is not None


def test_a_wrong_token_is_refused_and_a_bad_value_dead_lettered(
    client: TestClient, login: Login
) -> None:
    device, token = register(client, login, "t_sijing", SIJING)
    now = datetime.now(UTC)
    assert push(client, device, "wrong", {"water_level": 1.0}, now) == 401
    reply = client.post(
        "/api/v1/iot/telemetry",
        json={"device": device, "token": token, "values": {"water_level": 40}},
    )
    assert reply.status_code == 422 and reply.headers["content-type"].startswith(
        "application/problem+json"
    )
    letters = client.get("/api/v1/iot/dead-letters", headers=login.headers("t_sijing")).json()
    assert any(d["device_id"] == device and "above" in d["reason"] for d in letters)
    others = client.get("/api/v1/iot/dead-letters", headers=login.headers("t_sheshan")).json()
    assert all(d["device_id"] != device for d in others)


def test_another_town_cannot_see_or_register_a_towns_devices(
    client: TestClient, login: Login
) -> None:
    device, _ = register(client, login, "t_sijing", SIJING)
    other = login.headers("t_sheshan")
    assert client.get(f"/api/v1/iot/devices/{device}", headers=other).status_code == 404
    assert client.get(f"/api/v1/iot/devices/{device}/latest", headers=other).status_code == 404
    series = client.get(
        f"/api/v1/iot/devices/{device}/telemetry", params={"key": "water_level"}, headers=other
    )
    assert series.status_code == 404
    listed = client.get("/api/v1/iot/devices", params={"limit": 1000}, headers=other).json()[
        "items"
    ]
    assert device not in {d["id"] for d in listed}
    district = client.get(f"/api/v1/iot/devices/{device}", headers=login.headers("t_duty"))
    assert district.status_code == 200
    reply = client.post(
        "/api/v1/iot/devices",
        headers=other,
        json={
            "id": new_id("x"),
            "name": "x",
            "owner_code": SIJING,
            "profile": "bin_fill",
            "lon": 121.2,
            "lat": 31.1,
        },
    )
    assert reply.status_code == 403
    assert client.get("/api/v1/iot/devices", headers=login.headers("t_grid")).status_code == 403


def test_csv_provisioning_names_bad_lines_and_registers_all_or_nothing(
    client: TestClient, login: Login
) -> None:
    headers = {**login.headers("t_sijing"), "content-type": "text/csv"}
    good, bad = new_id("csv"), new_id("csv")
    text = (
        "id,name,owner_code,profile,lon,lat,site,department,gateway_id\n"
        f"{good},垃圾桶,{SIJING},bin_fill,121.26,31.12,泗泾路,lhsr,\n"
        f"{bad},燃气,{SIJING},no_such,121.26,31.12,,,\n"
        f"{new_id('csv')},井盖,{SHESHAN},manhole_tilt,200,31.12,,,\n"
    )
    reply = client.post("/api/v1/iot/devices/import", content=text.encode(), headers=headers)
    assert reply.status_code == 422, reply.text
    assert [e["line"] for e in reply.json()["errors"]] == [3, 4]
    assert (
        client.get(f"/api/v1/iot/devices/{good}", headers=login.headers("t_sijing")).status_code
        == 404
    )
    ok = "\n".join(text.splitlines()[:2]) + "\n"
    created = client.post("/api/v1/iot/devices/import", content=ok.encode(), headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()[0]["id"] == good and len(created.json()[0]["token"]) > 20


def test_a_system_client_batch_and_a_gateway_message(client: TestClient, login: Login) -> None:
    gw = new_id("gw")
    reply = client.post(
        "/api/v1/iot/gateways",
        headers=login.headers("t_sijing"),
        json={"id": gw, "name": "泗泾网关", "owner_code": SIJING},
    )
    assert reply.status_code == 201
    gw_token = reply.json()["token"]
    device = new_id("dev")
    client.post(
        "/api/v1/iot/devices",
        headers=login.headers("t_sijing"),
        json={
            "id": device,
            "name": "烟感",
            "owner_code": SIJING,
            "profile": "smoke_detector",
            "lon": 121.26,
            "lat": 31.12,
            "gateway_id": gw,
        },
    ).raise_for_status()
    body = {
        "token": gw_token,
        "devices": [
            {"device": device, "values": {"smoke": 0.02, "alarm": False}},
            {"device": "t-not-registered", "values": {"smoke": 0.02}},
        ],
    }
    answer = client.post(f"/api/v1/iot/gateways/{gw}/telemetry", json=body)
    assert answer.status_code == 202, answer.text
    assert answer.json()["accepted"] == 2 and answer.json()["dead_letters"] == 1
    assert (
        client.post(f"/api/v1/iot/gateways/{gw}/telemetry", json={**body, "token": "x"}).status_code
        == 401
    )
    # An account without iot.ingest may not push batches.
    batch = {"devices": [{"device": device, "values": {"smoke": 0.03}}]}
    assert (
        client.post(
            "/api/v1/iot/telemetry/batch", json=batch, headers=login.headers("t_sijing")
        ).status_code
        == 403
    )


class RecordingSink:
    def __init__(self) -> None:
        self.seen: list[Reading] = []
        self.heard = threading.Event()

    async def feed(self, readings: Sequence[Reading]) -> None:
        self.seen.extend(readings)
        self.heard.set()


class FailingSink:
    calls = 0

    async def feed(self, readings: Sequence[Reading]) -> None:
        FailingSink.calls += 1
        raise RuntimeError("a broken scenario")


class HangingSink:
    async def feed(self, readings: Sequence[Reading]) -> None:
        await asyncio.sleep(3600)


def test_a_failing_or_hanging_sink_blocks_neither_ingest_nor_another_sink(
    client: TestClient, login: Login
) -> None:
    good = RecordingSink()
    for sink in (FailingSink(), HangingSink(), good):
        register_sink(client.app, sink)
    device, token = register(client, login, "t_sijing", SIJING)
    for i in range(5):
        assert (
            push(
                client,
                device,
                token,
                {"water_level": 2.0 + i / 10},
                datetime.now(UTC) - timedelta(seconds=10 - i),
            )
            == 202
        )
    assert good.heard.wait(60)
    deadline = 0
    while len([r for r in good.seen if r.device_id == device]) < 5 and deadline < 600:
        good.heard.clear()
        good.heard.wait(0.1)
        deadline += 1
    assert len([r for r in good.seen if r.device_id == device]) == 5
    assert FailingSink.calls >= 1
    client.app.state.iot_sinks.clear()


def test_a_row_the_database_refuses_becomes_a_dead_letter_not_a_stall(
    client: TestClient, login: Login, backend: Backend
) -> None:
    from cityops.iot.ingest.writer import BatchWriter

    device, _ = register(client, login, "t_sijing", SIJING)
    now = datetime.now(UTC)
    # A key longer than the column: PostgreSQL refuses the row (SQLite stores it).
    bad = Reading(device, SIJING, "k" * 200, 1.0, now, now)
    good = Reading(device, SIJING, "water_level", 1.25, now, now)

    async def poisoned() -> None:
        writer = BatchWriter(client.app.state.sessions, max_rows=10, max_wait=0.05)
        writer.start()
        await asyncio.wait_for(asyncio.gather(writer.write([bad]), writer.write([good])), 120)
        await writer.stop()

    assert client.portal is not None
    client.portal.call(poisoned)
    latest = client.get(f"/api/v1/iot/devices/{device}/latest", headers=login.headers("t_sijing"))
    assert {v["key"]: v["value"] for v in latest.json()}["water_level"] == 1.25
    if backend.name == "postgresql":
        letters = client.get("/api/v1/iot/dead-letters", headers=login.headers("t_duty")).json()
        assert any("store refused" in d["reason"] for d in letters)


def test_a_file_that_is_not_csv_is_a_422(client: TestClient, login: Login) -> None:
    headers = {**login.headers("t_sijing"), "content-type": "text/csv"}
    for body in (
        "\r\x1c\ua7ea\x88ú",
        "id,name\n\x00,x\n",
        'id,name,owner_code,profile,lon,lat\n"a\n',
    ):
        reply = client.post("/api/v1/iot/devices/import", content=body.encode(), headers=headers)
        assert reply.status_code == 422, (body, reply.text)

"""Intake beyond the basics: bus events, merge candidates and merging, CRS, hotline without a point."""

from __future__ import annotations

import asyncio
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.ai import Detection
from cityops.cases.flow.env import CaseEnv
from cityops.cases.intake.bus import open_from_event
from cityops.cases.models import CaseRecord
from cityops.geo import crs
from tests.cases.conftest import (
    Api,
    Collector,
    FakeClock,
    Places,
    counts,
    in_db,
    sh,
    worker_env,
)
from tests.conftest import Backend


def _publish(client: TestClient, env: CaseEnv, subject: str, payload: dict[str, object]) -> None:
    """Publish an event as a network bus would deliver it: a JSON envelope."""
    data = {
        "owner_code": "310117",
        "key": payload.get("source_key"),
        "occurred_at": payload.get("occurred_at", "2026-07-01T10:00:00+08:00"),
        **{k: v for k, v in payload.items() if k not in ("source_key", "occurred_at")},
    }
    envelope = {"name": subject, "version": 1, "data": data}
    client.portal.call(env.bus.publish_json, envelope)  # type: ignore[union-attr]


def test_bus_events_open_cases_idempotently(
    client: TestClient,
    env: CaseEnv,
    api: Api,
    places: Places,
    backend: Backend,
    clock: FakeClock,
    collector: Collector,
) -> None:
    clock.set(sh(2026, 7, 1, 10, 0))
    lon, lat = places["310117102002"]
    key = f"scene-{uuid.uuid4().hex[:8]}"
    event = {
        "source_key": key,
        "category": "event:0102",
        "lon": lon,
        "lat": lat,
        "text": "AI识别: 暴露垃圾",
        "occurred_at": "2026-07-01T09:58:00+08:00",
    }
    _publish(client, env, "iot.scene_event", event)
    _publish(client, env, "iot.scene_event", event)  # delivered twice: still one case
    found = api.get("t_duty", "", source="iot").json()["items"]
    mine = [c for c in found if c["source_key"] == key]
    assert len(mine) == 1
    case = mine[0]
    assert (case["category"], case["status"], case["created_by"]) == (
        "event:0102",
        "received",
        "bus:iot.scene_event",
    )
    assert case["occurred_at"] == "2026-07-01T01:58:00Z"
    assert case["divisions"]["community"] == "310117102002"
    assert len(collector.of("case.created", case["id"])) == 1
    # Other subjects map to their sources; a bad payload is dropped, nothing else happens.
    before = counts(backend)
    _publish(client, env, "ai.detection", {"source_key": "x", "lon": lon})  # no category
    _publish(client, env, "video.alarm", {**event, "lon": 121.47, "lat": 31.23})  # outside
    assert counts(backend) == before
    _publish(client, env, "video.alarm", {**event, "text": "视频告警"})
    video = [
        c for c in api.get("t_duty", "", source="video").json()["items"] if c["source_key"] == key
    ]
    assert len(video) == 1 and video[0]["id"] != case["id"]


def test_duplicates_are_suggested_and_merged(api: Api, places: Places, clock: FakeClock) -> None:
    clock.set(sh(2026, 7, 2, 10, 0))
    lon, lat = places["310117102003"]
    first = api.open_case("t_duty", (lon, lat), "event:0104")
    clock.advance(hours=1)
    reply = api.create(
        "t_duty",
        source="mobile",
        category="道路不洁",  # by name
        text="路面脏",
        location={"lon": lon + 0.0003, "lat": lat},  # about 29 m east
    )
    assert reply.status_code == 201, reply.text
    second = reply.json()
    candidates = second["duplicate_candidates"]
    assert [c["id"] for c in candidates] == [first]
    assert 25 < candidates[0]["distance_m"] < 35
    other = api.create(
        "t_duty",
        source="mobile",
        category="event:0104",
        text="另一个居委",
        location={"lon": places["310117102004"][0], "lat": places["310117102004"][1]},
    )
    assert other.status_code == 201 and other.json()["duplicate_candidates"] == []
    merged = api.ok("t_duty", second["id"], "merge", parent_id=first)
    assert merged["status"] == "merged" and merged["parent_id"] == first
    assert api.timeline(first)[-1]["action"] == "merged_in"
    assert api.timeline(first)[-1]["detail"] == {"child_id": second["id"]}
    clock.advance(hours=80)  # outside the 72 h window: no longer suggested
    late = api.create(
        "t_duty",
        source="mobile",
        category="event:0104",
        text="又脏了",
        location={"lon": lon, "lat": lat},
    )
    assert late.json()["duplicate_candidates"] == []


def test_many_twins_come_back_nearest_first_and_draw_one_id(
    api: Api, places: Places, clock: FakeClock
) -> None:
    # The twin search rides in the statement that draws the new id (an outer join): however
    # many twins it finds, each intake takes exactly one id.
    clock.set(sh(2026, 7, 2, 14, 0))
    lon, lat = places["310117102004"]
    east = [0.0006, 0.0002, 0.0004]  # about 57, 19 and 38 m east, opened in this order
    ids = [api.open_case("t_duty", (lon + d, lat), "event:0105") for d in east]
    reply = api.create(
        "t_duty",
        source="mobile",
        category="event:0105",
        text="同一处",
        location={"lon": lon, "lat": lat},
    )
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert [c["id"] for c in body["duplicate_candidates"]] == [ids[1], ids[2], ids[0]]
    assert [ids[1] - ids[0], ids[2] - ids[1], body["id"] - ids[2]] == [1, 1, 1]


def test_a_repeated_key_gets_its_case_back_even_if_it_no_longer_places(
    api: Api, places: Places, clock: FakeClock
) -> None:
    clock.set(sh(2026, 7, 2, 15, 0))
    lon, lat = places["310117102003"]
    key = f"again-{uuid.uuid4().hex[:8]}"
    body = {"source": "mobile", "source_key": key, "category": "event:0104", "text": "脏"}
    first = api.create("t_duty", **body, location={"lon": lon, "lat": lat})
    assert first.status_code == 201, first.text
    again = api.create("t_duty", **body, location={"lon": 121.47, "lat": 31.23})  # 黄浦
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    elsewhere = api.create(
        "t_duty", **{**body, "source_key": key + "-new"}, location={"lon": 121.47, "lat": 31.23}
    )
    assert elsewhere.status_code == 422


def test_hotline_order_without_a_point_and_crs_output(api: Api, clock: FakeClock) -> None:
    clock.set(sh(2026, 7, 3, 10, 0))
    reply = api.create(
        "hotline",
        source="hotline_12345",
        source_key=f"12345-{uuid.uuid4().hex[:8]}",
        category="hotline:03",
        text="投诉：夜间施工噪声",
        org_code="310117102",
    )
    assert reply.status_code == 201, reply.text
    case = reply.json()
    assert case["location"] is None and case["divisions"]["unit"] == "310117102"
    assert (case["loop_level"], case["owner_code"]) == ("town", "310117102")
    assert case["department_key"] is None
    # The hotline sees its own orders only; the town sees the case.
    assert api.get("hotline", f"/{case['id']}").status_code == 200
    assert api.get("t_sijing", f"/{case['id']}").status_code == 200
    mine = api.get("hotline", "", limit=200).json()["items"]
    assert {c["created_by"] for c in mine} == {case["created_by"]}


def test_locations_go_out_in_the_crs_asked_for(api: Api, places: Places, clock: FakeClock) -> None:
    clock.set(sh(2026, 7, 3, 11, 0))
    lon, lat = places["310117102002"]
    cid = api.open_case("t_duty", (lon, lat))
    gx, gy = crs.transform(lon, lat, "wgs84", "gcj02")
    shown = api.get("t_duty", f"/{cid}", crs="GCJ02").json()["location"]
    assert shown["crs"] == "gcj02"
    assert abs(shown["lon"] - gx) < 1e-9 and abs(shown["lat"] - gy) < 1e-9
    listed = api.get("t_duty", "", crs="epsg:4549", limit=5).json()["items"]
    assert any(c["id"] == cid and c["location"]["lon"] > 100_000 for c in listed)


def test_the_same_event_racing_itself_opens_one_case(backend: Backend, places: Places) -> None:
    lon, lat = places["310117102002"]
    key = f"race-{uuid.uuid4().hex[:8]}"
    payload = {"source_key": key, "category": "event:0102", "lon": lon, "lat": lat, "text": "x"}

    async def race() -> None:
        env, engine = worker_env(backend, lambda: sh(2026, 7, 4, 10, 0))
        try:
            event = Detection(
                owner_code="310117",
                key=key,
                occurred_at=sh(2026, 7, 4, 9, 59),
                **{k: v for k, v in payload.items() if k != "source_key"},
            )
            await asyncio.gather(*(open_from_event(env, event) for _ in range(3)))
        finally:
            await engine.dispose()

    asyncio.run(race())

    async def count(session: AsyncSession) -> int:
        stmt = select(func.count()).select_from(CaseRecord).where(CaseRecord.source_key == key)
        return int(await session.scalar(stmt) or 0)

    assert in_db(backend, count) == 1

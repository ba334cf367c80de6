"""The must-show story: a 12345 order about a broken manhole cover in 泗泾, from intake to callback."""

from __future__ import annotations

from typing import Any

from cityops.geo import crs
from tests.cases.conftest import Api, Collector, FakeClock, People, Places, sh, utc_text

COMMUNITY = "310117102001"
ORDER = {
    "source": "hotline_12345",
    "source_key": "12345-20260302-0001",
    "category": "component:0101",
    "text": "泗泾镇某路口上水井盖破损，存在安全隐患",
    "address": "泗泾镇江川北路口",
    "reporter": {"name": "张三", "phone": "13812345678"},
    "urgency": "urgent",
}

EXPECTED = [
    # action, actor, from, to, loop level, owner
    ("created", "hotline", None, "received", "community", COMMUNITY),
    ("register", "t_sijing", "received", "registered", "community", COMMUNITY),
    ("dispatch", "t_sijing", "registered", "dispatched", "community", COMMUNITY),
    ("return", "t_grid", "dispatched", "returned", "community", COMMUNITY),
    ("escalate", "t_sijing", "returned", "registered", "town", "310117102"),
    ("dispatch", "t_sijing", "registered", "dispatched", "town", "310117102"),
    ("sign", "handler", "dispatched", "signed", "town", "310117102"),
    ("request_extension", "handler", "signed", "signed", "town", "310117102"),
    ("approve_extension", "t_sijing", "signed", "signed", "town", "310117102"),
    ("start", "handler", "signed", "in_progress", "town", "310117102"),
    ("handle", "handler", "in_progress", "handled", "town", "310117102"),
    ("check", "t_sijing", "handled", "verifying", "town", "310117102"),
    ("rework", "t_sijing", "verifying", "in_progress", "town", "310117102"),
    ("handle", "handler", "in_progress", "handled", "town", "310117102"),
    ("check", "t_sijing", "handled", "verifying", "town", "310117102"),
    ("verify", "t_sijing", "verifying", "verified", "town", "310117102"),
    ("close", "t_sijing", "verified", "closed", "town", "310117102"),
    ("evaluate", "hotline", "closed", "evaluated", "town", "310117102"),
]


def _intake(api: Api, places: Places) -> dict[str, Any]:
    lon, lat = places[COMMUNITY]
    gx, gy = crs.transform(lon, lat, "wgs84", "gcj02")  # the hotline's map speaks GCJ-02
    reply = api.create("hotline", **ORDER, location={"lon": gx, "lat": gy, "crs": "gcj02"})
    assert reply.status_code == 201, reply.text
    body: dict[str, Any] = reply.json()
    assert body["created"] is True
    assert abs(body["location"]["lon"] - lon) < 1e-7 and abs(body["location"]["lat"] - lat) < 1e-7
    again = api.create("hotline", **ORDER, location={"lon": gx, "lat": gy, "crs": "gcj02"})
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert again.json()["created"] is False
    return body


def _route_to_the_community(api: Api) -> int:
    # The shipped 井盖 rows close at the town; 泗泾's first community tries them itself first.
    rule = api.client.post(
        "/api/v1/cases/routing-rules",
        json={"category": "上水井盖", "unit_prefix": COMMUNITY, "loop_level": "community"},
        headers=api.headers("t_duty"),
    )
    assert rule.status_code == 201, rule.text
    assert rule.json()["category"] == "component:0101"
    rule_id: int = rule.json()["id"]
    return rule_id


def test_manhole_cover_from_12345_to_callback(
    api: Api, clock: FakeClock, places: Places, people: People, collector: Collector
) -> None:
    clock.set(sh(2026, 3, 2, 8, 55))
    rule_id = _route_to_the_community(api)
    try:
        clock.set(sh(2026, 3, 2, 9, 0))
        case = _intake(api, places)
    finally:
        deleted = api.client.delete(
            f"/api/v1/cases/routing-rules/{rule_id}", headers=api.headers("t_duty")
        )
        assert deleted.status_code == 204
    cid = case["id"]
    assert (case["status"], case["loop_level"], case["owner_code"]) == (
        "received",
        "community",
        COMMUNITY,
    )
    assert case["divisions"]["unit"] == "310117102"
    assert case["department_key"] == "sw"
    assert case["reporter"] == {"name": "张*", "phone": "138****5678", "email": None}

    def at(hour: int, minute: int) -> None:
        clock.set(sh(2026, 3, 2, hour, minute))

    at(9, 10)
    api.ok("t_sijing", cid, "register")
    at(9, 15)
    dispatched = api.ok("t_sijing", cid, "dispatch", comment="请居委会先行处置")
    assert dispatched["department"] is None  # the community handles it with its own people
    assert dispatched["sign_due_at"] == utc_text(sh(2026, 3, 2, 9, 45))
    assert dispatched["handle_due_at"] == utc_text(sh(2026, 3, 2, 14, 15))
    at(9, 20)
    returned = api.ok("t_grid", cid, "return", reason="井盖需专业维修，超出居村处置能力")
    assert returned["returns"] == 1
    at(9, 25)
    escalated = api.ok("t_sijing", cid, "escalate", reason="居村退单，升级至镇级大闭环")
    assert (escalated["loop_level"], escalated["owner_code"]) == ("town", "310117102")
    assert api.get("t_grid", f"/{cid}").status_code == 404  # out of the community's hands now
    at(9, 30)
    sent = api.ok("t_sijing", cid, "dispatch", department_key="sw")
    assert sent["department"]["id"] == people.dept_sw_sijing
    assert sent["department"]["name"] == "水务站"
    assert sent["sign_due_at"] == utc_text(sh(2026, 3, 2, 10, 0))
    assert sent["handle_due_at"] == utc_text(sh(2026, 3, 2, 14, 15))  # from the first dispatch
    at(9, 40)
    signed = api.ok("handler", cid, "sign")
    assert "request_extension" in signed["allowed_actions"]
    at(9, 45)
    asked = api.ok("handler", cid, "request_extension", hours=2, reason="需调配专用井盖")
    assert asked["status"] == "signed" and asked["pending_extension"]["hours"] == 2
    assert asked["handle_due_at"] == utc_text(sh(2026, 3, 2, 14, 15))  # a request moves nothing
    at(9, 50)
    approved = api.ok("t_sijing", cid, "approve_extension")
    assert approved["pending_extension"] is None
    assert approved["handle_due_at"] == utc_text(sh(2026, 3, 2, 16, 15))
    at(10, 0)
    api.ok("handler", cid, "start")
    at(11, 0)
    api.ok("handler", cid, "handle", comment="已更换井盖")
    at(11, 30)
    api.ok("t_sijing", cid, "check")
    at(11, 40)
    reworked = api.ok("t_sijing", cid, "rework", reason="井盖与路面仍有高差")
    assert reworked["reworks"] == 1 and reworked["status"] == "in_progress"
    at(14, 0)
    api.ok("handler", cid, "handle", comment="已重新调平井盖")
    at(14, 30)
    api.ok("t_sijing", cid, "check")
    at(14, 40)
    api.ok("t_sijing", cid, "verify")
    at(14, 50)
    closed = api.ok("t_sijing", cid, "close")
    assert closed["allowed_actions"] == ["evaluate", "reopen"]
    at(15, 30)
    evaluated = api.ok("hotline", cid, "evaluate", satisfaction=4, comment="回访满意")
    assert evaluated["status"] == "evaluated" and evaluated["satisfaction"] == 4

    _check_timeline(api, cid, people)
    _check_kpis(api)
    _check_events(collector, cid)


def _check_timeline(api: Api, cid: int, people: People) -> None:
    timeline = api.timeline(cid)
    assert [e["seq"] for e in timeline] == list(range(1, len(EXPECTED) + 1))
    names = {"hotline": None, "handler": None}
    for entry, (action, who, before, after, level, owner) in zip(timeline, EXPECTED, strict=True):
        assert (entry["action"], entry["from_status"], entry["to_status"]) == (
            action,
            before,
            after,
        )
        assert (entry["loop_level"], entry["owner_code"]) == (level, owner)
        if who in names:
            names[who] = names[who] or entry["actor"]
            assert entry["actor"] == names[who]
        else:
            assert entry["actor"] == who
    assert timeline[3]["reason"] == "井盖需专业维修，超出居村处置能力"
    assert timeline[4]["detail"]["from_level"] == "community"
    assert timeline[4]["detail"]["to_level"] == "town"
    assert timeline[5]["detail"]["department_id"] == people.dept_sw_sijing
    assert timeline[8]["detail"]["new_due_at"] == "2026-03-02T08:15:00+00:00"
    assert timeline[10]["comment"] == "已更换井盖"
    assert timeline[-1]["detail"] == {"satisfaction": 4}
    assert timeline[0]["at"] == utc_text(sh(2026, 3, 2, 9, 0))
    assert timeline[-1]["at"] == utc_text(sh(2026, 3, 2, 15, 30))


def _check_kpis(api: Api) -> None:
    reply = api.get(
        "t_duty",
        "/kpi",
        unit="310117102",
        since="2026-03-02T00:00:00+08:00",
        until="2026-03-03T00:00:00+08:00",
    )
    assert reply.status_code == 200, reply.text
    kpi = reply.json()
    assert (kpi["registered"], kpi["due"], kpi["closed"], kpi["evaluated"]) == (1, 1, 1, 1)
    assert (kpi["close_rate"], kpi["on_time_rate"]) == (1.0, 1.0)
    assert (kpi["rework_rate"], kpi["return_rate"]) == (1.0, 1.0)
    # 立案 09:10 → 办结 14:00: 2 h 50 min before lunch, 1 h after.
    assert kpi["avg_handling_hours"] == round(2 + 50 / 60 + 1, 4)
    assert kpi["avg_satisfaction"] == 4.0
    assert kpi["closed_by_loop"] == {"town": 1}
    town = api.get(
        "t_sijing",
        "/kpi",
        loop_level="community",
        since="2026-03-02T00:00:00+08:00",
        until="2026-03-03T00:00:00+08:00",
    ).json()
    assert town["closed"] == 0 and town["closed_by_loop"] == {}


def _check_events(collector: Collector, cid: int) -> None:
    created = collector.of("case.created", cid)
    assert len(created) == 1 and created[0].payload["source"] == "hotline_12345"
    moves = [(e.payload["from"], e.payload["to"]) for e in collector.of("case.transitioned", cid)]
    assert moves == [(b, a) for _, _, b, a, _, _ in EXPECTED[1:] if b != a]
    escalated = collector.of("case.escalated", cid)
    assert len(escalated) == 1 and escalated[0].payload["automatic"] is False
    assert escalated[0].payload["to_owner"] == "310117102"

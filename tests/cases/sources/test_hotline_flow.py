"""A 12345 order's whole flow, called back step by step to a real receiver, signed and in order."""

from __future__ import annotations

import time
from typing import Any

from cityops.geo import crs
from cityops.kit.outbox.webhook import verify
from cityops.outbox.runtime import build_outbox
from tests.cases.conftest import Places, sh
from tests.cases.sources.hotline_support import (
    CALLBACK_PATH,
    HANDLER,
    SECRET,
    SYSTEM,
    Hotline,
)

COMMUNITY = "310117102001"

#: The hotline app and its receivers, registered once for every hotline test module.
pytest_plugins = ["tests.cases.sources.hotline_fixtures"]


def order_body(places: Places, order_no: str, **extra: Any) -> dict[str, Any]:
    """A 投诉 about a broken manhole cover in 泗泾, its point in GCJ-02 as the hotline's map has it."""
    lon, lat = places[COMMUNITY]
    gx, gy = crs.transform(lon, lat, "wgs84", "gcj02")
    body: dict[str, Any] = {
        "order_no": order_no,
        "request_type": "投诉",
        "category": "component:0101",
        "content": "泗泾镇某路口上水井盖破损，存在安全隐患",
        "address": "泗泾镇江川北路口",
        "location": {"lon": gx, "lat": gy, "crs": "gcj02"},
        "caller": {"name": "张三", "phone": "13812345678"},
        "called_at": "2026-11-16T08:50:00+08:00",
        "deadline": "2026-11-23T17:00:00+08:00",
        "urgency": "紧急",
    }
    body.update(extra)
    return body


def open_and_dispatch(hotline: Hotline, places: Places, order_no: str) -> int:
    """Receive an order, register it and dispatch it to 泗泾's 水务站."""
    reply = hotline.order(**order_body(places, order_no))
    assert reply.status_code == 201, reply.text
    case_id: int = reply.json()["case_id"]
    hotline.act("t_sijing", case_id, "register")
    hotline.act("t_sijing", case_id, "dispatch", department_key="sw", comment="请水务站处置")
    return case_id


def test_every_step_is_called_back_in_order_signed(hotline: Hotline, places: Places) -> None:
    assert hotline.started_in_lifespan  # the app's lifespan started a dispatcher
    order_no = "SH12345-20260302-0001"
    reply = hotline.order(**order_body(places, order_no))
    assert reply.status_code == 201, reply.text
    body = reply.json()
    case_id = body["case_id"]
    assert (body["created"], body["status"], body["callbacks"]) == (True, "received", True)
    assert body["request_type"] == "hotline:03" and body["category"] == "component:0101"
    assert body["located_by"] == "point" and body["hotline_deadline"] == "2026-11-23T09:00:00Z"
    again = hotline.order(**order_body(places, order_no, content="重复推送"))
    assert again.status_code == 200 and again.json()["case_id"] == case_id
    assert again.json()["created"] is False

    hotline.act("t_sijing", case_id, "register")
    hotline.act("t_sijing", case_id, "dispatch", department_key="sw")
    hotline.peer.fail_next(2, 503)  # the hotline is down for the first callback
    hotline.clock.set(sh(2026, 11, 16, 9, 30))
    hotline.act(HANDLER, case_id, "sign")
    assert hotline.deliver().retrying  # 503
    hotline.clock.advance(minutes=5)
    hotline.act(HANDLER, case_id, "request_extension", hours=2, reason="需调配专用井盖")
    hotline.deliver()  # 503 again for 签收; the extension request waits behind it
    assert hotline.callbacks(order_no) == []
    hotline.act("t_sijing", case_id, "approve_extension")
    hotline.act(HANDLER, case_id, "request_extension", days=1, reason="雨天无法施工")
    hotline.act("t_sijing", case_id, "reject_extension", reason="请按时完成")
    hotline.act(HANDLER, case_id, "start")
    hotline.act(HANDLER, case_id, "handle", comment="已更换井盖")
    for action in ("check", "verify", "close"):
        hotline.act("t_sijing", case_id, action)
    hotline.clock.advance(minutes=30)
    assert len(hotline.deliver().delivered) == 7
    evaluated = hotline.client.post(
        f"/api/v1/sources/12345/orders/{order_no}/evaluation",
        json={"satisfaction": 5, "comment": "满意"},
        headers=hotline.headers(SYSTEM),
    )
    assert evaluated.status_code == 200, evaluated.text
    assert evaluated.json()["status"] == "evaluated"
    assert hotline.deliver().delivered

    seen = hotline.callbacks(order_no)
    payloads = [s.json() for s in seen]
    assert [p["action"] for p in payloads] == [
        "sign",
        "request_extension",
        "approve_extension",
        "request_extension",
        "reject_extension",
        "handle",
        "close",
        "evaluate",
    ]
    assert [p["status"] for p in payloads] == [
        "signed",
        "signed",
        "signed",
        "signed",
        "signed",
        "handled",
        "closed",
        "evaluated",
    ]
    seqs = [p["seq"] for p in payloads]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    sign, request, approve, request2, reject, handle, close, evaluate = payloads
    assert sign["schema"] == "cityops.hotline.callback/1"
    assert (sign["order_no"], sign["case_id"], sign["action_label"]) == (order_no, case_id, "签收")
    assert sign["status_label"] == "已签收" and sign["actor_org"] == "310117102"
    assert (
        sign["at"] == "2026-11-16T01:30:00Z" and sign["hotline_deadline"] == "2026-11-23T09:00:00Z"
    )
    assert request["reason"] == "需调配专用井盖" and request["extension"] == {
        "hours": 2,
        "days": None,
    }
    assert approve["extension"]["new_deadline"] == approve["deadline"]
    assert approve["deadline"] > sign["deadline"]  # the extension moved our deadline
    assert request2["extension"] == {"hours": None, "days": 1}
    assert reject["reason"] == "请按时完成" and reject["deadline"] == approve["deadline"]
    assert handle["result"] == "已更换井盖" and handle["action_label"] == "办结"
    assert close["status_label"] == "已结案"
    assert evaluate["satisfaction"] == 5 and evaluate["comment"] == "满意"
    for s, p in zip(seen, payloads, strict=True):
        headers = s.headers
        assert headers["x-cityops-delivery"] == p["delivery_id"]
        assert headers["x-cityops-event"] == f"hotline.{p['action']}"
        assert verify(
            SECRET.encode(), headers["x-cityops-timestamp"], s.body, headers["x-cityops-signature"]
        )
        assert "张三" not in s.body.decode() and "13812345678" not in s.body.decode()
    first_tries = hotline.callbacks(order_no, status=503)
    assert [s.headers["x-cityops-delivery"] for s in first_tries] == [sign["delivery_id"]] * 2


def test_a_return_is_called_back_with_its_reason(hotline: Hotline, places: Places) -> None:
    order_no = "SH12345-20260302-0002"
    case_id = open_and_dispatch(hotline, places, order_no)
    hotline.act(HANDLER, case_id, "return", reason="非本部门职责，应由房管办处置")
    hotline.act("t_sijing", case_id, "dispatch", department_key="sw", comment="属水务职责")
    hotline.act(HANDLER, case_id, "sign")
    hotline.deliver()
    payloads = [s.json() for s in hotline.callbacks(order_no)]
    assert [(p["action"], p["status"], p["action_label"]) for p in payloads] == [
        ("return", "returned", "退单"),
        ("sign", "signed", "签收"),
    ]
    assert payloads[0]["reason"] == "非本部门职责，应由房管办处置"
    assert all(s.path == CALLBACK_PATH for s in hotline.peer.received())


def test_an_order_with_its_own_allowed_callback_url(hotline: Hotline, places: Places) -> None:
    order_no = "SH12345-20260302-0003"
    url = hotline.peer.url("/per-order/callback?token=abc")
    reply = hotline.order(**order_body(places, order_no, callback_url=url))
    assert reply.status_code == 201, reply.text
    case_id = reply.json()["case_id"]
    hotline.act("t_sijing", case_id, "register")
    hotline.act("t_sijing", case_id, "dispatch", department_key="sw")
    hotline.act(HANDLER, case_id, "sign")
    assert hotline.deliver().delivered
    seen = hotline.peer.received("/per-order/callback")
    assert [s.json()["action"] for s in seen if s.json()["order_no"] == order_no] == ["sign"]
    assert seen[-1].query == {"token": "abc"}
    listed = hotline.client.get(
        "/api/v1/outbox", params={"ref": f"case:{case_id}"}, headers=hotline.headers("t_admin")
    )
    assert listed.status_code == 200, listed.text
    callback = next(m for m in listed.json()["items"] if m["channel"] == "webhook")
    assert callback["target"].endswith("/per-order/callback")  # no query string for operators


def test_restarting_the_dispatcher_loses_and_repeats_nothing(
    hotline: Hotline, places: Places
) -> None:
    order_no = "SH12345-20260302-0004"
    case_id = open_and_dispatch(hotline, places, order_no)
    portal = hotline.client.portal
    assert portal is not None
    first = hotline.runtime.dispatcher
    portal.call(first.start)  # the lifespan's dispatcher, polling on its own again
    try:
        hotline.act(HANDLER, case_id, "sign")
        hotline.act(HANDLER, case_id, "start")
        wait_for_callbacks(hotline, order_no, 1)
    finally:
        portal.call(first.stop)  # its pass under way finishes: a duplicate would be in by now
    assert len(hotline.callbacks(order_no)) == 1
    hotline.act(HANDLER, case_id, "handle", comment="已更换井盖")  # while nobody delivers
    for action in ("check", "verify", "close"):
        hotline.act("t_sijing", case_id, action)
    second = build_outbox(hotline.env.settings, hotline.env.sessions, hotline.env.now)
    portal.call(second.dispatcher.start)  # a new dispatcher, as after a restart of the process
    try:
        wait_for_callbacks(hotline, order_no, 3)
    finally:
        portal.call(second.close)
    seen = hotline.callbacks(order_no)
    assert [s.json()["action"] for s in seen] == ["sign", "handle", "close"]
    assert len({s.headers["x-cityops-delivery"] for s in seen}) == 3  # nothing twice


def wait_for_callbacks(hotline: Hotline, order_no: str, count: int) -> list[Any]:
    """The order's callbacks once `count` have arrived (the dispatcher runs on its own).

    The deadline only guards against a hang: a busy machine may take its time.
    """
    deadline = time.monotonic() + 120
    while len(hotline.callbacks(order_no)) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return hotline.callbacks(order_no)

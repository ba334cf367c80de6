"""The Open311 GeoReport v2 facade: services, reporting, status mapping, readers, idempotence."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

import httpx
from fastapi.testclient import TestClient

from cityops.cases.catalog.shipped import Kind, shipped_catalog
from cityops.cases.flow.env import CaseEnv
from tests.cases.conftest import Api, FakeClock, Places, sh
from tests.cases.sources.conftest import System, Systems

V2 = "/open311/v2"
POINT = "310117102002"  # a 泗泾 community


def post_request(
    client: TestClient, system: System, headers: dict[str, str] | None = None, **fields: Any
) -> httpx.Response:
    """POST requests.json, form-encoded, with the system's api_key."""
    return client.post(
        f"{V2}/requests.json", data={"api_key": system.key, **fields}, headers=headers or {}
    )


def parse_xml(content: bytes) -> ET.Element:
    """Parse the facade's XML (our own server's output, not untrusted input)."""
    return ET.fromstring(content)  # noqa: S314


def located(places: Places, code: str = POINT) -> dict[str, str]:
    """lat and long of a point inside a community."""
    lon, lat = places[code]
    return {"lat": str(lat), "long": str(lon)}


def opened(reply: httpx.Response, status: int = 201) -> int:
    """The service_request_id of a POST answer."""
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert isinstance(body, list) and len(body) == 1
    return int(body[0]["service_request_id"])


def anonymous(client: TestClient, path: str, **params: Any) -> httpx.Response:
    """A GET without any credentials (the test client's cookie jar emptied first)."""
    client.cookies.clear()
    return client.get(f"{V2}{path}", params=params)


def test_services_are_the_catalogue_in_json_and_xml(client: TestClient) -> None:
    reply = anonymous(client, "/services.json")
    assert reply.headers["content-type"] == "application/json; charset=utf-8"
    services = reply.json()
    expected = len(shipped_catalog(Kind.COMPONENT)) + len(shipped_catalog(Kind.EVENT))
    assert len(services) == expected
    assert not any(s["service_code"].startswith("hotline") for s in services)
    cover = next(s for s in services if s["service_code"] == "component-0101")
    assert cover["service_name"] == "上水井盖" and cover["group"] == "部件·公用设施"
    assert (cover["metadata"], cover["type"]) == (True, "realtime")
    assert cover["keywords"] == "自来水井盖, 给水井盖"
    assert "处置时限4个工作小时" in cover["description"] and "示意" in cover["description"]
    event = next(s for s in services if s["service_code"] == "event-0101")
    assert event["metadata"] is False and event["group"].startswith("事件·")
    xml = anonymous(client, "/services.xml")
    assert xml.headers["content-type"] == "text/xml; charset=utf-8"
    assert xml.text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    root = parse_xml(xml.content)
    assert root.tag == "services" and len(root) == expected
    first = root.find("service[service_code='component-0101']")
    assert first is not None and first.findtext("metadata") == "true"
    assert first.findtext("service_name") == "上水井盖"


def test_service_definitions_and_discovery(client: TestClient) -> None:
    cover = anonymous(client, "/services/component-0101.json").json()
    assert cover["service_code"] == "component-0101"
    (attribute,) = cover["attributes"]
    assert {k: attribute[k] for k in ("code", "datatype", "required", "variable", "order")} == {
        "code": "component_id",
        "datatype": "string",
        "required": False,
        "variable": True,
        "order": 1,
    }
    assert "3101170101000123" in attribute["description"]
    assert anonymous(client, "/services/event-0102.json").json() == {
        "service_code": "event-0102",
        "attributes": [],
    }
    xml = parse_xml(anonymous(client, "/services/component-0101.xml").content)
    assert xml.tag == "service_definition"
    assert xml.findtext("attributes/attribute/code") == "component_id"
    found = client.get("/open311/discovery.json").json()
    assert found["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert found["endpoints"][0]["url"].endswith("/open311/v2")
    assert found["endpoints"][0]["formats"] == ["text/xml", "application/json"]
    discovery = parse_xml(client.get("/open311/discovery.xml").content)
    assert discovery.findtext("endpoints/endpoint/formats/format") == "text/xml"


def test_a_report_opens_a_case_and_reads_back_without_personal_data(
    client: TestClient, api: Api, systems: Systems, places: Places, clock: FakeClock
) -> None:
    clock.set(sh(2026, 10, 12, 10, 0))
    reply = post_request(
        client,
        systems.open311,
        service_code="component-0101",
        address_string="泗泾镇江川北路口",
        email="zhangsan@example.cn",
        first_name="三",
        last_name="张",
        phone="13812345678",
        description="井盖缺了，联系我 13812345678 或 zhangsan@example.cn",
        media_url="https://img.example.cn/a.jpg",
        device_id="dev-1",
        account_id="acc-1",
        jurisdiction_id="songjiang.gov.cn",
        **{"attribute[component_id]": "3101170101000123"},
        **located(places),
    )
    rid = opened(reply)
    answer = reply.json()[0]
    assert answer["account_id"] == "acc-1" and "上水井盖" in answer["service_notice"]
    case = api.detail(rid)
    assert (case["source"], case["source_key"], case["component_id"]) == (
        "open311",
        None,
        "3101170101000123",
    )
    assert case["reporter"] == {
        "name": "张*",
        "phone": "138****5678",
        "email": "z*******@example.cn",
    }
    assert case["photos"] == ["https://img.example.cn/a.jpg"]
    contact = api.get("t_duty", f"/{rid}/contact").json()
    assert contact == {"name": "张三", "phone": "13812345678", "email": "zhangsan@example.cn"}
    public = anonymous(client, f"/requests/{rid}.json")
    assert public.status_code == 200, public.text
    (request,) = public.json()
    for secret in ("张三", "13812345678", "zhangsan", "acc-1", "dev-1"):
        assert secret not in public.text
    assert request["description"] == "井盖缺了，联系我 [已隐去] 或 [已隐去]"
    assert request["status"] == "open" and request["status_notes"] == "已受理，待立案"
    assert (request["service_code"], request["service_name"]) == ("component-0101", "上水井盖")
    assert request["agency_responsible"] == "泗泾镇"
    assert request["requested_datetime"] == "2026-10-12T10:00:00+08:00"
    assert request["expected_datetime"] is None
    assert request["address"] == "泗泾镇江川北路口"
    assert abs(request["long"] - places[POINT][0]) < 1e-9
    assert request["media_url"] == "https://img.example.cn/a.jpg"
    own = client.get(f"{V2}/requests/{rid}.json", headers=systems.open311.headers).json()
    assert own[0]["description"].startswith("井盖缺了，联系我 13812345678")
    # The town takes it up: agency and expected time follow the case.
    clock.advance(minutes=5)
    api.ok("t_sijing", rid, "register")
    dispatched = api.ok("t_sijing", rid, "dispatch", department_key="sw")
    (request,) = anonymous(client, f"/requests/{rid}.json").json()
    assert request["agency_responsible"] == "泗泾镇水务站"
    assert request["status_notes"] == "已派遣至处置单位"
    expected = datetime.fromisoformat(request["expected_datetime"])
    assert expected == datetime.fromisoformat(dispatched["handle_due_at"])
    assert request["updated_datetime"] == "2026-10-12T10:05:00+08:00"
    xml = parse_xml(anonymous(client, f"/requests/{rid}.xml").content)
    assert xml.tag == "service_requests"
    assert xml.findtext("request/service_request_id") == str(rid)
    assert xml.findtext("request/status") == "open"


def test_idempotency_keys_recognise_a_resent_report(
    client: TestClient, systems: Systems, places: Places, clock: FakeClock
) -> None:
    clock.set(sh(2026, 10, 13, 9, 0))
    form = {"service_code": "event-0102", "description": "暴露垃圾", **located(places)}
    key = {"Idempotency-Key": "report-0001"}
    first = opened(post_request(client, systems.open311, key, device_id="phone-A", **form))
    again = post_request(client, systems.open311, key, device_id="phone-A", **form)
    assert opened(again, 200) == first
    by_field = post_request(
        client, systems.open311, device_id="phone-A", idempotency_key="report-0001", **form
    )
    assert opened(by_field, 200) == first
    other_device = post_request(client, systems.open311, key, device_id="phone-B", **form)
    assert opened(other_device) != first
    other_client = post_request(client, systems.open311_sijing, key, device_id="phone-A", **form)
    assert opened(other_client) != first
    # Without a key nothing says it is the same report: GeoReport has no request key.
    twice = {opened(post_request(client, systems.open311, **form)) for _ in range(2)}
    assert len(twice) == 2
    clash = post_request(client, systems.open311, key, idempotency_key="report-0002", **form)
    assert clash.status_code == 400 and "differs" in clash.json()[0]["description"]
    junk = post_request(client, systems.open311, {"Idempotency-Key": "has space"}, **form)
    assert junk.status_code == 400


def test_the_list_filters_and_the_closed_status(
    client: TestClient, api: Api, systems: Systems, places: Places, clock: FakeClock
) -> None:
    clock.set(sh(2026, 10, 14, 9, 0))
    cover = opened(
        post_request(client, systems.open311, service_code="component-0101", **located(places))
    )
    litter = opened(
        post_request(client, systems.open311, service_code="event-0102", **located(places))
    )
    api.ok("t_duty", litter, "void", reason="重复报告")
    both = f"{cover},{litter}"
    listed = anonymous(client, "/requests.json", service_request_id=both).json()
    assert [r["service_request_id"] for r in listed] == [str(litter), str(cover)]
    closed = next(r for r in listed if r["service_request_id"] == str(litter))
    assert (closed["status"], closed["status_notes"]) == ("closed", "经核实不予立案")
    window = {"start_date": "2026-10-14T08:00:00+08:00", "end_date": "2026-10-14T02:00:00Z"}

    def ids(**params: str) -> set[str]:
        reply = anonymous(client, "/requests.json", **params)
        assert reply.status_code == 200, reply.text
        return {r["service_request_id"] for r in reply.json()}

    assert {str(cover), str(litter)} <= ids(**window)
    assert str(litter) in ids(status="closed", **window)
    assert str(cover) not in ids(status="closed", **window)
    assert {str(cover), str(litter)} <= ids(status="open,closed", **window)
    assert ids(service_code="event-0102", **window) >= {str(litter)}
    assert str(cover) not in ids(service_code="event-0102", **window)
    assert str(cover) in ids()  # the default window: the last 90 days
    later = {"start_date": "2026-10-14T10:00:00+08:00"}
    assert str(cover) not in ids(**later)


def test_who_reads_what(
    client: TestClient,
    api: Api,
    env: CaseEnv,
    login: Any,
    systems: Systems,
    places: Places,
    clock: FakeClock,
) -> None:
    clock.set(sh(2026, 10, 15, 9, 0))
    theirs = opened(
        post_request(client, systems.open311_sijing, service_code="event-0102", **located(places))
    )
    mine = client.get(
        f"{V2}/requests.json",
        params={"service_request_id": str(theirs)},
        headers=systems.open311.headers,
    )
    assert mine.json() == []  # another client's request is not "mine"
    assert len(anonymous(client, "/requests.json", service_request_id=str(theirs)).json()) == 1
    staff_case = api.open_case("t_duty", places[POINT], "event:0102")
    assert anonymous(client, f"/requests/{staff_case}.json").status_code == 404
    env.settings.open311_public_reads = False
    try:
        refused = anonymous(client, f"/requests/{theirs}.json")
        assert refused.status_code == 403 and refused.json()[0]["code"] == 403
        allowed = client.get(f"{V2}/requests/{theirs}.json", headers=systems.open311_sijing.headers)
        assert allowed.status_code == 200
    finally:
        env.settings.open311_public_reads = True
    for headers in (login.headers("t_duty"), {"Authorization": "Bearer cok_nothing"}):
        assert client.get(f"{V2}/requests.json", headers=headers).status_code == 403


def test_a_report_in_xml(
    client: TestClient, systems: Systems, places: Places, clock: FakeClock
) -> None:
    clock.set(sh(2026, 10, 16, 9, 0))
    reply = client.post(
        f"{V2}/requests.xml",
        data={"api_key": systems.open311.key, "service_code": "event-0102", **located(places)},
    )
    assert reply.status_code == 201 and reply.headers["content-type"] == "text/xml; charset=utf-8"
    root = parse_xml(reply.content)
    assert root.tag == "service_requests"
    request_id = root.findtext("request/service_request_id")
    assert request_id and request_id.isdigit()
    assert root.find("request/account_id") is not None
    assert "暴露垃圾" in (root.findtext("request/service_notice") or "")

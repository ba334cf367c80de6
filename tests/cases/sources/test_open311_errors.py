"""Open311 refusals: GeoReport arrays (JSON/XML) or RFC 9457 on request, 4xx, nothing written."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.auth.conftest import assert_problem
from tests.cases.conftest import Places, counts
from tests.cases.sources.conftest import Systems
from tests.cases.sources.test_open311 import V2, located, parse_xml
from tests.conftest import Backend, Login

PROBLEM = {"Accept": "application/problem+json"}
FORM = {"content-type": "application/x-www-form-urlencoded"}


def georeport(reply: httpx.Response, status: int, words: str = "") -> str:
    """Check a GeoReport JSON error array; return its first description."""
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/json; charset=utf-8"
    body = reply.json()
    assert isinstance(body, list) and body and body[0]["code"] == status
    description: str = body[0]["description"]
    assert words in description, body
    return description


def test_the_api_key_in_all_three_error_shapes(
    client: TestClient, systems: Systems, places: Places, login: Login, backend: Backend
) -> None:
    before = counts(backend)
    form = {"service_code": "event-0102", **located(places)}
    url = f"{V2}/requests.json"
    client.cookies.clear()
    georeport(client.post(url, data=form), 403, "api_key is required")
    georeport(client.post(url, data={**form, "api_key": "cok_wrong"}), 403, "invalid api_key")
    staff = login.token("t_duty")  # a person's session token is no system's key
    georeport(client.post(url, data={**form, "api_key": staff}), 403, "system clients")
    xml = client.post(f"{V2}/requests.xml", data=form)
    assert xml.status_code == 403 and xml.headers["content-type"] == "text/xml; charset=utf-8"
    root = parse_xml(xml.content)
    assert root.tag == "errors" and root.findtext("error/code") == "403"
    problem = assert_problem(client.post(url, data=form, headers=PROBLEM), 403, "invalid-api-key")
    assert problem["instance"] == url
    # The key may come as a bearer header too.
    ok = client.post(url, data=form, headers=systems.open311.headers)
    assert ok.status_code == 201, ok.text
    assert counts(backend)[0] == before[0] + 1


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ({"service_code": None}, 400, "service_code: is required"),
        ({"service_code": "component-9999"}, 404, "service_code component-9999"),
        ({"service_code": "hotline-03"}, 404, "service_code"),
        ({"service_code": "../../etc"}, 404, "service_code"),
        ({"lat": "abc"}, 400, "lat: 'abc' is not a number"),
        ({"lat": "NaN"}, 400, "lat: must be a number between -90 and 90"),
        ({"long": "1e999"}, 400, "long: must be a number"),
        ({"lat": "91"}, 400, "lat: must be a number"),
        ({"long": None}, 400, "long: lat and long must be sent together"),
        ({"lat": "31.23", "long": "121.47"}, 400, "outside"),  # 黄浦区, not this district
        ({"crs": "mars"}, 400, "mars"),
        ({"description": "长" * 4001}, 400, "description: is 4001 characters long"),
        ({"description": "坏\x00字"}, 400, "description: must not contain NUL"),
        ({"email": "not-an-email"}, 400, "email: is not an email address"),
        ({"phone": "call me"}, 400, "phone: is not a phone number"),
        ({"media_url": "javascript:alert(1)"}, 400, "media_url: must be an http(s) URL"),
        ({"attribute[colour]": "red"}, 400, "attribute[colour]: is not an attribute"),
        ({"attribute[component_id]": "3101180101000123"}, 400, "310118 (digits 1-6)"),
        ({"attribute[component_id]": "3101170199000123"}, 400, "minor class 99"),
        ({"attribute[component_id]": "3101170102000123"}, 400, "not a 上水井盖"),
        ({"attribute[]": "x"}, 400, "attribute[CODE]"),
        ({"lat": None, "long": None}, 400, "give lat and long, address_id or address_string"),
        ({"lat": None, "long": None, "address_id": "999999999"}, 400, "no standard address"),
        ({"lat": None, "long": None, "address_id": "12a"}, 400, "address_id: must be the number"),
        ({"lat": None, "long": None, "address_id": "99999999999"}, 400, "address_id: must be"),
        ({"lat": None, "long": None, "address_id": "²"}, 400, "address_id: must be the number"),
        ({"lat": None, "long": None, "address_string": "火星"}, 400, "address_string"),
        (
            {"lat": None, "long": None, "address_string": "上海市黄浦区南京东路100号"},
            400,
            "address_string",
        ),
    ],
)
def test_bad_reports_are_4xx_and_write_nothing(
    client: TestClient,
    systems: Systems,
    places: Places,
    backend: Backend,
    fields: dict[str, Any],
    status: int,
    words: str,
) -> None:
    form: dict[str, Any] = {
        "api_key": systems.open311.key,
        "service_code": "component-0101",
        **located(places),
    }
    form.update(fields)
    before = counts(backend)
    reply = client.post(
        f"{V2}/requests.json", data={k: v for k, v in form.items() if v is not None}
    )
    georeport(reply, status, words)
    assert counts(backend) == before
    as_problem = client.post(
        f"{V2}/requests.json",
        data={k: v for k, v in form.items() if v is not None},
        headers=PROBLEM,
    )
    assert_problem(as_problem, status)


def test_malformed_forms(
    client: TestClient, systems: Systems, places: Places, backend: Backend
) -> None:
    before = counts(backend)
    url = f"{V2}/requests.json"
    good = f"api_key={systems.open311.key}&service_code=event-0102&lat=31.1&long=121.2"
    georeport(client.post(url, content=good + "&description=%FF%FE", headers=FORM), 400, "UTF-8")
    georeport(client.post(url, content=b"\xff\xfe" + good.encode(), headers=FORM), 400, "UTF-8")
    many = "&".join(f"f{i}=x" for i in range(150))
    georeport(client.post(url, content=f"{good}&{many}", headers=FORM), 400, "fields")
    twice = client.post(url, content=good + "&service_code=event-0101", headers=FORM)
    georeport(twice, 400, "service_code: is given more than once")
    as_json = client.post(url, json={"api_key": systems.open311.key})
    georeport(as_json, 415, "application/x-www-form-urlencoded")
    nothing = client.post(url, content=b"", headers=FORM)
    georeport(nothing, 403, "api_key")
    huge = client.post(url, content=good + "&description=" + "x" * 1_100_000, headers=FORM)
    assert huge.status_code == 413
    assert counts(backend) == before


def test_reads_refuse_bad_arguments_in_georeport_shape(client: TestClient) -> None:
    client.cookies.clear()
    cases = [
        ("/requests.json?start_date=2026-01-01T00:00:00", 400, "start_date: give a time zone"),
        ("/requests.json?start_date=yesterday", 400, "not a W3C date-time"),
        (
            "/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z",
            400,
            "at most 90 days",
        ),
        (
            "/requests.json?start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z",
            400,
            "before start_date",
        ),
        ("/requests.json?status=pending", 400, "neither open nor closed"),
        ("/requests.json?service_code=nope", 400, "unknown service_code"),
        ("/requests.json?service_request_id=1,x", 400, "is not a service_request_id"),
        ("/requests.json?service_request_id=99999999999", 400, "is not a service_request_id"),
        ("/requests.json?status=" + "x" * 300, 400, "parameter"),
        ("/requests/abc.json", 404, "service request abc"),
        ("/requests.json?service_request_id=%C2%B2", 400, "is not a service_request_id"),
        ("/requests/%C2%B2.json", 404, "service request"),
        ("/requests/99999999999999999999.json", 404, "service request"),
        ("/requests/2147483647.json", 404, "service request"),
        ("/requests.html", 404, "use .json or .xml"),
        ("/services/component-0101.yaml", 404, "use .json or .xml"),
        ("/tokens/123.json", 404, "returns service_request_id at once"),
        ("/nothing/here", 404, "Open311 resource"),
    ]
    for path, status, words in cases:
        georeport(client.get(f"{V2}{path}"), status, words)
    nul = client.get(f"{V2}/requests.json", params={"service_code": "a\x00b"})
    georeport(nul, 400, "unknown service_code")
    xml = client.get(f"{V2}/requests/abc.xml")
    assert xml.status_code == 404 and parse_xml(xml.content).findtext("error/code") == "404"
    problem = client.get(f"{V2}/requests.json?status=pending", headers=PROBLEM)
    assert assert_problem(problem, 400, "validation")["errors"][0]["loc"] == ["query", "status"]


def test_a_town_scoped_client_reports_only_in_its_town(
    client: TestClient, systems: Systems, places: Places, backend: Backend
) -> None:
    before = counts(backend)
    form = {"api_key": systems.open311_sijing.key, "service_code": "event-0102"}
    reply = client.post(f"{V2}/requests.json", data={**form, **located(places, "310117103001")})
    georeport(reply, 403, "outside your data scope")
    assert counts(backend) == before


def test_several_bad_parameters_are_each_listed(client: TestClient) -> None:
    client.cookies.clear()
    reply = client.get(f"{V2}/requests.json", params={"status": "x" * 300, "end_date": "y" * 300})
    body = reply.json()
    assert reply.status_code == 400 and body[0]["description"] == "2 parameter(s) invalid"
    assert {e["description"].split(":")[0] for e in body[1:]} == {"query.status", "query.end_date"}
    single = client.get(f"{V2}/requests.json", params={"status": "pending"}).json()
    assert len(single) == 1

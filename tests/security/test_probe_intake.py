"""Probe findings 1-3: photos, sources and source keys a caller does not own."""

from __future__ import annotations

import io
import uuid
from typing import Any

from fastapi.testclient import TestClient
from PIL import Image

from tests.auth.conftest import assert_problem
from tests.cases.conftest import Places, places
from tests.cases.sources.conftest import make_system
from tests.conftest import Backend, Login
from tests.media.conftest import Media, media

__all__ = ["media", "places"]  # fixtures used by name

SIJING_POINT = "310117102001"  # the community of t_grid, in 泗泾
CASES = "/api/v1/cases"


def _unique_jpeg() -> bytes:
    """A photo no other test uploaded: photos are stored by content, so a shared picture could
    already be readable in 泗泾 through another test's case."""
    image = Image.new("RGB", (320, 240), tuple(uuid.uuid4().bytes[:3]))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def _sheshan_photo(media: Media) -> str:
    """A photo a 佘山 operator uploaded: 泗泾 callers may not read it (the media API says 404)."""
    ref: str = media.upload("t_sheshan", _unique_jpeg())["ref"]
    sha = ref.removeprefix("photo:")
    direct = media.client.get(f"/api/v1/media/photos/{sha}", headers=media.login.headers("t_grid"))
    assert direct.status_code == 404
    return ref


def _at(places: Places, community: str) -> dict[str, float]:
    lon, lat = places[community]
    return {"lon": lon, "lat": lat}


def test_grid_report_cannot_attach_another_towns_photo(media: Media, places: Places) -> None:
    ref = _sheshan_photo(media)
    body = {"kind": "event", "category": "event:0102", "text": "借图", "photos": [ref]}
    body["location"] = _at(places, SIJING_POINT)
    reply = media.client.post(
        "/api/v1/sources/grid/reports", json=body, headers=media.login.headers("t_grid")
    )
    problem = assert_problem(reply, 422, "validation")
    assert problem["errors"][0]["loc"] == ["body", "photos", 0]
    # The worker's own photo still goes through.
    own: str = media.upload("t_grid", _unique_jpeg())["ref"]
    ok = media.client.post(
        "/api/v1/sources/grid/reports",
        json={**body, "photos": [own]},
        headers=media.login.headers("t_grid"),
    )
    assert ok.status_code == 201, ok.text
    sha = own.removeprefix("photo:")
    shown = media.client.get(
        f"/cases/{ok.json()['id']}/photos/{sha}", headers=media.login.headers("t_grid")
    )
    assert shown.status_code == 200 and shown.headers["content-type"].startswith("image/")


def test_town_system_cannot_attach_another_towns_photo(
    media: Media, places: Places, backend: Backend
) -> None:
    ref = _sheshan_photo(media)
    system = make_system(
        media.client, backend, media.login, "310117102", "town_sj_probe", ("town_system",)
    )
    body = {
        "case_no": f"P-{uuid.uuid4().hex[:8]}",
        "category": "component:0101",
        "text": "借图",
        "location": _at(places, SIJING_POINT),
        "photos": [ref],
    }
    reply = media.client.post("/api/v1/sources/town/cases", json=body, headers=system.headers)
    assert_problem(reply, 422, "validation")


def _report(places: Places, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "source": "grid",
        "category": "event:0102",
        "text": "x",
        "location": _at(places, SIJING_POINT),
    }
    return {**body, **changes}


def _feed_texts(client: TestClient) -> list[str]:
    reply = client.get("/open311/v2/requests.json")
    assert reply.status_code == 200, reply.text
    return [item["description"] or "" for item in reply.json()]


def test_staff_cannot_publish_a_case_as_open311(
    client: TestClient, login: Login, places: Places
) -> None:
    text = f"内部线索 {uuid.uuid4().hex[:8]}"
    for who in ("t_duty", "t_sijing", "t_grid"):
        reply = client.post(
            CASES, json=_report(places, source="open311", text=text), headers=login.headers(who)
        )
        problem = assert_problem(reply, 403, "forbidden")
        assert "open311" in problem["detail"] and "/open311/v2/requests.json" in problem["detail"]
    assert not any(text in shown for shown in _feed_texts(client))


def test_each_role_claims_only_its_channels(
    client: TestClient, login: Login, places: Places
) -> None:
    for source in ("town_system", "hotline_12345", "iot", "ai", "video", "command"):
        reply = client.post(
            CASES, json=_report(places, source=source), headers=login.headers("t_sijing")
        )
        assert_problem(reply, 403, "forbidden")
    mine = client.post(
        CASES, json=_report(places, source="mobile"), headers=login.headers("t_grid")
    )
    assert mine.status_code == 201, mine.text


def test_a_town_operator_cannot_squat_the_grid_systems_number(
    client: TestClient, login: Login, backend: Backend, places: Places
) -> None:
    number = f"AJ-{uuid.uuid4().hex[:10]}"  # the urban-grid system's next 案卷号
    squat = client.post(
        CASES, json=_report(places, source_key=number), headers=login.headers("t_sijing")
    )
    assert squat.status_code == 201, squat.text
    assert squat.json()["source_key"].endswith(f":{number}")
    again = client.post(
        CASES, json=_report(places, source_key=number), headers=login.headers("t_sijing")
    )
    assert again.status_code == 200 and again.json()["id"] == squat.json()["id"]
    # The real 案卷 arrives: a case of its own, not a 409 that betrays the squatter's key.
    system = make_system(client, backend, login, "310117", "grid_probe", ("grid",))
    real = client.post(
        "/api/v1/sources/grid/reports",
        json={
            "report_no": number,
            "kind": "event",
            "category": "event:0102",
            "text": "真案卷",
            "location": _at(places, SIJING_POINT),
        },
        headers=system.headers,
    )
    assert real.status_code == 201, real.text
    assert real.json()["source_key"] == number and real.json()["id"] != squat.json()["id"]

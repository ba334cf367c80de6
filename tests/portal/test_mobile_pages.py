"""Phone pages over HTTP: my tasks, a case with photos, the grid worker's and the citizen's report."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from cityops.app import create_app
from tests.media import images
from tests.portal.workbench_app import Portal, case_ids, csrf_of, workbench_portal

JPEG = "image/jpeg"


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    """A portal whose citizen limits are small enough to reach in a test."""
    limits = {"citizen_limit_per_ip": 4, "citizen_limit_per_phone": 2}
    with workbench_portal(tmp_path_factory.mktemp("mobile"), **limits) as app:
        yield app


def photo(name: str = "scene.jpg") -> tuple[str, tuple[str, bytes, str]]:
    """A phone photo with GPS EXIF as a form file."""
    return ("photos", (name, images.jpeg_with_gps(800, 600), JPEG))


def flash(html: str) -> str:
    """The one-shot message on a page."""
    match = re.search(r'id="flash">([^<]*)<', html)
    assert match, "no message"
    return match.group(1)


def dispatched_case(portal: Portal, text: str = "待网格员处置") -> int:
    """A community-loop case in the first community, registered and dispatched."""
    case_id = portal.open_case("w_sijing", text=text)
    for action in ("register", "dispatch"):
        assert portal.act("w_duty", case_id, action).status_code == 200
    return case_id


def test_my_tasks_list_what_waits_for_me(portal: Portal) -> None:
    waiting = dispatched_case(portal)
    elsewhere = portal.open_case("w_sijing", "310117102002", text="别的居委")
    portal.act("w_duty", elsewhere, "register")
    portal.act("w_duty", elsewhere, "dispatch")
    fresh = portal.open_case("w_grid", text="刚上报")
    portal.login("w_grid")
    tasks = portal.client.get("/m/")
    assert tasks.status_code == 200
    section = tasks.text[tasks.text.index('id="m-tasks"') : tasks.text.index('id="m-recent"')]
    assert waiting in case_ids(section) and fresh not in case_ids(section)
    assert elsewhere not in case_ids(tasks.text)
    assert fresh in case_ids(tasks.text[tasks.text.index('id="m-recent"') :])
    assert portal.client.get("/m").headers["location"] == "/m/"


def test_handling_with_photos_on_the_phone(portal: Portal) -> None:
    case_id = dispatched_case(portal, "需要拍照办结")
    portal.login("w_grid")
    page = portal.client.get(f"/m/cases/{case_id}").text
    csrf = csrf_of(page)
    form = {"case_id": str(case_id), "view": "m", "csrf_token": csrf}
    for action in ("sign", "start"):
        reply = portal.client.post("/cases/act", data={**form, "action": action})
        assert reply.headers["location"] == f"/m/cases/{case_id}"
    page = portal.client.get(f"/m/cases/{case_id}").text
    handle = page[
        page.index('data-action="handle"') : page.index(
            "</details>", page.index('data-action="handle"')
        )
    ]
    assert 'name="photos"' in handle and 'capture="environment"' in handle
    done = portal.client.post(
        "/cases/act",
        data={**form, "action": "handle", "comment": "已清理完毕"},
        files=[photo("before.jpg"), ("photos", ("after.png", images.png_with_text(), "image/png"))],
    )
    assert done.status_code == 303
    assert flash(portal.client.get(f"/m/cases/{case_id}").text) == "已办结。"
    last = portal.timeline(case_id)[-1]
    assert last["action"] == "handle" and len(last["detail"]["photos"]) == 2
    sha = last["detail"]["photos"][0].removeprefix("photo:")

    shown = portal.client.get(f"/cases/{case_id}/photos/{sha}")
    assert shown.status_code == 200 and shown.headers["content-type"] == JPEG
    assert not Image.open(io.BytesIO(shown.content)).getexif()
    assert images.SECRET not in shown.content
    assert portal.client.get(f"/cases/{case_id}/photos/{sha}/thumb").status_code == 200
    portal.login("w_sijing")  # the town sees the case, so it sees its photos
    assert portal.client.get(f"/cases/{case_id}/photos/{sha}").status_code == 200
    portal.login("w_sheshan")
    assert portal.client.get(f"/cases/{case_id}/photos/{sha}").status_code == 404
    other = dispatched_case(portal, "另一案件")
    portal.login("w_duty")
    assert portal.client.get(f"/cases/{other}/photos/{sha}").status_code == 404
    assert portal.client.get(f"/cases/{case_id}/photos/{'0' * 64}").status_code == 404
    assert portal.client.get(f"/cases/{case_id}/photos/..%2F..%2Fx").status_code == 404

    portal.login("w_grid")  # the handler is not offered the check of their own work
    assert 'data-action="check"' not in portal.client.get(f"/m/cases/{case_id}").text
    portal.login("w_sijing")
    checking = portal.client.get(f"/m/cases/{case_id}").text
    assert 'data-action="check"' in checking
    form["csrf_token"] = csrf_of(checking)
    bomb = portal.client.post(
        "/cases/act",
        data={**form, "action": "check"},
        files=[("photos", ("bomb.png", images.png_bomb_header(), "image/png"))],
    )
    assert bomb.status_code == 303
    assert "照片无法使用：图片像素过多" in flash(portal.client.get(f"/m/cases/{case_id}").text)
    assert portal.timeline(case_id)[-1]["action"] == "handle"  # nothing happened


def report_form(portal: Portal, **fields: Any) -> dict[str, str]:
    """The report form's hidden fields plus the given ones."""
    page = portal.client.get("/m/report").text
    submission = re.search(r'name="submission" value="([0-9a-f]{32})"', page)
    assert submission
    return {"csrf_token": csrf_of(page), "submission": submission.group(1), **fields}


def test_a_grid_worker_reports_from_the_phone(portal: Portal) -> None:
    portal.login("w_grid")
    page = portal.client.get("/m/report")
    assert page.status_code == 200
    assert 'capture="environment"' in page.text and 'accept="image/*"' in page.text
    assert "暴露垃圾" in page.text and "data-geolocate" in page.text
    lon, lat = portal.points["310117102001"]
    data = report_form(portal, category="event:0102", text="垃圾桶满溢", lon=str(lon), lat=str(lat))
    sent = portal.client.post("/m/report", data=data, files=[photo()])
    assert sent.status_code == 303, sent.text
    case_id = int(sent.headers["location"].rsplit("/", 1)[1])
    case = portal.case(case_id)
    assert (case["source"], case["status"], case["loop_level"]) == (
        "mobile",
        "received",
        "community",
    )
    assert case["divisions"]["community"] == "310117102001" and len(case["photos"]) == 1
    assert case["source_key"] == f"m-{data['submission']}"
    again = portal.client.post("/m/report", data=data, files=[photo()])
    assert again.headers["location"] == sent.headers["location"]  # a second tap: the same case

    by_list = report_form(
        portal, category_other="component:0101", text="井盖", org_code="310117102001"
    )
    assert portal.client.post("/m/report", data=by_list).status_code == 303

    for fields, message in (
        ({"text": "没有类别", "org_code": "310117102001"}, "请选择问题类别"),
        (
            {"category": "event:0102", "text": "没有位置"},
            "请允许定位、在地图上选点，或选择所在居村",
        ),
        ({"category": "event:0102", "text": "x", "lon": "0", "lat": "0"}, "位置不在本区范围内"),
        ({"category": "event:0102", "text": "", "org_code": "310117102001"}, "问题描述"),
        ({"category": "event:0102", "text": "x", "lon": "abc", "lat": "31"}, "位置"),
        ({"category": "event:0102", "text": "x", "org_code": "310117103001"}, "不在您的数据范围内"),
    ):
        refused = portal.client.post("/m/report", data=report_form(portal, **fields))
        assert refused.status_code in (400, 403, 422), fields
        assert message in refused.text, (fields, refused.text[-2000:])
    kept = portal.client.post("/m/report", data=report_form(portal, text="保留我", org_code="x"))
    assert "保留我" in kept.text
    forged = portal.client.post("/m/report", data={"category": "event:0102", "text": "x"})
    assert forged.status_code == 403
    portal.login("w_leader")
    assert portal.client.get("/m/report").status_code == 403


def citizen_form(client: TestClient) -> dict[str, str]:
    """The citizen form's hidden fields (the token cookie stays in the client)."""
    page = client.get("/m/citizen")
    assert page.status_code == 200
    token = re.search(r'name="h5_token" value="([0-9a-f]{32})"', page.text)
    submission = re.search(r'name="submission" value="([0-9a-f]{32})"', page.text)
    assert token and submission
    return {"h5_token": token.group(1), "submission": submission.group(1)}


def test_a_citizen_reports_without_an_account(portal: Portal) -> None:
    client = portal.client
    client.cookies.clear()
    lon, lat = portal.points["310117102002"]
    report = {"category": "event:0514", "text": "店外占道经营", "lon": str(lon), "lat": str(lat)}
    no_token = client.post("/m/citizen", data={**report, "phone": "13812345678"})
    assert no_token.status_code == 403
    # No phone, no text, no category: all three named in one answer, not one field per try
    # (each try counts against the address's limit).
    bare = client.post(
        "/m/citizen", data={**citizen_form(client), "lon": str(lon), "lat": str(lat)}
    )
    shown = re.search(r'id="report-error">([^<]*)<', bare.text)
    assert bare.status_code == 400 and shown is not None
    assert "请填写 11 位手机号码" in shown.group(1)
    assert "问题描述" in shown.group(1) and "问题类别" in shown.group(1), shown.group(1)

    data = {**citizen_form(client), **report, "phone": "13812345678", "name": "王小明"}
    sent = client.post("/m/citizen", data=data, files=[photo()])
    assert sent.status_code == 303 and sent.headers["location"] == "/m/citizen"
    number = re.search(r"编号 (\d+)", flash(client.get("/m/citizen").text))
    assert number
    case = portal.case(int(number.group(1)))
    assert (case["source"], case["status"]) == ("citizen", "received")  # not a grid worker's
    assert case["reporter"] == {"name": "王**", "phone": "138****5678", "email": None}
    assert (
        case["created_by"] == "市民（H5 上报）" and case["divisions"]["community"] == "310117102002"
    )
    contact = client.get(f"/api/v1/cases/{case['id']}/contact", headers=portal.headers("w_duty"))
    assert contact.json() == {"name": "王小明", "phone": "13812345678", "email": None}
    ref = case["photos"][0]
    grid_photo = client.get(f"/api/v1/media/photos/{ref}", headers=portal.headers("w_sijing"))
    assert (
        grid_photo.status_code == 200 and not Image.open(io.BytesIO(grid_photo.content)).getexif()
    )
    client.cookies.clear()

    # The same phone twice more: the second is over the limit of two a day.
    second = {**citizen_form(client), **report, "phone": "13812345678"}
    assert client.post("/m/citizen", data=second).status_code == 303
    third = client.post(
        "/m/citizen", data={**citizen_form(client), **report, "phone": "13812345678"}
    )
    assert third.status_code == 429 and "该手机号今日提交次数已达上限" in third.text
    # Every try counts for the address (four an hour here): the fifth is refused, any number.
    fifth = client.post(
        "/m/citizen", data={**citizen_form(client), **report, "phone": "13900000000"}
    )
    assert fifth.status_code == 429 and "提交过于频繁" in fifth.text
    assert re.search(r"请 \d+ 分钟后再试", fifth.text), "the wait is said, not just 稍后"
    sixth = client.post(
        "/m/citizen", data={**citizen_form(client), **report, "phone": "13900000001"}
    )
    assert sixth.status_code == 429 and re.search(r"提交过于频繁，请 \d+ 分钟后再试", sixth.text)


def test_the_citizen_page_can_be_turned_off(portal: Portal) -> None:
    settings = portal.settings.model_copy(update={"citizen_report": False})
    with TestClient(create_app(settings), follow_redirects=False) as client:
        assert client.get("/m/citizen").status_code == 404
        assert client.post("/m/citizen", data={"text": "x"}).status_code == 404

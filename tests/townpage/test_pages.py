"""The town page's portal forms (editor, links) and views, through the session cookie."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from cityops.kit.workcal import SHANGHAI
from tests.conftest import PASSWORD, Backend

SIJING = "310117102"
SHESHAN = "310117103"
SAVE = "/towns/page/save"


@pytest.fixture(autouse=True)
def _both(backend: Backend) -> None:
    """Every test here runs on SQLite and on PostgreSQL."""


def as_user(client: TestClient, username: str) -> None:
    """Log in so the client's cookie jar holds this account's session."""
    client.cookies.clear()
    reply = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert reply.status_code == 200, reply.text


def editor(client: TestClient, code: str = SIJING) -> tuple[str, dict[str, str]]:
    """The editor page and its form's hidden values."""
    reply = client.get(f"/towns/{code}/page/edit", headers={"accept": "text/html"})
    assert reply.status_code == 200, reply.text
    values = dict(
        re.findall(r'name="(csrf_token|version|background|code)" value="([^"]*)"', reply.text)
    )
    return reply.text, values


def form(values: dict[str, str], **extra: Any) -> dict[str, Any]:
    """A save form with the editor's hidden values."""
    widgets = [{"kind": "part", "part": "video", "x": 0, "y": 0, "w": 6, "h": 4}]
    return {
        "csrf_token": values["csrf_token"],
        "code": values["code"],
        "version": values["version"],
        "background": values["background"],
        "title": "泗泾镇页面",
        "background_kind": "image",
        "widgets": json.dumps(widgets),
        **extra,
    }


def jpeg() -> bytes:
    """A small real JPEG."""
    buffer = io.BytesIO()
    Image.new("RGB", (80, 40), (10, 150, 90)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_save_with_photo_then_stale_version(client: TestClient) -> None:
    as_user(client, "t_sijing")
    _, values = editor(client)
    files = {"background_file": ("scene.jpg", jpeg(), "image/jpeg")}
    reply = client.post(SAVE, data=form(values), files=files, follow_redirects=False)
    assert reply.status_code == 303, reply.text
    assert reply.headers["location"] == f"/towns/{SIJING}/page"
    page = client.get(f"/towns/{SIJING}/page", headers={"accept": "text/html"})
    assert "页面已保存" in page.text and "泗泾镇页面" in page.text
    assert 'id="part-video"' in page.text and 'class="tp-bg"' in page.text
    assert page.headers["x-frame-options"] == "DENY"
    background = re.search(r'src="(/towns/310117102/page/background\?v=\d+)"', page.text)
    assert background is not None
    image = client.get(background.group(1))
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    stale = client.post(SAVE, data=form(values), follow_redirects=False)
    assert stale.status_code == 409 and "已被他人修改" in stale.text


@pytest.mark.parametrize(
    ("extra", "status", "text"),
    [
        ({"widgets": "{not json"}, 422, "页面内容有误"),
        (
            {
                "widgets": json.dumps(
                    [
                        {
                            "kind": "app",
                            "path": "https://evil.example",
                            "x": 0,
                            "y": 0,
                            "w": 2,
                            "h": 2,
                        }
                    ]
                )
            },
            422,
            "页面内容有误",
        ),
        ({"version": "x"}, 422, "页面内容有误"),
        ({"title": ""}, 422, "页面内容有误"),
        ({"csrf_token": "forged"}, 403, "CSRF"),
        ({"code": SHESHAN}, 403, "不在您的数据范围内"),
        ({"code": "310117"}, 404, "不是街镇"),
    ],
)
def test_bad_forms(client: TestClient, extra: dict[str, str], status: int, text: str) -> None:
    as_user(client, "t_sijing")
    _, values = editor(client)
    reply = client.post(SAVE, data=form(values, **extra), headers={"accept": "text/html"})
    assert reply.status_code == status, reply.text
    assert text in reply.text


def test_bad_photo_is_shown_in_the_form(client: TestClient) -> None:
    as_user(client, "t_sijing")
    _, values = editor(client)
    files = {"background_file": ("x.jpg", b"not an image", "image/jpeg")}
    reply = client.post(SAVE, data=form(values), files=files)
    assert reply.status_code == 422 and "照片无法使用" in reply.text


def test_links_through_the_editor(client: TestClient) -> None:
    as_user(client, "t_duty")
    _, values = editor(client, SHESHAN)
    data = {"csrf_token": values["csrf_token"], "label": "市城运平台", "hours": "168"}
    reply = client.post(f"/towns/{SHESHAN}/page/links", data=data)
    assert reply.status_code == 201
    url = re.search(r'id="tp-issued-page" value="([^"]+)"', reply.text)
    assert url is not None and url.group(1).startswith("http://testserver/towns/")
    assert reply.text.index('id="tp-issued"') < reply.text.index('id="tp-form"')  # at the top
    expiry = re.search(r"有效期至 (\S+ \S+)（北京时间）", reply.text)
    assert expiry is not None and "UTC" not in reply.text
    shown = datetime.strptime(expiry.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)
    # 168 hours from now, read as Beijing time (UTC would be 8 hours off); an hour of slack.
    assert abs(shown - (datetime.now(UTC) + timedelta(hours=168))) < timedelta(hours=1)
    link_id = re.findall(r'data-link="(\d+)"', reply.text)[0]
    as_user(client, "t_sijing")  # another town's operator may neither see nor revoke them
    assert client.get(f"/towns/{SHESHAN}/page/edit").status_code == 403
    client.cookies.clear()
    assert client.get(url.group(1).replace("&amp;", "&")).status_code == 200
    as_user(client, "t_duty")
    _, values = editor(client, SHESHAN)
    forged = client.post(f"/towns/{SHESHAN}/page/links/{link_id}/revoke", data={"csrf_token": "x"})
    assert forged.status_code == 403
    revoke = f"/towns/{SHESHAN}/page/links/{link_id}/revoke"
    done = client.post(revoke, data={"csrf_token": values["csrf_token"]}, follow_redirects=False)
    assert done.status_code == 303
    client.cookies.clear()
    assert client.get(url.group(1).replace("&amp;", "&")).status_code == 403


def test_views_without_login_or_scope(client: TestClient) -> None:
    client.cookies.clear()
    reply = client.get(f"/towns/{SIJING}/page", follow_redirects=False)
    assert reply.status_code == 303
    assert reply.headers["location"] == f"/login?next=/towns/{SIJING}/page"
    assert client.get(f"/towns/{SIJING}/page/parts/area").status_code == 401
    assert client.get(f"/towns/{SIJING}/page/background").status_code == 401
    as_user(client, "t_sijing")
    assert client.get(f"/towns/{SHESHAN}/page").status_code == 403
    assert client.get(f"/towns/{SHESHAN}/page/parts/area").status_code == 403
    assert client.get(f"/towns/{SIJING}/page/parts/nope").status_code == 404
    assert client.get(f"/towns/{SIJING}/page/style.json?layers=nope").status_code == 422
    assert client.get(f"/towns/{SIJING}/page/tiles/nope/1/1/1.mvt").status_code == 404
    assert client.get(f"/towns/{SIJING}/page/tiles/units/1/9/9.mvt").status_code == 422
    as_user(client, "t_leader")  # reads, but does not edit
    assert client.get(f"/towns/{SIJING}/page").status_code == 200
    assert client.get(f"/towns/{SIJING}/page/edit").status_code == 403

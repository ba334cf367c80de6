"""The portal's /iot/scenarios page: templates, instances, open alarms, ack/clear by form."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import PASSWORD, Backend, Login
from tests.iot.scenarios.conftest import SIJING, MemoryDirectory, reading
from tests.iot.scenarios.test_engine import directory, events, feed, gauge, instantiate
from tests.portal import login_form
from tests.portal.workbench_app import csrf_of

__all__ = ["directory"]
PAGE = "/iot/scenarios"


@pytest.fixture(autouse=True)
def _both(backend: Backend) -> None:
    """Every test here runs on SQLite and on PostgreSQL."""


@pytest.fixture
def as_user(client: TestClient) -> Iterator[TestClient]:
    """The client; its session cookie is dropped afterwards (other tests use bearer tokens)."""
    yield client
    client.cookies.clear()


def page_as(client: TestClient, username: str) -> str:
    """The page as an account signed in through the form sees it."""
    client.cookies.clear()
    data = {
        "csrf_token": login_form.login_token(client),
        "username": username,
        "password": PASSWORD,
    }
    assert client.post("/login", data=data, follow_redirects=False).status_code == 303
    reply = client.get(PAGE)
    assert reply.status_code == 200, reply.text[:300]
    return reply.text


def test_the_page_shows_own_alarms_and_acts_on_them(
    as_user: TestClient,
    login: Login,
    directory: MemoryDirectory,
    town_points: dict[str, tuple[float, float]],
) -> None:
    client = as_user
    device = gauge(directory, town_points, SIJING)
    made = instantiate(
        client,
        login,
        "t_sijing",
        template_code="smoke",
        owner_code=SIJING,
        name="页面测试烟感",
        device_ids=[device.device_id],
    )
    feed(client, [reading(device, "smoke", True, 0)])
    (event,) = events(client, login, "t_sijing", made["id"])
    row = f'data-event="{event["id"]}"'
    mine = page_as(client, "t_sijing")
    assert row in mine and "烟感报警" in mine and "合成演示值" in mine and "确认" in mine
    assert row not in page_as(client, "t_sheshan")
    leader = page_as(client, "t_leader")
    assert row in leader and f"/events/{event['id']}/ack" not in leader  # reads, cannot act
    csrf = csrf_of(page_as(client, "t_sijing"))
    action = f"{PAGE}/events/{event['id']}/ack"
    assert client.post(action, data={"csrf_token": "0" * 64}).status_code == 403
    done = client.post(action, data={"csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303
    shown = client.get(PAGE).text
    assert html_lib.unescape(re.search(r'id="flash">([^<]*)<', shown).group(1)) == "告警已确认。"  # type: ignore[union-attr]
    (acked,) = events(client, login, "t_sijing", made["id"])
    assert (acked["status"], acked["acked_by"]) == ("acknowledged", "t_sijing")
    again = client.post(action, data={"csrf_token": csrf}, follow_redirects=False)
    assert again.status_code == 303
    assert "告警状态已变化" in client.get(PAGE).text

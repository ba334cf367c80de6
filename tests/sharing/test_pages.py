"""The portal's sharing pages: 共享审批 for the district, 我的申请 for a town, a grant's log."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from cityops.portal.session import csrf_token
from cityops.sharing import KindRegistry
from tests.conftest import Backend, Login
from tests.sharing.conftest import SIJING_UNITS, apply


@pytest.fixture(autouse=True)
def _both(backend: Backend, kinds: KindRegistry) -> None:
    """Every test here runs on SQLite and on PostgreSQL, with the test kind registered."""


def page(client: TestClient, login: Login, who: str, path: str) -> str:
    """A portal page as an account sees it (200 expected)."""
    reply = client.get(path, headers=login.headers(who))
    assert reply.status_code == 200, reply.text[:400]
    return html.unescape(reply.text)


def form(client: TestClient, login: Login, who: str, path: str, data: dict[str, str]) -> str:
    """Post a form with the session's CSRF token; the message shown on the page it leads to."""
    data = {"csrf_token": csrf_token(login.token(who)), **data}
    reply = client.post(path, data=data, headers=login.headers(who), follow_redirects=False)
    assert reply.status_code == 303, reply.text[:400]
    cookie = reply.headers["set-cookie"].split(";")[0]
    shown = client.get(reply.headers["location"], headers={**login.headers(who), "Cookie": cookie})
    match = re.search(r'id="flash">([^<]*)<', shown.text)
    assert match, "no message on the page"
    return html.unescape(match.group(1))


def test_navigation_by_permission(client: TestClient, login: Login) -> None:
    assert "共享审批" in page(client, login, "t_duty", "/sharing/review")
    town = page(client, login, "t_sheshan", "/sharing/mine")
    assert 'href="/sharing/mine"' in town and 'href="/sharing/review"' not in town
    refused = client.get("/sharing/review", headers=login.headers("t_sheshan"))
    assert refused.status_code == 403 and "无权" in refused.text


def test_a_town_applies_in_the_form_and_the_district_approves_in_the_queue(
    client: TestClient, login: Login
) -> None:
    expires = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    data = {
        "kind": "test.unit",
        "resource_ids": "，".join(SIJING_UNITS),
        "keys": "water_level",
        "purpose": "页面申请：防汛联动",
        "expires_on": expires,
    }
    message = form(client, login, "t_sheshan", "/sharing/apply", data)
    number = re.search(r"申请 (\d+) 已提交", message)
    assert number, message
    app_id = number.group(1)
    queue = page(client, login, "t_duty", "/sharing/review")
    assert f'id="application-{app_id}" data-status="pending"' in queue
    assert "页面申请：防汛联动" in queue
    done = form(
        client, login, "t_duty", "/sharing/act", {"application_id": app_id, "action": "approve"}
    )
    assert done == f"申请 {app_id} 已批准。"
    mine = page(client, login, "t_sheshan", "/sharing/mine")
    assert f'id="application-{app_id}" data-status="approved"' in mine
    grant = re.search(rf'id="application-{app_id}".*?href="/sharing/grants/(\d+)"', mine, re.S)
    assert grant
    log = page(client, login, "t_sheshan", f"/sharing/grants/{grant.group(1)}")
    assert "尚无通过此授权的访问" in log and "有效" in log


def test_a_form_error_is_a_message_not_a_500(client: TestClient, login: Login) -> None:
    data = {"kind": "test.unit", "resource_ids": "310117102001", "purpose": "x", "expires_on": "x"}
    assert "申请未提交" in form(client, login, "t_sheshan", "/sharing/apply", data)
    made = apply(client, login)
    refused = form(
        client,
        login,
        "t_duty",
        "/sharing/act",
        {"application_id": str(made["id"]), "action": "reject"},
    )
    assert refused.startswith("「驳回」未完成")


def test_a_form_without_its_token_is_refused(client: TestClient, login: Login) -> None:
    reply = client.post(
        "/sharing/act",
        data={"application_id": "1", "action": "approve"},
        headers=login.headers("t_duty"),
    )
    assert reply.status_code == 403

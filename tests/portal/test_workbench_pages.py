"""The event workbench over HTTP (no browser): list filters, a case page, acting through forms."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterator

import pytest

from tests.portal.login_form import post_login
from tests.portal.workbench_app import (
    PASSWORD,
    Portal,
    actions_on,
    case_ids,
    csrf_of,
    workbench_portal,
)


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    """A portal with a few cases in 泗泾 and one in 佘山."""
    with workbench_portal(tmp_path_factory.mktemp("workbench")) as app:
        yield app


@pytest.fixture(scope="module")
def cases(portal: Portal) -> dict[str, int]:
    """Named cases: fresh ones in 泗泾, a registered one, a mobile one, one in 佘山."""
    named = {
        "fresh": portal.open_case("w_grid", text="井边垃圾"),
        "registered": portal.open_case("w_sijing", "310117102002", text="第二居委垃圾"),
        "mobile": portal.open_case(
            "w_sijing", source="mobile", text="手机上报的占道经营", category="event:0514"
        ),
        "sheshan": portal.open_case("w_sheshan", "310117103001", text="佘山的垃圾"),
    }
    assert portal.act("w_duty", named["registered"], "register").status_code == 200
    return named


def page(portal: Portal, path: str) -> str:
    """GET a page and insist on 200."""
    reply = portal.client.get(path)
    assert reply.status_code == 200, reply.text[:500]
    assert reply.headers["content-type"].startswith("text/html")
    return reply.text


def flash_of(portal: Portal, path: str) -> str:
    """The one-shot message shown on a page."""
    text = page(portal, path)
    match = re.search(r'id="flash">([^<]*)<', text)
    assert match, "no message on the page"
    return html_lib.unescape(match.group(1))


def test_the_workbench_needs_a_login_and_case_read(portal: Portal) -> None:
    portal.client.cookies.clear()
    assert portal.client.get("/cases").headers["location"] == "/login?next=/cases"
    assert portal.client.get("/cases/1").headers["location"] == "/login?next=/cases/1"
    assert portal.client.get("/m/report").headers["location"] == "/login?next=/m/report"
    back = post_login(portal.client, "w_grid", PASSWORD, "/m/report")
    assert back.headers["location"] == "/m/report"
    portal.login("w_auditor")
    refused = portal.client.get("/cases")
    assert refused.status_code == 403 and "不处理事件" in refused.text
    portal.login("w_duty")
    assert 'href="/cases"' in page(portal, "/")  # the navigation bar links the workbench


def test_the_list_filters_and_pages(portal: Portal, cases: dict[str, int]) -> None:
    portal.login("w_duty")
    everything = case_ids(page(portal, "/cases"))
    assert set(cases.values()) <= set(everything)
    assert everything == sorted(everything, reverse=True)

    received = case_ids(page(portal, "/cases?status=received"))
    assert cases["fresh"] in received and cases["registered"] not in received
    both = case_ids(page(portal, "/cases?status=received&status=registered"))
    assert {cases["fresh"], cases["registered"]} <= set(both)
    assert case_ids(page(portal, "/cases?source=mobile")) == [cases["mobile"]]
    assert case_ids(page(portal, "/cases?unit=310117103")) == [cases["sheshan"]]
    assert cases["sheshan"] not in case_ids(page(portal, "/cases?loop_level=town"))
    assert case_ids(page(portal, "/cases?overdue=1")) == []
    assert case_ids(page(portal, "/cases?supervised=1")) == []
    assert case_ids(page(portal, "/cases?since=2000-01-01&until=2000-12-31")) == []
    assert set(cases.values()) <= set(case_ids(page(portal, "/cases?since=2020-01-01")))

    odd = page(portal, "/cases?status=nonsense&source=fax&unit=abc&since=yesterday&page=-3")
    assert "已忽略无效的状态：nonsense" in odd and "已忽略无效的来源：fax" in odd
    assert "已忽略无效的单位代码：abc" in odd and "已忽略无效的起始日期：yesterday" in odd
    assert set(case_ids(odd)) == set(everything)
    assert case_ids(page(portal, "/cases?page=9999")) == []
    assert "\x00" not in page(portal, "/cases?source=%00&unit=%00")

    portal.login("w_sijing")
    mine = case_ids(page(portal, "/cases"))
    assert cases["sheshan"] not in mine and cases["fresh"] in mine
    assert case_ids(page(portal, "/cases?unit=310117103")) == []


def test_paging_keeps_the_filters(portal: Portal, cases: dict[str, int]) -> None:
    for n in range(20):  # with the fixture's mobile case, 21: two pages
        portal.open_case("w_sijing", "310117102002", text=f"批量 {n}", source="mobile")
    portal.login("w_duty")
    first = page(portal, "/cases?source=mobile")
    assert len(case_ids(first)) == 20 and "第 1 / 2 页" in first
    assert 'href="/cases?source=mobile&amp;page=2"' in first
    second = page(portal, "/cases?source=mobile&page=2")
    assert len(case_ids(second)) == 1 and 'href="/cases?source=mobile"' in second


def test_each_role_sees_one_button_per_allowed_action(
    portal: Portal, cases: dict[str, int]
) -> None:
    for who in ("w_duty", "w_sijing", "w_grid", "w_leader"):
        portal.login(who)
        for case_id in (cases["fresh"], cases["registered"]):
            api = portal.client.get(f"/api/v1/cases/{case_id}", headers=portal.headers(who))
            if api.status_code == 404:  # 第二居委's case is not the first community's worker's
                assert portal.client.get(f"/cases/{case_id}").status_code == 404
                continue
            offered = actions_on(page(portal, f"/cases/{case_id}"))
            assert offered == set(api.json()["allowed_actions"]), (who, case_id)
    portal.login("w_duty")
    detail = page(portal, f"/cases/{cases['fresh']}")
    assert "立案" in detail and "作废" in detail and 'id="timeline"' in detail
    assert f'data-case-id="{cases["fresh"]}"' in detail and "/map/embed?layers=" in detail
    portal.login("w_sheshan")
    hidden = portal.client.get(f"/cases/{cases['fresh']}")
    assert hidden.status_code == 404 and "不在您的数据范围内" in hidden.text
    for bad in ("0", "abc", "99999999999", "1%00", "-1"):
        assert portal.client.get(f"/cases/{bad}").status_code == 404, bad


def test_acting_through_forms(portal: Portal) -> None:
    case_id = portal.open_case("w_grid", text="表单操作的案件")
    portal.login("w_duty")
    csrf = csrf_of(page(portal, f"/cases/{case_id}"))
    form = {"case_id": str(case_id), "view": "desk"}

    forged = portal.client.post("/cases/act", data={**form, "action": "register"})
    assert forged.status_code == 403 and "CSRF" in forged.text
    assert portal.case(case_id)["status"] == "received"

    done = portal.client.post("/cases/act", data={**form, "action": "register", "csrf_token": csrf})
    assert done.status_code == 303 and done.headers["location"] == f"/cases/{case_id}"
    assert flash_of(portal, f"/cases/{case_id}") == "已立案。"
    assert portal.case(case_id)["status"] == "registered"
    assert 'id="flash"' not in page(portal, f"/cases/{case_id}")  # shown once

    refused = {**form, "action": "void", "csrf_token": csrf, "reason": "  "}
    portal.client.post("/cases/act", data=refused)
    assert flash_of(portal, f"/cases/{case_id}") == "「作废」未完成：原因：请填写原因"
    closing = {**form, "action": "close", "csrf_token": csrf}
    portal.client.post("/cases/act", data=closing)
    assert flash_of(portal, f"/cases/{case_id}") == "「结案」未完成：案件已立案，不能「结案」"
    nul = {**form, "action": "supervise", "csrf_token": csrf, "comment": "督\x00办"}
    portal.client.post("/cases/act", data=nul)
    assert flash_of(portal, f"/cases/{case_id}").startswith("「督办」未完成：处理意见：格式不正确")
    bad_department = {**form, "action": "dispatch", "csrf_token": csrf, "department_id": "abc"}
    portal.client.post("/cases/act", data=bad_department)
    assert "承办部门：应为整数" in flash_of(portal, f"/cases/{case_id}")

    dispatched = {**form, "action": "dispatch", "csrf_token": csrf, "comment": "请居委处置"}
    assert portal.client.post("/cases/act", data=dispatched).status_code == 303
    assert flash_of(portal, f"/cases/{case_id}") == "已派遣。"
    steps = [e["action"] for e in portal.timeline(case_id)]
    assert steps == ["created", "register", "dispatch"]
    assert portal.timeline(case_id)[-1]["comment"] == "请居委处置"

    for broken in ({"action": "fly"}, {"case_id": "x", "action": "sign"}, {"case_id": "0"}):
        reply = portal.client.post("/cases/act", data={**form, "csrf_token": csrf, **broken})
        assert reply.status_code == 400, broken
    four = [("photos", (f"{n}.jpg", b"x", "image/jpeg")) for n in range(4)]
    too_many = portal.client.post(
        "/cases/act", data={**form, "action": "sign", "csrf_token": csrf}, files=four
    )
    assert too_many.status_code == 400 and portal.case(case_id)["status"] == "dispatched"
    as_json = portal.client.post("/cases/act", json={**form, "action": "sign"})
    assert as_json.status_code == 403

    portal.login("w_sheshan")
    csrf = csrf_of(page(portal, "/cases"))
    portal.client.post("/cases/act", data={**form, "action": "sign", "csrf_token": csrf})
    assert "不在您的数据范围内" in flash_of(portal, "/cases")

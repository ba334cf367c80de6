"""What cases put into the outbox besides callbacks, and how operators handle what got stuck."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from cityops.cases.access import Actor, CaseAccess
from cityops.cases.flow.scheduler import CaseScheduler
from cityops.cases.flow.service import ActionInput, CaseService
from cityops.cases.flow.table import Action
from cityops.kit.db import unit_of_work
from cityops.kit.outbox.models import OutboxMessage
from cityops.kit.outbox.webhook import verify
from tests.cases.conftest import Places, sh
from tests.cases.sources.hotline_support import (
    HANDLER,
    ORDERS,
    SECRET,
    SHESHAN,
    SYSTEM,
    Hotline,
)
from tests.cases.sources.test_hotline_flow import open_and_dispatch, order_body
from tests.conftest import Backend

OPENID = "oCitizen_0123456789abcdef"
OUTBOX = "/api/v1/outbox"

#: The hotline app and its receivers, registered once for every hotline test module.
pytest_plugins = ["tests.cases.sources.hotline_fixtures"]


def wecom_about(hotline: Hotline, case_id: int) -> list[dict[str, Any]]:
    """The WeCom messages about one case, in arrival order."""
    sent = [s.json() for s in hotline.wechat.received("/cgi-bin/message/send")]
    return [m for m in sent if f"案件编号：{case_id}\n" in m["textcard"]["description"]]


def test_wecom_on_dispatch_and_the_citizen_on_close(hotline: Hotline, places: Places) -> None:
    case_id = open_and_dispatch(hotline, places, "SH12345-WX-0001")
    follow = f"/api/v1/cases/{case_id}/subscribers/mp"
    first = hotline.client.put(follow, json={"openid": OPENID}, headers=hotline.headers(SYSTEM))
    assert first.status_code == 200 and first.json()["added"] is True, first.text
    again = hotline.client.put(follow, json={"openid": OPENID}, headers=hotline.headers(SYSTEM))
    assert again.json()["added"] is False
    hotline.deliver()
    (card,) = wecom_about(hotline, case_id)
    assert (card["touser"], card["toparty"], card["msgtype"]) == ("sw_zhang", "21", "textcard")
    assert card["textcard"]["title"] == "案件派遣：上水井盖"
    assert card["textcard"]["url"] == f"https://cityops.example.gov.cn/portal/cases/{case_id}"
    assert "派至：水务站" in card["textcard"]["description"]

    hotline.clock.set(sh(2026, 11, 16, 9, 20))
    for who, action, extra in (
        (HANDLER, "sign", {}),
        (HANDLER, "start", {}),
        (HANDLER, "handle", {"comment": "已更换井盖"}),
        ("t_sijing", "check", {}),
        ("t_sijing", "verify", {}),
        ("t_sijing", "close", {"comment": "井盖已更换，现场无隐患"}),
    ):
        hotline.act(who, case_id, action, **extra)
    evaluated = hotline.client.post(
        f"{ORDERS}/SH12345-WX-0001/evaluation",
        json={"satisfaction": 5},
        headers=hotline.headers(SYSTEM),
    )
    assert evaluated.status_code == 200, evaluated.text
    hotline.deliver()
    sent = hotline.wechat.received("/cgi-bin/message/template/send")
    mine = [s for s in sent if s.json()["data"]["keyword1"]["value"] == str(case_id)]
    closed, thanked = (s.json() for s in mine)
    assert closed == {
        "touser": OPENID,
        "template_id": "tmpl-case-news",
        "url": f"https://h5.example.gov.cn/cases/{case_id}",
        "client_msg_id": closed["client_msg_id"],
        "data": {
            "first": {"value": "您反映的问题已办结"},
            "keyword1": {"value": str(case_id)},
            "keyword2": {"value": "已结案"},
            "keyword3": {"value": "2026-11-16 09:20"},
            "remark": {"value": "井盖已更换，现场无隐患"},
        },
    }
    assert thanked["data"]["keyword2"] == {"value": "已回访"}
    assert thanked["data"]["remark"] == {"value": "满意度 5/5，感谢您的评价"}
    listed = hotline.client.get(
        OUTBOX,
        params={"ref": f"case:{case_id}", "channel": "mp"},
        headers=hotline.headers("t_duty"),
    ).json()["items"]
    assert {m["delivery_id"] for m in listed} == {closed["client_msg_id"], thanked["client_msg_id"]}
    assert all(m["payload"]["to"]["users"] == ["oCit****"] for m in listed)  # openid masked


def test_a_breach_tells_the_owner_unit_on_wecom(hotline: Hotline, places: Places) -> None:
    case_id = open_and_dispatch(hotline, places, "SH12345-WX-0002")
    hotline.clock.set(sh(2026, 11, 16, 10, 0))  # 签收时限 (0.5 working hours) passed at 09:30
    report = hotline.client.portal.call(CaseScheduler(hotline.env).run_once)  # type: ignore[union-attr]
    assert any(f.case_id == case_id and f.fire == "breach" for f in report.fired)
    hotline.deliver()
    dispatched, overdue = wecom_about(hotline, case_id)
    assert dispatched["textcard"]["title"] == "案件派遣：上水井盖"
    assert overdue["toparty"] == "2" and "touser" not in overdue  # the town centre's party
    assert overdue["textcard"]["title"] == "案件超期：上水井盖"
    assert "签收时限 2026-11-16 09:30 已过" in overdue["textcard"]["description"]


def test_dead_callbacks_are_listed_retried_and_discarded(hotline: Hotline, places: Places) -> None:
    case_id = open_and_dispatch(hotline, places, "SH12345-DEAD-0001")
    hotline.peer.fail_next(1, 400)  # the hotline refuses the 签收 callback for good
    hotline.act(HANDLER, case_id, "sign")
    hotline.deliver()
    hotline.act(HANDLER, case_id, "start")
    hotline.act(HANDLER, case_id, "handle", comment="已更换井盖")
    hotline.deliver()
    assert hotline.callbacks("SH12345-DEAD-0001") == []  # 办结 waits behind the dead 签收

    failed = hotline.client.get(OUTBOX, params={"state": "failed", "ref": f"case:{case_id}"}, headers=hotline.headers("t_admin"))  # fmt: skip
    assert failed.status_code == 200, failed.text
    (dead,) = failed.json()["items"]
    assert (dead["topic"], dead["attempts"], dead["last_status"]) == ("hotline.sign", 1, 400)
    assert dead["last_error"] == "HTTP 400: refused by the receiver"
    for who in ("t_duty", "t_sijing_admin"):  # the duty desk; the town's own admin sees its town
        seen = hotline.client.get(OUTBOX, params={"state": "failed"}, headers=hotline.headers(who))
        assert dead["id"] in [m["id"] for m in seen.json()["items"]]
    for who in ("t_sijing", "t_leader", "t_auditor", "t_security", SYSTEM, HANDLER):
        reply = hotline.client.get(OUTBOX, headers=hotline.headers(who))
        assert reply.status_code == 403, (who, reply.text)
    retry = f"{OUTBOX}/{dead['id']}/retry"
    assert hotline.client.post(retry, headers=hotline.headers("t_sijing")).status_code == 403
    rearmed = hotline.client.post(retry, headers=hotline.headers("t_admin"))
    assert rearmed.status_code == 200 and rearmed.json()["state"] == "pending"
    assert rearmed.json()["attempts"] == 0
    hotline.deliver()
    actions = [s.json()["action"] for s in hotline.callbacks("SH12345-DEAD-0001")]
    assert actions == ["sign", "handle"]  # in order, once the first went through
    again = hotline.client.post(retry, headers=hotline.headers("t_admin"))
    assert again.status_code == 409 and again.json()["state"] == "delivered"
    audit = hotline.client.get(
        "/api/v1/audit", params={"action": "outbox."}, headers=hotline.headers("t_auditor")
    ).json()
    assert any(
        e["target"] == f"outbox:{dead['id']}" and e["actor"] == "t_admin" for e in audit["items"]
    )


def test_an_operator_gives_up_a_message(hotline: Hotline, places: Places) -> None:
    case_id = open_and_dispatch(hotline, places, "SH12345-DEAD-0002")
    hotline.peer.fail_next(1, 410)
    hotline.act(HANDLER, case_id, "sign")
    hotline.act(HANDLER, case_id, "return", reason="不属于水务")
    hotline.deliver()
    (dead,) = hotline.client.get(OUTBOX, params={"state": "failed", "ref": f"case:{case_id}"}, headers=hotline.headers("t_duty")).json()["items"]  # fmt: skip
    discard = f"{OUTBOX}/{dead['id']}/discard"
    headers = hotline.headers("t_duty")
    assert hotline.client.post(discard, json={}, headers=headers).status_code == 422
    assert (
        hotline.client.post(discard, json={"reason": "x\x00"}, headers=headers).status_code == 422
    )
    done = hotline.client.post(discard, json={"reason": "热线已电话告知"}, headers=headers)
    assert done.status_code == 200 and done.json()["state"] == "discarded"
    assert "热线已电话告知" in done.json()["last_error"]
    hotline.deliver()
    assert [s.json()["action"] for s in hotline.callbacks("SH12345-DEAD-0002")] == ["return"]
    for path, status in (
        (f"{OUTBOX}/{2**31}", 422),
        (f"{OUTBOX}/0", 422),
        (f"{OUTBOX}/2147483000", 404),
        (f"{OUTBOX}?state=bogus", 422),
        (f"{OUTBOX}?limit=1000", 422),
        (f"{OUTBOX}?topic=%00", 422),
    ):
        assert hotline.client.get(path, headers=headers).status_code == status, path


def test_a_rolled_back_step_writes_no_callback(
    hotline: Hotline, places: Places, backend: Backend
) -> None:
    case_id = open_and_dispatch(hotline, places, "SH12345-RB-0001")
    env = hotline.env

    class Crash(Exception):
        pass

    async def sign_then_crash() -> tuple[int, int]:
        outbox_of_case = select(func.count()).where(OutboxMessage.ref == f"case:{case_id}")
        try:
            async with unit_of_work(env.sessions) as session:
                before = int(await session.scalar(outbox_of_case) or 0)
                svc = CaseService(session, env)
                actor = Actor.system("rollback-test", "310117102")
                await svc.act(CaseAccess.everything(), actor, case_id, Action.SIGN, ActionInput())
                inside = int(await session.scalar(outbox_of_case) or 0)
                assert inside == before + 1  # the callback row is in the step's transaction …
                raise Crash  # … and the transaction fails after it
        except Crash:
            pass
        async with env.sessions() as session:
            return before, int(await session.scalar(outbox_of_case) or 0)

    before, after = hotline.client.portal.call(sign_then_crash)  # type: ignore[union-attr]
    assert after == before
    case = hotline.client.get(f"/api/v1/cases/{case_id}", headers=hotline.headers("t_duty"))
    assert case.json()["status"] == "dispatched"
    hotline.deliver()
    assert hotline.callbacks("SH12345-RB-0001", status=None) == []


def test_a_separate_dispatcher_process_delivers(
    hotline: Hotline, places: Places, backend: Backend, tmp_path: Path
) -> None:
    case_id = open_and_dispatch(hotline, places, "SH12345-CLI-0001")
    hotline.act(HANDLER, case_id, "sign")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYOPS_")}
    env["CITYOPS_DATABASE_URL"] = backend.settings.database_url
    env["CITYOPS_HOTLINE_SYSTEMS"] = json.dumps({SYSTEM: {"secret": SECRET}})
    script = Path(sys.executable).parent / "cityops"
    done = subprocess.run(
        [str(script), "outbox", "run", "--once"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("delivered "), done.stdout
    (seen,) = hotline.callbacks("SH12345-CLI-0001")
    assert seen.json()["action"] == "sign"
    headers = seen.headers
    assert verify(SECRET.encode(), headers["x-cityops-timestamp"], seen.body, headers["x-cityops-signature"])  # fmt: skip


def test_following_a_case_refuses_bad_input(hotline: Hotline, places: Places) -> None:
    reply = hotline.order(**order_body(places, "SH12345-WX-0003"))
    assert reply.status_code == 201, reply.text
    follow = f"/api/v1/cases/{reply.json()['case_id']}/subscribers/mp"
    own = hotline.headers(SYSTEM)
    for body in ({"openid": "x"}, {"openid": "o" * 65}, {"openid": "oAbc\x00def"}, {"openid": "o🙂abcdefg"}, {"openid": OPENID, "extra": 1}, {}):  # fmt: skip
        assert hotline.client.put(follow, json=body, headers=own).status_code == 422, body
    assert hotline.client.put(follow, content=b"{", headers={**own, "content-type": "application/json"}).status_code == 400  # fmt: skip
    for who, status in (("t_leader", 403), (SHESHAN, 404), (HANDLER, 403)):
        reply = hotline.client.put(follow, json={"openid": OPENID}, headers=hotline.headers(who))
        assert reply.status_code == status, (who, reply.text)
    missing = "/api/v1/cases/2147483000/subscribers/mp"
    assert hotline.client.put(missing, json={"openid": OPENID}, headers=own).status_code == 404

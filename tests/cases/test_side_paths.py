"""Side paths of the workflow: void, reopen, redispatch, extension refused, assign down, flags."""

from __future__ import annotations

from tests.auth.conftest import assert_problem
from tests.cases.conftest import Api, FakeClock, People, Places, sh, utc_text

SIJING = "310117102002"


def _actions(api: Api, cid: int) -> list[str]:
    return [e["action"] for e in api.timeline(cid)]


def test_void_and_reopen(api: Api, places: Places, clock: FakeClock) -> None:
    clock.set(sh(2026, 9, 1, 9, 0))
    junk = api.open_case("t_sijing", places[SIJING])
    assert_problem(api.act("t_sijing", junk, "void"), 422, "validation")  # reason needed
    voided = api.ok("t_sijing", junk, "void", reason="误报")
    assert voided["status"] == "voided" and voided["allowed_actions"] == []
    cid = api.open_case("t_duty", places[SIJING])
    for action in ("register", "dispatch", "sign", "start"):
        api.ok("t_duty", cid, action)
    api.ok("t_duty", cid, "handle", comment="已处置")
    for action in ("check", "verify"):  # someone other than the handler checks the work
        api.ok("t_sijing", cid, action)
    api.ok("t_duty", cid, "close")
    clock.set(sh(2026, 9, 2, 9, 0))
    reopened = api.ok("t_duty", cid, "reopen", reason="市民反映问题复现")
    assert reopened["status"] == "registered" and reopened["closed_at"] is None
    assert reopened["handle_due_at"] == utc_text(sh(2026, 9, 2, 14, 0))  # a new handle clock
    assert reopened["department"] is None


def test_redispatch_and_a_rejected_extension(
    api: Api, places: Places, clock: FakeClock, people: People
) -> None:
    clock.set(sh(2026, 9, 3, 9, 0))
    cid = api.open_case("t_sijing", places[SIJING])
    api.ok("t_sijing", cid, "register")
    api.ok("t_sijing", cid, "dispatch", department_key="sw")
    api.ok("handler", cid, "sign")
    api.ok("handler", cid, "request_extension", days=1, reason="材料未到")
    assert_problem(api.act("handler", cid, "request_extension", hours=1, reason="再延"), 409)
    assert_problem(api.act("handler", cid, "approve_extension"), 403, "forbidden")
    rejected = api.ok("t_sijing", cid, "reject_extension", reason="时限内可完成")
    assert rejected["pending_extension"] is None
    assert rejected["handle_due_at"] == utc_text(sh(2026, 9, 3, 14, 0))  # unchanged
    api.ok("handler", cid, "start")
    api.ok("handler", cid, "handle", comment="已处置")
    api.ok("t_sijing", cid, "check")
    moved = api.ok("t_sijing", cid, "redispatch", reason="需城管配合", department_key="cgzf")
    assert moved["status"] == "dispatched" and moved["reworks"] == 1
    assert moved["department"]["key"] == "cgzf"
    assert api.get("handler", f"/{cid}").status_code == 404  # no longer the 水务站's case
    assert_problem(
        api.act("t_sijing", cid, "dispatch", department_key="nasa"), 409, "illegal-transition"
    )


def test_assign_down_from_the_district(api: Api, places: Places, clock: FakeClock) -> None:
    clock.set(sh(2026, 9, 4, 9, 0))
    cid = api.open_case("t_duty", places[SIJING], "hotline:01")  # 咨询: a district loop type
    case = api.detail(cid)
    assert (case["loop_level"], case["owner_code"]) == ("district", "310117")
    assert api.get("t_sijing", f"/{cid}").status_code == 404
    api.ok("t_duty", cid, "register")
    assert "escalate" not in api.detail(cid)["allowed_actions"]
    assert_problem(api.act("t_duty", cid, "escalate", reason="x"), 409, "illegal-transition")
    assert_problem(api.act("t_duty", cid, "assign_down"), 422, "validation")
    assert_problem(
        api.act("t_duty", cid, "assign_down", target_code="310117103"), 422, "validation"
    )  # not where the case lies
    down = api.ok("t_duty", cid, "assign_down", target_code="310117102")
    assert (down["loop_level"], down["owner_code"], down["status"]) == (
        "town",
        "310117102",
        "registered",
    )
    assert api.get("t_sijing", f"/{cid}").status_code == 200
    assert_problem(
        api.act("t_sijing", cid, "assign_down", target_code=SIJING), 409, "illegal-transition"
    )
    assert _actions(api, cid) == ["created", "register", "assign_down"]


def test_supervision_is_a_flag(api: Api, places: Places, clock: FakeClock) -> None:
    clock.set(sh(2026, 9, 7, 9, 0))
    cid = api.open_case("t_duty", places[SIJING])
    api.ok("t_duty", cid, "register")
    urged = api.ok("t_leader", cid, "supervise", level="urge", comment="请加快办理")
    assert urged["supervision"] == "urge" and urged["status"] == "registered"
    listed = api.get("t_duty", "", supervised="true", created_since="2026-09-07T00:00:00+08:00")
    assert cid in [c["id"] for c in listed.json()["items"]]
    api.ok("t_leader", cid, "unsupervise")
    assert api.detail(cid)["supervision"] is None
    assert _actions(api, cid) == ["created", "register", "supervise", "unsupervise"]

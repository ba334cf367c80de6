"""The application life cycle as a table: who may do what from which status, and why not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cityops.auth.roles import Perm, Role, permissions_of
from cityops.sharing.decide import (
    TABLE,
    Action,
    Refused,
    Side,
    Status,
    allowed,
    decide,
    effective,
)

OFFICER = permissions_of(Role.DISTRICT_OFFICER)
TOWN = permissions_of(Role.TOWN_OPERATOR)
OWNER = frozenset({Side.OWNER})
APPLICANT = frozenset({Side.APPLICANT})


def test_the_owner_side_approves_rejects_and_revokes() -> None:
    assert decide(Status.PENDING, Action.APPROVE, OWNER, OFFICER) is Status.APPROVED
    assert decide(Status.PENDING, Action.REJECT, OWNER, OFFICER, "超出用途") is Status.REJECTED
    assert decide(Status.APPROVED, Action.REVOKE, OWNER, OFFICER, "任务结束") is Status.REVOKED


def test_the_applicant_withdraws_only_while_pending() -> None:
    assert decide(Status.PENDING, Action.WITHDRAW, APPLICANT, TOWN) is Status.WITHDRAWN
    refused = decide(Status.APPROVED, Action.WITHDRAW, APPLICANT, TOWN)
    assert isinstance(refused, Refused) and refused.status == 409


def test_a_town_operator_cannot_approve_even_on_the_owner_side() -> None:
    refused = decide(Status.PENDING, Action.APPROVE, OWNER, TOWN)
    assert isinstance(refused, Refused) and refused.status == 403


def test_an_officer_outside_the_owner_scope_cannot_approve() -> None:
    refused = decide(Status.PENDING, Action.APPROVE, APPLICANT, OFFICER)
    assert isinstance(refused, Refused) and refused.status == 403


def test_reject_and_revoke_need_a_reason() -> None:
    for status, action in ((Status.PENDING, Action.REJECT), (Status.APPROVED, Action.REVOKE)):
        refused = decide(status, action, OWNER, OFFICER, "  ")
        assert isinstance(refused, Refused) and refused.status == 422


def test_final_statuses_take_no_action() -> None:
    final = (Status.REJECTED, Status.WITHDRAWN, Status.REVOKED, Status.EXPIRED)
    for status in final:
        assert allowed(status, OWNER | APPLICANT, OFFICER | TOWN) == []
        for action in Action:
            refused = decide(status, action, OWNER | APPLICANT, OFFICER | TOWN, "x")
            assert isinstance(refused, Refused) and refused.status == 409


def test_an_approval_past_its_expiry_is_expired() -> None:
    now = datetime(2026, 12, 7, 10, tzinfo=UTC)
    assert effective("approved", now, now) is Status.EXPIRED
    assert effective("approved", now + timedelta(seconds=1), now) is Status.APPROVED
    assert effective("pending", now - timedelta(days=1), now) is Status.PENDING


def test_allowed_lists_the_table_rows_open_to_the_actor() -> None:
    assert allowed(Status.PENDING, OWNER, OFFICER) == [Action.APPROVE, Action.REJECT]
    assert allowed(Status.PENDING, APPLICANT, TOWN) == [Action.WITHDRAW]
    assert {r.permission for r in TABLE} == {Perm.SHARING_APPLY, Perm.SHARING_APPROVE}

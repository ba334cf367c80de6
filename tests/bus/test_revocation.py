"""The shared principal cache: a revocation is told to every worker and closes the race."""

from __future__ import annotations

import asyncio

from cityops.auth.principal import Principal
from cityops.bus.events import TokensRevoked
from cityops.bus.revocation import SharedPrincipalCache
from cityops.kit.events import Event
from cityops.kit.scope import DataScope


def principal(account_id: int) -> Principal:
    """A principal of an account (its token id follows it)."""
    return Principal(
        account_id=account_id,
        username=f"u{account_id}",
        display_name="",
        role="district_officer",
        org_code="310117",
        department_id=None,
        scope=DataScope.of(["310117"]),
        must_change_password=False,
        token_id=account_id,
        token_kind="session",
    )


def test_a_revocation_is_told_and_the_account_is_not_cached_again_for_a_lifetime() -> None:
    async def work() -> tuple[list[Event], bool, bool, bool]:
        told: list[Event] = []

        async def publish(event: Event) -> None:
            told.append(event)

        here = SharedPrincipalCache(600, 100, publish)
        here.put("t1", principal(1))
        here.put("t2", principal(2))
        here.forget_account(1)
        await asyncio.sleep(0)  # the notice goes out on its own task
        gone = here.get("t1") is None
        # A token of account 1 read from the database before the revoking commit: not kept.
        here.put("t1-again", principal(1))
        not_recached = here.get("t1-again") is None
        other_kept = here.get("t2") is not None
        return told, gone, not_recached, other_kept

    told, gone, not_recached, other_kept = asyncio.run(work())
    assert gone and not_recached and other_kept
    [event] = told
    assert isinstance(event, TokensRevoked) and event.account_id == 1


def test_a_worker_that_hears_a_revocation_drops_the_account_without_telling_again() -> None:
    async def work() -> tuple[list[Event], bool, bool]:
        told: list[Event] = []

        async def publish(event: Event) -> None:
            told.append(event)

        there = SharedPrincipalCache(600, 100, publish)
        there.put("t1", principal(1))
        there.put("t3", principal(3))
        notice = TokensRevoked.model_validate(
            {"owner_code": None, "key": "k", "occurred_at": "2026-12-07T00:00:00Z", "account_id": 1}
        )
        await there.heard(notice)
        await asyncio.sleep(0)
        return told, there.get("t1") is None, there.get("t3") is not None

    told, dropped, kept = asyncio.run(work())
    assert told == [] and dropped and kept

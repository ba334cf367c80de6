"""The dispatcher hears of a commit that enqueued messages, and of no other commit."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from cityops.kit.db import create_sessionmaker, unit_of_work, utcnow
from cityops.kit.outbox.queue import deliver_after_commit, enqueue, wake_after_commit
from tests.conftest import Backend
from tests.kit.outbox_helpers import Sessions, channel_name, put, scenario


def test_only_commits_that_enqueued_wake_the_dispatcher(backend: Backend) -> None:
    async def work(sessions: Sessions) -> tuple[list[str], list[str]]:
        woken: list[str] = []
        wake_after_commit(sessions, lambda: woken.append("ours"))
        # Another factory on the same engine: its commits are none of this dispatcher's business.
        others = create_sessionmaker(sessions.kw["bind"])
        other_woken: list[str] = []
        wake_after_commit(others, lambda: other_woken.append("theirs"))
        channel, now = channel_name(), utcnow()

        async with unit_of_work(sessions) as session:  # a commit that enqueued nothing
            await session.execute(text("SELECT 1"))
        assert woken == []
        await put(sessions, channel, "http://127.0.0.1:9/", now)  # enqueued and committed
        assert woken == ["ours"]
        with pytest.raises(RuntimeError):  # enqueued, then rolled back: nothing to deliver
            async with unit_of_work(sessions) as session:
                enqueue(
                    session,
                    channel=channel,
                    topic="t",
                    payload={},
                    owner_code="310117",
                    ref="r",
                    now=now,
                    max_attempts=1,
                )
                raise RuntimeError("the step failed")
        async with unit_of_work(sessions) as session:  # the flag did not outlive the rollback
            await session.execute(text("SELECT 1"))
        assert woken == ["ours"]
        return woken, other_woken

    woken, other_woken = scenario(backend, work)
    assert woken == ["ours"] and other_woken == []


def test_a_retry_or_discard_asks_for_delivery_without_enqueueing(backend: Backend) -> None:
    async def work(sessions: Sessions) -> list[str]:
        woken: list[str] = []
        wake_after_commit(sessions, lambda: woken.append("ours"))
        async with unit_of_work(sessions) as session:  # e.g. a message re-armed by an operator
            await session.execute(text("SELECT 1"))
            deliver_after_commit(session)
        return woken

    assert scenario(backend, work) == ["ours"]

"""Notices through the outbox: the channel maps payloads to notices and results to outcomes."""

from __future__ import annotations

from cityops.kit.db import unit_of_work
from cityops.kit.outbox.dispatcher import OutboxDispatcher
from cityops.kit.outbox.queue import RetryPolicy, enqueue
from cityops.notify.base import Notice, Recipients, SendResult
from cityops.notify.channel import NotifierChannel
from cityops.notify.fake import FakeTransport
from tests.conftest import Backend
from tests.kit.outbox_helpers import Clock, Sessions, channel_name, rows, scenario

NOTICE = Notice(
    Recipients(("zhangsan",), ("12",)), "案件超期", "处置时限已过", "https://x.example/1"
)


def test_notice_payload_round_trip() -> None:
    payload = NOTICE.to_payload()
    assert payload["to"] == {"users": ["zhangsan"], "parties": ["12"]}
    back = Notice.from_payload(payload, dedupe_key="d-1")
    assert back.to == NOTICE.to and back.title == NOTICE.title and back.url == NOTICE.url
    assert back.dedupe_key == "d-1"


def test_fake_transport_behind_the_outbox(backend: Backend) -> None:
    channel, clock = channel_name(), Clock()
    fake = FakeTransport(channel)
    fake.fail_next(SendResult(False, True, -1, "system busy"))

    async def work(sessions: Sessions) -> dict[str, tuple[str, int]]:
        async def put(payload: dict[str, object]) -> int:
            async with unit_of_work(sessions) as session:
                row = enqueue(
                    session,
                    channel=channel,
                    topic="wecom.case",
                    payload=payload,
                    owner_code="310117102",
                    ref="case:1",
                    now=clock(),
                    max_attempts=3,
                )
                await session.flush()
                return row.id

        good, broken = await put(NOTICE.to_payload()), await put({"no": "notice"})
        outbox = OutboxDispatcher(
            sessions, {channel: NotifierChannel(fake)}, policy=RetryPolicy(), clock=clock
        )
        first = await outbox.run_once()
        assert first.retrying == [good] and first.failed == [broken]
        clock.advance(10)
        assert (await outbox.run_once()).delivered == [good]
        found = await rows(sessions, [good, broken])
        return {
            "good": (found[good].state, found[good].attempts),
            "broken": (found[broken].state, found[broken].attempts),
            "error": (found[broken].last_error, 0),
            "id": (found[good].delivery_id, 0),
        }

    result = scenario(backend, work)
    assert result["good"] == ("delivered", 2) and result["broken"] == ("failed", 1)
    assert result["error"][0].startswith("not a notice payload")
    assert [n.title for n in fake.sent] == ["案件超期", "案件超期"]
    assert {n.dedupe_key for n in fake.sent} == {result["id"][0]}  # retries keep one key

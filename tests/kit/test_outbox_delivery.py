"""The outbox against a real HTTP receiver: signed, retried with backoff, in order, never lost."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from cityops.kit.db import unit_of_work
from cityops.kit.outbox.models import OutboxMessage
from cityops.kit.outbox.queue import discard, enqueue, get_message, purge, rearm
from cityops.kit.outbox.webhook import body_of, sign, verify
from cityops.kit.scope import DataScope
from tests.conftest import Backend
from tests.http_peer import Peer, Seen, running
from tests.kit.outbox_helpers import (
    SECRET,
    Clock,
    Sessions,
    channel_name,
    client,
    dispatcher,
    put,
    rows,
    scenario,
)


@pytest.fixture
def peer() -> Iterator[Peer]:
    """A receiver on 127.0.0.1."""
    with running(Peer()) as server:
        yield server


def assert_signed(seen: Seen) -> None:
    """The request carries a fresh, valid signature over exactly its body."""
    headers = seen.headers
    assert headers["content-type"].startswith("application/json")
    assert verify(SECRET, headers["x-cityops-timestamp"], seen.body, headers["x-cityops-signature"])
    assert not verify(b"another-secret-of-enough-length", headers["x-cityops-timestamp"], seen.body, headers["x-cityops-signature"])  # fmt: skip


def test_signature_rules() -> None:
    body = body_of({"b": 2, "a": "签收"})
    assert body == '{"a":"签收","b":2}'.encode()  # sorted keys, compact UTF-8
    good = sign(SECRET, "1700000000", body)
    assert good.startswith("sha256=") and len(good) == 7 + 64
    assert verify(SECRET, "1700000000", body, good, now=1700000100)
    assert not verify(SECRET, "1700000000", body + b" ", good, now=1700000100)  # tampered
    assert not verify(SECRET, "1700000001", body, good, now=1700000100)  # other timestamp
    assert not verify(SECRET, "1700000000", body, good, now=1700000400)  # stale (> 5 min)
    assert not verify(SECRET, "yesterday", body, good, now=1700000100)


def test_retries_with_backoff_then_delivers_once(backend: Backend, peer: Peer) -> None:
    peer.fail_next(2, 503)
    channel, clock = channel_name(), Clock()

    async def work(sessions: Sessions) -> None:
        row_id = await put(sessions, channel, peer.url(), clock(), payload={"step": "sign"})
        async with client() as http:
            outbox = dispatcher(sessions, channel, http, clock)
            assert (await outbox.run_once()).retrying == [row_id]  # 503
            assert (await outbox.run_once()).handled == 0  # backing off: 10 s
            clock.advance(10)
            assert (await outbox.run_once()).retrying == [row_id]  # 503 again, now 20 s
            clock.advance(19)
            assert (await outbox.run_once()).handled == 0
            clock.advance(1)
            assert (await outbox.run_once()).delivered == [row_id]
            assert (await outbox.run_once()).handled == 0  # nothing twice
        row = (await rows(sessions, [row_id]))[row_id]
        assert (row.state, row.attempts, row.last_status) == ("delivered", 3, 200)
        assert row.delivered_at == clock() and row.claim is None and row.lease_until is None

    scenario(backend, work)
    attempts = peer.received(status=None)
    assert [s.status for s in attempts] == [503, 503, 200]
    assert len({s.headers["x-cityops-delivery"] for s in attempts}) == 1  # one id for all tries
    assert {s.body for s in attempts} == {b'{"step":"sign"}'}
    for seen in attempts:
        assert_signed(seen)
        assert seen.headers["x-cityops-event"] == "test.event"


def test_a_hang_past_the_timeout_is_retried_with_the_same_id(backend: Backend, peer: Peer) -> None:
    peer.hang_next(1, 120)  # until told: the client's timeout passes first, however busy
    channel, clock = channel_name(), Clock()

    async def work(sessions: Sessions) -> str:
        row_id = await put(sessions, channel, peer.url(), clock())
        async with client() as http:
            outbox = dispatcher(sessions, channel, http, clock, timeout=5)
            assert (await outbox.run_once()).retrying == [row_id]
            peer.end_hangs()  # the hung request is answered now, too late
            row = (await rows(sessions, [row_id]))[row_id]
            assert row.state == "pending" and "no answer within 5 s" in row.last_error
            clock.advance(10)
            assert (await outbox.run_once()).delivered == [row_id]
        return (await rows(sessions, [row_id]))[row_id].delivery_id

    delivery_id = scenario(backend, work)
    seen = sorted(peer.wait_for(2), key=lambda s: not s.hung)
    assert [s.hung for s in seen] == [True, False]  # the receiver got both: it dedupes on the id
    assert {s.headers["x-cityops-delivery"] for s in seen} == {delivery_id}


def test_refusals_and_the_last_attempt_make_a_message_dead(backend: Backend, peer: Peer) -> None:
    channel, clock = channel_name(), Clock()

    async def work(sessions: Sessions) -> None:
        async with client() as http:
            outbox = dispatcher(sessions, channel, http, clock)
            peer.fail_next(1, 400)  # the receiver refuses the payload: no point in retrying
            refused = await put(sessions, channel, peer.url(), clock())
            assert (await outbox.run_once()).failed == [refused]
            peer.fail_next(3, 502)
            tired = await put(sessions, channel, peer.url(), clock(), max_attempts=3)
            for _ in range(3):
                await outbox.run_once()
                clock.advance(60)
            peer.fail_next(1, 429)  # too many requests: worth another try
            busy = await put(sessions, channel, peer.url(), clock())
            assert (await outbox.run_once()).retrying == [busy]
        found = await rows(sessions, [refused, tired, busy])
        assert (found[refused].state, found[refused].attempts) == ("failed", 1)
        assert found[refused].last_error == "HTTP 400: refused by the receiver"
        assert (found[tired].state, found[tired].attempts, found[tired].last_status) == (
            "failed",
            3,
            502,
        )
        assert found[busy].state == "pending"

    scenario(backend, work)


def test_a_key_is_delivered_in_order_and_a_dead_row_holds_it(backend: Backend, peer: Peer) -> None:
    channel, clock = channel_name(), Clock()

    async def work(sessions: Sessions) -> None:
        first = [await put(sessions, channel, peer.url(), clock(), key="k1", payload={"k": 1, "n": n}) for n in (1, 2, 3)]  # fmt: skip
        other = await put(
            sessions, channel, peer.url(), clock(), key="k2", payload={"k": 2, "n": 1}
        )
        async with client() as http:
            outbox = dispatcher(sessions, channel, http, clock)
            peer.fail_next(1, 503)  # k1's first row fails …
            report = await outbox.run_once()
            assert report.retrying == [first[0]] and report.delivered == [other]
            clock.advance(10)  # … and nothing of k1 went meanwhile
            assert (await outbox.run_once()).delivered == first
            peer.fail_next(1, 400)
            dead = await put(
                sessions, channel, peer.url(), clock(), key="k3", payload={"k": 3, "n": 1}
            )
            held = await put(
                sessions, channel, peer.url(), clock(), key="k3", payload={"k": 3, "n": 2}
            )
            assert (await outbox.run_once()).failed == [dead]
            clock.advance(3600)
            assert (await outbox.run_once()).handled == 0  # k3#2 waits behind the dead row
            async with unit_of_work(sessions) as session:
                row = await get_message(session, DataScope.everything(), dead, lock=True)
                assert row is not None
                discard(row, clock(), "operator gave up")
            assert (await outbox.run_once()).delivered == [held]
            async with unit_of_work(sessions) as session:
                row = await get_message(session, DataScope.everything(), dead, lock=True)
                assert row is not None
                rearm(row, clock())
            assert (await outbox.run_once()).delivered == [dead]

    scenario(backend, work)
    delivered = [(s.json()["k"], s.json()["n"]) for s in peer.received()]
    assert delivered == [(2, 1), (1, 1), (1, 2), (1, 3), (3, 2), (3, 1)]


def test_a_rollback_sends_nothing(backend: Backend, peer: Peer) -> None:
    channel, clock = channel_name(), Clock()

    class Refused(Exception):
        pass

    async def work(sessions: Sessions) -> int:
        with pytest.raises(Refused):
            async with unit_of_work(sessions) as session:
                enqueue(
                    session,
                    channel=channel,
                    topic="test.event",
                    payload={"never": True},
                    owner_code="310117",
                    ref="test:rollback",
                    now=clock(),
                    max_attempts=3,
                    target=peer.url(),
                    secret_ref="test",
                )
                await session.flush()  # the row exists inside the transaction …
                raise Refused  # … which then fails
        async with client() as http:
            assert (await dispatcher(sessions, channel, http, clock).run_once()).handled == 0
        async with sessions() as session:
            stmt = select(func.count()).where(OutboxMessage.channel == channel)
            return int(await session.scalar(stmt) or 0)

    assert scenario(backend, work) == 0
    assert peer.received(status=None) == []


def test_without_a_secret_nothing_unsigned_goes_out(backend: Backend, peer: Peer) -> None:
    channel, clock = channel_name(), Clock()

    async def work(sessions: Sessions) -> OutboxMessage:
        async with unit_of_work(sessions) as session:
            row = enqueue(
                session,
                channel=channel,
                topic="test.event",
                payload={},
                owner_code="310117",
                ref="test:unsigned",
                now=clock(),
                max_attempts=3,
                target=peer.url(),
                secret_ref="nobody",
            )
            await session.flush()
            row_id = row.id
        async with client() as http:
            assert (await dispatcher(sessions, channel, http, clock).run_once()).failed == [row_id]
        return (await rows(sessions, [row_id]))[row_id]

    row = scenario(backend, work)
    assert row.state == "failed" and "no signing secret" in row.last_error
    assert peer.received(status=None) == []


def test_purge_keeps_what_is_not_settled(backend: Backend) -> None:
    channel = channel_name()
    old = Clock(datetime(2020, 1, 1, tzinfo=UTC))  # older than anything other tests write

    async def work(sessions: Sessions) -> tuple[int, set[str]]:
        states = ("delivered", "discarded", "failed", "pending")
        ids = [await put(sessions, channel, "http://127.0.0.1:9/", old()) for _ in states]
        async with unit_of_work(sessions) as session:
            for row_id, state in zip(ids, states, strict=True):
                await session.execute(
                    update(OutboxMessage).where(OutboxMessage.id == row_id).values(state=state)
                )
        async with unit_of_work(sessions) as session:
            purged = await purge(session, old.at + timedelta(days=1))
        return purged, {r.state for r in (await rows(sessions, ids)).values()}

    purged, left = scenario(backend, work)
    assert purged == 2 and left == {"failed", "pending"}

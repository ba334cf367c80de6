"""Several dispatchers, restarts and crashes: every message arrives, in order, exactly once.

On PostgreSQL the claim is `SELECT … FOR UPDATE SKIP LOCKED`; on SQLite a conditional UPDATE.
Each dispatcher here has its own engine and connection pool, as a second process would.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import pytest

from cityops.kit.db import create_engine, create_sessionmaker, utcnow
from cityops.kit.outbox.dispatcher import OutboxDispatcher
from tests.conftest import Backend
from tests.http_peer import Peer, running
from tests.kit.outbox_helpers import (
    Clock,
    Sessions,
    channel_name,
    client,
    dispatcher,
    put,
    rows,
    scenario,
)

KEYS, PER_KEY = 6, 5


@pytest.fixture
def peer() -> Iterator[Peer]:
    """A receiver on 127.0.0.1 that takes a little time per request, so passes overlap."""
    with running(Peer()) as server:
        server.delay = 0.01
        yield server


async def _fill(sessions: Sessions, channel: str, url: str, clock: Clock) -> list[int]:
    ids = []
    for n in range(PER_KEY):  # interleaved, as cases move side by side
        for k in range(KEYS):
            payload = {"k": k, "n": n}
            ids.append(await put(sessions, channel, url, clock(), key=f"k{k}", payload=payload))
    return ids


def _assert_exactly_once_in_order(peer: Peer, ids: list[int], delivered: dict[int, str]) -> None:
    seen = peer.received()
    per_id = Counter(s.headers["x-cityops-delivery"] for s in seen)
    assert set(per_id.values()) == {1}, "a message arrived twice"
    assert set(per_id) == {delivered[i] for i in ids}, "a message never arrived"
    for k in range(KEYS):
        order = [s.json()["n"] for s in seen if s.json()["k"] == k]
        assert order == list(range(PER_KEY)), f"key k{k} arrived as {order}"


def test_two_dispatchers_deliver_each_row_exactly_once(backend: Backend, peer: Peer) -> None:
    channel, clock = channel_name(), Clock()

    async def work(sessions: Sessions) -> tuple[list[int], dict[int, str], list[int]]:
        ids = await _fill(sessions, channel, peer.url(), clock)
        other = create_engine(backend.settings.database_url)
        try:
            async with client() as http_a, client() as http_b:
                a = dispatcher(sessions, channel, http_a, clock, concurrency=4, name="a")
                b = dispatcher(create_sessionmaker(other), channel, http_b, clock, concurrency=4, name="b")  # fmt: skip
                counts = [0, 0]
                for _ in range(50):
                    ra, rb = await asyncio.gather(a.run_once(), b.run_once())
                    counts[0] += len(ra.delivered)
                    counts[1] += len(rb.delivered)
                    if sum(counts) == len(ids):
                        break
        finally:
            await other.dispose()
        found = await rows(sessions, ids)
        assert {r.state for r in found.values()} == {"delivered"}
        assert {r.attempts for r in found.values()} == {1}
        return ids, {i: r.delivery_id for i, r in found.items()}, counts

    ids, delivered, counts = scenario(backend, work)
    _assert_exactly_once_in_order(peer, ids, delivered)
    assert sum(counts) == len(ids)


def test_one_row_is_claimed_by_one_dispatcher_only(backend: Backend, peer: Peer) -> None:
    channel, clock = channel_name(), Clock()

    async def work(sessions: Sessions) -> list[bool]:
        ids = [await put(sessions, channel, peer.url(), clock()) for _ in range(20)]
        engines = [create_engine(backend.settings.database_url) for _ in range(3)]
        try:
            async with client() as http:
                racers = [
                    dispatcher(create_sessionmaker(e), channel, http, clock, name=f"r{i}")
                    for i, e in enumerate(engines)
                ]
                wins = []
                for row_id in ids:  # three claims of the same row at the same moment
                    claims = await asyncio.gather(*(r._claim(row_id) for r in racers))
                    wins.append(sum(c is not None for c in claims) == 1)
        finally:
            for engine in engines:
                await engine.dispose()
        return wins

    assert all(scenario(backend, work))


def test_a_restart_loses_and_duplicates_nothing(backend: Backend, peer: Peer) -> None:
    channel = channel_name()

    async def work(sessions: Sessions) -> tuple[list[int], dict[int, str]]:
        ids = await _fill(
            sessions, channel, peer.url(), Clock(utcnow())
        )  # the loops run on wall time
        async with client() as http:
            first = dispatcher(sessions, channel, http, utcnow, concurrency=2, name="first")
            first.start()
            await asyncio.to_thread(peer.wait_for, 8)
            await first.stop()  # the pass under way finishes; no row is left half-done
            assert not first.running
            halfway = len(peer.received())
            assert 8 <= halfway < len(ids)
            second = dispatcher(sessions, channel, http, utcnow, concurrency=2, name="second")
            second.start()
            await asyncio.to_thread(peer.wait_for, len(ids))
            await second.stop()  # its pass under way finishes: a duplicate would be in by now
        found = await rows(sessions, ids)
        assert {r.state for r in found.values()} == {"delivered"}
        return ids, {i: r.delivery_id for i, r in found.items()}

    ids, delivered = scenario(backend, work)
    _assert_exactly_once_in_order(peer, ids, delivered)


def test_a_dispatcher_that_dies_mid_flight_is_relieved_after_its_lease(
    backend: Backend, peer: Peer
) -> None:
    channel, clock = channel_name(), Clock()

    async def work(sessions: Sessions) -> tuple[str, bool]:
        row_id = await put(sessions, channel, peer.url(), clock())
        async with client() as http:
            dying = dispatcher(sessions, channel, http, clock, name="dying")
            claimed = await dying._claim(row_id)
            assert claimed is not None
            envelope, claim = claimed
            assert (await dying._deliver(envelope)).ok  # sent … and the process dies here
            heir: OutboxDispatcher = dispatcher(sessions, channel, http, clock, name="heir")
            assert (await heir.run_once()).handled == 0  # the lease still holds
            clock.advance(dying.policy.lease.total_seconds())
            assert (await heir.run_once()).delivered == [row_id]
            # The dead dispatcher's late outcome is refused: its lease was taken over.
            await dying._finish(envelope, claim, (await dying._deliver(envelope)))
            row = (await rows(sessions, [row_id]))[row_id]
        return row.delivery_id, row.state == "delivered" and row.attempts == 2

    delivery_id, settled = scenario(backend, work)
    assert settled
    ids = [s.headers["x-cityops-delivery"] for s in peer.received()]
    assert ids == [delivery_id] * 3  # at least once: the receiver drops repeats by this id

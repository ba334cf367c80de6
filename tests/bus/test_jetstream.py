"""The JetStream adapter against the real server: sharing, fanout, de-duplication, dead letters."""

from __future__ import annotations

from collections import Counter

import nats

from cityops.kit.jetstream import JetStreamBus, Names
from cityops.kit.jetstream.consumer import ConsumerPolicy
from cityops.kit.jetstream.names import CONSUMER, DELIVERIES, REASON
from tests.bus.conftest import run, until
from tests.bus.events import Ping, ping

FAST = ConsumerPolicy(ack_wait=30, max_deliver=3, retry_seconds=0.01, fetch_seconds=0.5)


def test_two_workers_share_a_subscriber_each_event_handled_once(
    nats_url: str, names: Names
) -> None:
    async def work() -> tuple[Counter[int], int, int]:
        seen: Counter[int] = Counter()
        by_worker = [0, 0]

        def handler(worker: int):  # type: ignore[no-untyped-def]
            async def handle(event: Ping) -> None:
                seen[event.n] += 1
                by_worker[worker] += 1

            return handle

        workers = [JetStreamBus(nats_url, names, FAST) for _ in range(2)]
        for i, bus in enumerate(workers):
            bus.subscribe(Ping, handler(i), name="counter")
            await bus.start()
        try:
            for n in range(400):
                await workers[n % 2].publish(ping(n))
            await until(lambda: len(seen) == 400, "every ping handled")
        finally:
            for bus in workers:
                await bus.close()
        return seen, by_worker[0], by_worker[1]

    seen, first, second = run(work)
    assert set(seen) == set(range(400))
    assert max(seen.values()) == 1, "an event was handled twice"
    assert first + second == 400


def test_fanout_reaches_every_worker(nats_url: str, names: Names) -> None:
    async def work() -> list[list[int]]:
        heard: list[list[int]] = [[], []]
        workers = [JetStreamBus(nats_url, names, FAST) for _ in range(2)]
        for i, bus in enumerate(workers):

            async def listen(event: Ping, i: int = i) -> None:
                heard[i].append(event.n)

            bus.subscribe(Ping, listen, fanout=True)
            await bus.start()
        try:
            for n in range(20):
                await workers[0].publish(ping(n))
            await until(lambda: len(heard[0]) == len(heard[1]) == 20, "both workers heard all")
        finally:
            for bus in workers:
                await bus.close()
        return heard

    heard = run(work)
    assert heard[0] == heard[1] == list(range(20))


def test_a_repeated_publish_is_dropped_by_its_message_id(nats_url: str, names: Names) -> None:
    async def work() -> tuple[int, list[int]]:
        got: list[int] = []
        bus = JetStreamBus(nats_url, names, FAST)

        async def handle(event: Ping) -> None:
            got.append(event.n)

        bus.subscribe(Ping, handle, name="once")
        await bus.start()
        try:
            for _ in range(3):
                await bus.publish(ping(7, key="same-key"))
            await bus.publish(ping(8))  # a marker: once it is handled, 7 would have been
            await until(lambda: 8 in got, "the marker handled")
            info = await bus.js.stream_info(names.events_stream)
            return info.state.messages, got
        finally:
            await bus.close()

    messages, got = run(work)
    assert messages == 2
    assert got == [7, 8]


def test_an_always_failing_event_goes_to_dead_letters_with_the_reason(
    nats_url: str, names: Names
) -> None:
    async def work() -> tuple[dict[str, str], bytes, dict[str, object]]:
        bus = JetStreamBus(nats_url, names, FAST)
        tries: list[int] = []

        async def broken(event: Ping) -> None:
            tries.append(event.n)
            raise RuntimeError("the printer is on fire")

        bus.subscribe(Ping, broken, name="broken")
        await bus.start()
        try:
            await bus.publish(ping(1))
            await until(lambda: bus.consumers["broken"].dead == 1, "dead-lettered")
            nc = await nats.connect(nats_url)
            try:
                sub = await nc.jetstream().pull_subscribe(
                    names.dead_subject("broken"), durable="reader", stream=names.dead_stream
                )
                [letter] = await sub.fetch(1, timeout=10)
            finally:
                await nc.close()
            return dict(letter.headers or {}), letter.data, await bus.health()
        finally:
            await bus.close()

    headers, data, health = run(work)
    assert headers[REASON] == "RuntimeError: the printer is on fire"
    assert headers[DELIVERIES] == "3" and headers[CONSUMER] == "broken"
    assert b'"test.ping"' in data
    assert health["dead_letters"] == 1
    [consumer] = health["consumers"]  # type: ignore[misc]
    assert consumer["name"] == "broken" and consumer["dead_letters"] == 1


def test_a_message_that_is_not_an_event_is_dead_lettered_at_once(
    nats_url: str, names: Names
) -> None:
    async def work() -> tuple[int, int]:
        bus = JetStreamBus(nats_url, names, FAST)
        handled: list[int] = []

        async def handle(event: Ping) -> None:
            handled.append(event.n)

        bus.subscribe(Ping, handle, name="strict")
        await bus.start()
        try:
            await bus.js.publish(names.subject("test.ping"), b"{not json")
            await bus.publish(ping(2))
            await until(lambda: handled == [2], "the valid one handled")
            await until(lambda: bus.consumers["strict"].dead == 1, "the bad one dead-lettered")
            return len(handled), bus.consumers["strict"].dead
        finally:
            await bus.close()

    assert run(work) == (1, 1)

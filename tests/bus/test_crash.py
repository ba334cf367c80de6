"""A consumer killed mid-batch resumes without loss; a failing subscriber stalls no other."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from cityops.kit.jetstream import JetStreamBus, Names
from cityops.kit.jetstream.consumer import ConsumerPolicy
from tests.bus.conftest import run, until
from tests.bus.crash_consumer import ACK_WAIT
from tests.bus.events import Ping, ping

ROOT = Path(__file__).resolve().parents[2]


def test_a_consumer_killed_mid_batch_resumes_without_loss(nats_url: str, names: Names) -> None:
    total, die_at = 300, 100

    async def publish() -> None:
        bus = JetStreamBus(nats_url, names)
        await bus.start()
        try:
            for n in range(total):
                await bus.publish(ping(n))
        finally:
            await bus.close()

    run(publish)
    child = subprocess.run(
        [sys.executable, "-m", "tests.bus.crash_consumer", nats_url, names.prefix, str(die_at)],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    before = [int(line) for line in child.stdout.split()]
    assert len(before) == die_at - 1  # it died while handling the next, holding the rest

    async def resume() -> Counter[int]:
        after: Counter[int] = Counter()
        # The same durable consumer: what the dead process held comes back after its AckWait.
        bus = JetStreamBus(nats_url, names, ConsumerPolicy(ack_wait=ACK_WAIT, fetch_seconds=0.5))

        async def handle(event: Ping) -> None:
            after[event.n] += 1

        bus.subscribe(Ping, handle, name="worker")
        await bus.start()
        try:
            await until(lambda: len(set(before) | set(after)) == total, "every ping handled", 120)
        finally:
            await bus.close()
        return after

    after = run(resume)
    assert set(before) | set(after) == set(range(total))
    assert max(after.values()) == 1
    assert after[before[-1] + 1] == 1, "the ping in hand when it died came back"


def test_an_always_failing_subscriber_leaves_the_others_their_throughput(
    nats_url: str, names: Names
) -> None:
    batch, healthy = 300, 3
    policy = ConsumerPolicy(max_deliver=3, retry_seconds=0.01, fetch_seconds=0.5)

    async def phase(prefix: str, with_failing: bool) -> list[int]:
        counts = [0] * healthy
        bus = JetStreamBus(nats_url, Names(prefix), policy)
        for i in range(healthy):

            async def handle(event: Ping, i: int = i) -> None:
                counts[i] += 1

            bus.subscribe(Ping, handle, name=f"healthy-{i}")
        if with_failing:

            async def broken(event: Ping) -> None:
                raise RuntimeError("always")

            bus.subscribe(Ping, broken, name="broken")
        await bus.start()
        try:
            for n in range(batch):
                await bus.publish(ping(n))
            if with_failing:
                # Progress measured when the failing one has given up on the whole batch
                # (3 deliveries each): the healthy ones must not be behind for its sake.
                await until(lambda: bus.consumers["broken"].dead == batch, "all dead-lettered")
            else:
                await until(lambda: min(counts) == batch, "the batch handled")
            return list(counts)
        finally:
            await bus.close()

    async def both() -> tuple[list[int], list[int]]:
        return await phase(names.prefix, False), await phase(names.prefix + "f", True)

    try:
        normal, beside_failing = run(both)
    finally:
        run(lambda: _drop(nats_url, Names(names.prefix + "f")))
    assert normal == [batch] * healthy
    for count in beside_failing:
        assert count >= 0.9 * batch, (count, beside_failing)


async def _drop(nats_url: str, names: Names) -> None:
    import nats

    from cityops.kit.jetstream.names import delete_streams

    nc = await nats.connect(nats_url)
    try:
        await delete_streams(nc.jetstream(), names)
    finally:
        await nc.close()

"""A worker that dies on an event's last delivery still leaves a dead letter with the reason."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import nats
from nats.aio.msg import Msg

from cityops.kit.events import decodes
from cityops.kit.jetstream import JetStreamBus, Names
from cityops.kit.jetstream.dead import DIED
from cityops.kit.jetstream.names import CONSUMER, DELIVERIES, REASON
from tests.bus.conftest import run, until
from tests.bus.dying_consumer import POLICY
from tests.bus.events import Ping, ping

ROOT = Path(__file__).resolve().parents[2]


def test_a_worker_dying_on_the_last_delivery_leaves_a_dead_letter(
    nats_url: str, names: Names
) -> None:
    async def publish() -> None:
        bus = JetStreamBus(nats_url, names)
        await bus.start()
        try:
            await bus.publish(ping(7))
        finally:
            await bus.close()

    run(publish)
    child = subprocess.run(
        [sys.executable, "-m", "tests.bus.dying_consumer", nats_url, names.prefix],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    assert child.stdout.decode().split("\n")[:2] == ["delivery 1 of ping 7", "delivery 2 of ping 7"]

    async def survive() -> tuple[list[Msg], list[int], int]:
        letters: list[Msg] = []
        heard: list[int] = []
        watcher = await nats.connect(nats_url)

        async def keep(message: Msg) -> None:
            letters.append(message)

        await watcher.subscribe(names.dead_subject("worker"), cb=keep)
        await watcher.flush()
        # Another worker of the same subscriber: its pulls make the server find the dead
        # one's last delivery unanswered and publish the advisory that this worker hears.
        bus = JetStreamBus(nats_url, names, POLICY)

        async def handle(event: Ping) -> None:
            heard.append(event.n)

        bus.subscribe(Ping, handle, name="worker")
        await bus.start()
        try:
            await until(lambda: bool(letters), "the dead letter written", 120)
            await bus.publish(ping(8))  # a marker: the consumer goes on, ping 7 is not retried
            await until(lambda: 8 in heard, "the marker handled")
            assert bus.dead_watch is not None
            written = bus.dead_watch.written
        finally:
            await bus.close()
            await watcher.close()
        return letters, heard, written

    letters, heard, written = run(survive)
    assert heard == [8]
    assert written == 1
    (letter,) = letters
    assert letter.headers is not None
    assert letter.headers[REASON] == DIED
    assert letter.headers[CONSUMER] == "worker"
    assert letter.headers[DELIVERIES] == str(POLICY.max_deliver)
    event = decodes(letter.data)
    assert isinstance(event, Ping) and event.n == 7

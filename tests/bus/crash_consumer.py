"""A consumer process that is killed (SIGKILL) in the middle of a batch, for test_crash.py.

Usage: python -m tests.bus.crash_consumer NATS_URL PREFIX DIE_AT. It prints the number of
each ping it handled (before the ack), and kills itself while handling the DIE_AT-th.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from cityops.kit.jetstream import JetStreamBus, Names
from cityops.kit.jetstream.consumer import ConsumerPolicy
from tests.bus.events import Ping

#: Short, so what the dead process held comes back soon; correctness never depends on it.
ACK_WAIT = 2.0


async def main(url: str, prefix: str, die_at: int) -> None:
    """Handle pings until the DIE_AT-th, then die holding a batch."""
    handled = 0
    policy = ConsumerPolicy(ack_wait=ACK_WAIT, batch=64, fetch_seconds=0.5)
    bus = JetStreamBus(url, Names(prefix), policy, deliver_all=True)

    async def handle(event: Ping) -> None:
        nonlocal handled
        handled += 1
        if handled == die_at:
            os.kill(os.getpid(), signal.SIGKILL)
        print(event.n, flush=True)

    bus.subscribe(Ping, handle, name="worker")
    await bus.start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))

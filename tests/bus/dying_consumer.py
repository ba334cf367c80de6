"""A consumer process killed (SIGKILL) on an event's last delivery, for test_dead_letters.py.

Usage: python -m tests.bus.dying_consumer NATS_URL PREFIX. Its handler fails the first
delivery of a ping (the consumer asks for it again) and kills the process on the second, the
last one `POLICY` allows: nobody is left to write the dead letter.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from cityops.kit.jetstream import JetStreamBus, Names
from cityops.kit.jetstream.consumer import ConsumerPolicy
from tests.bus.events import Ping

#: Two deliveries; a short AckWait so the dead one's delivery ends soon (nothing depends on it).
POLICY = ConsumerPolicy(ack_wait=2.0, max_deliver=2, retry_seconds=0.01, fetch_seconds=0.5)


async def main(url: str, prefix: str) -> None:
    """Fail a ping once, then die holding its last delivery."""
    deliveries = 0
    bus = JetStreamBus(url, Names(prefix), POLICY, deliver_all=True)

    async def handle(event: Ping) -> None:
        nonlocal deliveries
        deliveries += 1
        print(f"delivery {deliveries} of ping {event.n}", flush=True)
        if deliveries == POLICY.max_deliver:
            os.kill(os.getpid(), signal.SIGKILL)
        raise RuntimeError("not yet")

    bus.subscribe(Ping, handle, name="worker")
    await bus.start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))

"""A worker cut off from NATS hears, once back, the fanout events published while it was away."""

from __future__ import annotations

from cityops.kit.jetstream import JetStreamBus, Names
from tests.bus.conftest import Proxy, run, until
from tests.bus.events import Ping, ping


def test_a_reconnecting_worker_catches_up_on_fanout_events(nats_url: str, names: Names) -> None:
    host, _, port = nats_url.rsplit("/", 1)[-1].partition(":")

    async def work() -> tuple[list[int], int]:
        proxy = Proxy(host, int(port or 4222))
        await proxy.start()
        heard: list[int] = []
        publisher = JetStreamBus(nats_url, names)
        away = JetStreamBus(proxy.url, names)  # reaches the server only through the proxy

        async def listen(event: Ping) -> None:
            heard.append(event.n)

        away.subscribe(Ping, listen, fanout=True)
        await publisher.start()
        await away.start()
        try:
            await publisher.publish(ping(0))
            await until(lambda: heard == [0], "heard live")
            await proxy.cut()
            await until(lambda: not away.connected, "the link is down")
            for n in range(1, 11):  # on the stream; the cut-off worker cannot hear them live
                await publisher.publish(ping(n))
            await proxy.start()
            await until(lambda: set(range(11)) <= set(heard), "the missed events replayed")
            await until(lambda: away.catch_up.catch_ups == 1, "the catch-up finished")
            await publisher.publish(ping(11))  # and live again after the catch-up
            await until(lambda: 11 in heard, "heard live after the reconnect")
            return heard, away.catch_up.catch_ups
        finally:
            await away.close()
            await publisher.close()
            await proxy.cut()

    heard, catch_ups = run(work)
    assert catch_ups == 1
    assert set(heard) == set(range(12))
    # A replay may repeat what was heard just before the cut (fanout listeners are idempotent),
    # never an event from long before it.
    assert heard.count(0) <= 2

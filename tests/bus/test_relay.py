"""Events kept in the outbox with their transaction: swept once published, relayed if not."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cityops.kit.db import create_engine, create_sessionmaker, unit_of_work, utcnow
from cityops.kit.jetstream import JetStreamBus, Names
from cityops.kit.jetstream.consumer import ConsumerPolicy
from cityops.kit.jetstream.relay import BUS_CHANNEL, BusChannel
from cityops.kit.outbox.dispatcher import OutboxDispatcher
from cityops.kit.outbox.models import OutboxMessage
from cityops.kit.outbox.queue import rearm
from tests.bus.conftest import until
from tests.bus.events import Ping, ping
from tests.conftest import Backend

Sessions = async_sessionmaker[AsyncSession]


async def rows_of(sessions: Sessions, ref: str) -> list[str]:
    """The states of the bus rows of one event."""
    async with sessions() as session:
        found = await session.scalars(
            select(OutboxMessage.state).where(
                OutboxMessage.channel == BUS_CHANNEL, OutboxMessage.ref == ref
            )
        )
        return list(found)


def test_staged_events_are_swept_rolled_back_or_relayed(
    backend: Backend, nats_url: str, names: Names
) -> None:
    tag = names.prefix  # keys of this test's own: the database is shared

    async def work() -> None:
        engine = create_engine(backend.settings.database_url)
        sessions = create_sessionmaker(engine)
        heard: list[int] = []
        policy = ConsumerPolicy(fetch_seconds=0.5)
        bus = JetStreamBus(nats_url, names, policy, sessions=sessions, grace=3600)

        async def hear(event: Ping) -> None:
            heard.append(event.n)

        bus.subscribe(Ping, hear, name="hear")
        await bus.start()
        channel = BusChannel(nats_url)
        try:
            # 1. Committed and published: heard once, its row swept.
            first = ping(1, key=f"{tag}-1")
            async with unit_of_work(sessions) as session:
                bus.stage(session, first)
            assert await rows_of(sessions, f"test.ping:{tag}-1") == ["pending"]
            await bus.publish(first)
            await until(lambda: heard == [1], "the published event heard")
            async with asyncio.timeout(60):  # the sweeper is another task; a hang guard
                while await rows_of(sessions, f"test.ping:{tag}-1"):  # noqa: ASYNC110
                    await asyncio.sleep(0.02)

            # 2. Rolled back: nothing kept, nothing to publish.
            try:
                async with unit_of_work(sessions) as session:
                    bus.stage(session, ping(2, key=f"{tag}-2"))
                    await session.flush()
                    raise RuntimeError("the change failed")
            except RuntimeError:
                pass
            assert await rows_of(sessions, f"test.ping:{tag}-2") == []
            assert bus.sweeper is not None and not bus.sweeper.is_committed(f"test.ping:{tag}-2")

            # 3. Committed, and the writer died before publishing: the relay publishes it once
            # it is due (here: the dispatcher's clock past the grace period).
            third = f"test.ping:{tag}-3"
            async with unit_of_work(sessions) as session:
                bus.stage(session, ping(3, key=f"{tag}-3"))
            await OutboxDispatcher(sessions, {BUS_CHANNEL: channel}).run_once()
            assert await rows_of(sessions, third) == ["pending"]  # not due before the grace
            later = utcnow() + timedelta(seconds=3601)
            relay = OutboxDispatcher(sessions, {BUS_CHANNEL: channel}, clock=lambda: later)
            await relay.run_once()
            await until(lambda: 3 in heard, "the relayed event heard")
            assert await rows_of(sessions, third) == ["delivered"]

            # 4. Relayed again (an operator's retry, a second dispatcher): dropped by its id.
            async with unit_of_work(sessions) as session:
                row = await session.scalar(select(OutboxMessage).where(OutboxMessage.ref == third))
                assert row is not None
                rearm(row, later)
            await relay.run_once()
            assert await rows_of(sessions, third) == ["delivered"]
            await bus.publish(ping(4, key=f"{tag}-4"))  # a marker after the repeat
            await until(lambda: 4 in heard, "the marker heard")
        finally:
            await channel.close()
            await bus.close()
            await engine.dispose()
        assert heard == [1, 3, 4]

    asyncio.run(work())

"""Two real worker processes on one database and the real NATS server.

An event published by worker A reaches an SSE stream on worker B; a worker killed with SIGKILL
between commit and publish loses no event and applies none twice (the relay publishes it when
a worker starts again, and JetStream drops the repeat).
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path

import httpx
from sqlalchemy import select

from cityops.cases import CaseCreated
from cityops.kit.db import create_engine, create_sessionmaker
from cityops.kit.jetstream import JetStreamBus, Names
from cityops.kit.jetstream.consumer import ConsumerPolicy
from cityops.kit.jetstream.relay import BusChannel
from cityops.kit.outbox.models import OutboxMessage
from cityops.kit.outbox.queue import Envelope
from tests.bus.conftest import until
from tests.bus.servers import worker, worker_env
from tests.conftest import Backend
from tests.overview.conftest import SIJING_COMMUNITY
from tests.overview.test_stream import events, next_change

TIMEOUT = httpx.Timeout(60.0)


def open_case(base: str, headers: dict[str, str]) -> int:
    """Open a grid case through a worker's API."""
    body = {
        "source": "grid",
        "source_key": f"bus-{uuid.uuid4().hex}",
        "category": "component:0101",
        "text": "跨进程推送测试",
        "org_code": SIJING_COMMUNITY,
    }
    reply = httpx.post(f"{base}/api/v1/cases", json=body, headers=headers, timeout=TIMEOUT)
    assert reply.status_code == 201, reply.text
    case_id: int = reply.json()["id"]
    return case_id


def test_an_event_on_worker_a_reaches_a_stream_on_worker_b(
    backend: Backend, names: Names, nats_url: str, tmp_path: Path
) -> None:
    env = worker_env(backend, names, nats_url, CITYOPS_OVERVIEW_REFRESH_SECONDS="600")
    with worker(env, tmp_path, "a") as a, worker(env, tmp_path, "b") as b:
        duty = b.login("t_duty")
        url = f"{b.base}/api/v1/overview/310117102/stream"
        with httpx.stream("GET", url, headers=duty, timeout=TIMEOUT) as reply:
            assert reply.status_code == 200
            stream = events(reply)
            next_change(stream, "connect")
            open_case(a.base, duty)  # on the other worker
            change = next_change(stream, "case.created")
        assert "event_flow" in change["parts"]
        health = httpx.get(f"{b.base}/readyz", timeout=TIMEOUT).json()
        assert health["bus"] == {"adapter": "nats-jetstream", "connected": True}


def witness(nats_url: str, names: Names, case_id: int) -> list[str]:
    """Every case.created of a case on the stream, as a new durable consumer from the start hears."""

    async def work() -> list[str]:
        heard: list[str] = []
        durable = f"witness-{uuid.uuid4().hex[:8]}"
        bus = JetStreamBus(nats_url, names, ConsumerPolicy(fetch_seconds=0.5), deliver_all=True)

        async def hear(event: CaseCreated) -> None:
            if event.id == case_id:
                heard.append(event.key)

        bus.subscribe(CaseCreated, hear, name=durable)
        await bus.start()
        try:
            await until(lambda: bool(heard), "the case.created event on the stream", 120)
            while True:  # until the witness has had (and acked) everything on the stream
                info = await bus.js.consumer_info(names.events_stream, durable)
                if not info.num_pending and not info.num_ack_pending:
                    break
                await asyncio.sleep(0.05)
        finally:
            await bus.close()
        return heard

    return asyncio.run(work())


async def relay_again(backend: Backend, nats_url: str, case_id: int) -> str:
    """Publish the relayed outbox row of the case's creation once more, as a repeating relay."""
    engine = create_engine(backend.settings.database_url)
    channel = BusChannel(nats_url)
    try:
        async with create_sessionmaker(engine)() as session:
            row = await session.scalar(
                select(OutboxMessage).where(
                    OutboxMessage.channel == "bus", OutboxMessage.ref == f"case.created:{case_id}"
                )
            )
            assert row is not None, "the event was not kept in the outbox"
            assert row.state == "delivered" and row.attempts == 1, (row.state, row.attempts)
            outcome = await channel.deliver(Envelope.of(row))
            assert outcome.ok
            return row.state
    finally:
        await channel.close()
        await engine.dispose()


def test_sigkill_between_commit_and_publish_loses_nothing_and_repeats_nothing(
    backend: Backend, names: Names, nats_url: str, tmp_path: Path
) -> None:
    # Worker A commits the case, answers 201, then dies before publishing (injected fault).
    doomed = worker_env(
        backend,
        names,
        nats_url,
        CITYOPS_BUS_FAULT="die-before-publish",
        CITYOPS_BUS_RELAY_GRACE_SECONDS="0",
        CITYOPS_OUTBOX_DISPATCHER="false",  # nothing in A may relay it before it dies
    )
    with worker(doomed, tmp_path, "a") as a:
        case_id = open_case(a.base, a.login("t_duty"))
        assert a.process.wait(timeout=60) == -signal.SIGKILL
    # A worker starts again: its relay finds the committed event and publishes it once.
    again = worker_env(backend, names, nats_url)
    with worker(again, tmp_path, "a2"):
        heard = witness(nats_url, names, case_id)
    assert heard == [f"case.created:{case_id}"]
    # The relay publishes it again (a repeat): JetStream drops it by its message id.
    asyncio.run(relay_again(backend, nats_url, case_id))
    assert witness(nats_url, names, case_id) == heard


def test_a_logout_on_worker_a_is_refused_at_once_on_worker_b(
    backend: Backend, names: Names, nats_url: str, tmp_path: Path
) -> None:
    # Each worker would trust a verified token for ten minutes: only the broadcast can end it.
    env = worker_env(backend, names, nats_url, CITYOPS_PRINCIPAL_CACHE_SECONDS="600")
    with worker(env, tmp_path, "a") as a, worker(env, tmp_path, "b") as b:
        token = a.login("t_duty")
        assert httpx.get(f"{b.base}/api/v1/auth/me", headers=token).status_code == 200  # cached
        assert httpx.post(f"{a.base}/api/v1/auth/logout", headers=token).status_code == 204
        asyncio.run(until_refused(f"{b.base}/api/v1/auth/me", token))
        assert httpx.get(f"{a.base}/api/v1/auth/me", headers=token).status_code == 401


async def until_refused(url: str, headers: dict[str, str]) -> None:
    """Ask until the worker refuses the token (the guard stops a hang, not a slow answer)."""
    async with httpx.AsyncClient(timeout=TIMEOUT) as client, asyncio.timeout(60):
        while (await client.get(url, headers=headers)).status_code != 401:  # noqa: ASYNC110
            await asyncio.sleep(0.02)


def test_serve_two_web_workers_share_live_updates(
    backend: Backend, names: Names, nats_url: str, tmp_path: Path
) -> None:
    # One `serve --workers 2 --role web`: a stream and a POST may land on either worker; every
    # case opened must reach the stream, whichever worker took it.
    env = worker_env(backend, names, nats_url, CITYOPS_OVERVIEW_REFRESH_SECONDS="600")
    with worker(env, tmp_path, "pair", "--workers", "2", "--role", "web") as pair:
        duty = pair.login("t_duty")
        url = f"{pair.base}/api/v1/overview/310117102/stream"
        with httpx.stream("GET", url, headers=duty, timeout=TIMEOUT) as reply:
            stream = events(reply)
            next_change(stream, "connect")
            for _ in range(6):  # over new connections: the kernel spreads them over the pair
                with httpx.Client(timeout=TIMEOUT) as fresh:
                    body = {
                        "source": "grid",
                        "source_key": f"pair-{uuid.uuid4().hex}",
                        "category": "component:0101",
                        "text": "双进程推送测试",
                        "org_code": SIJING_COMMUNITY,
                    }
                    answer = fresh.post(f"{pair.base}/api/v1/cases", json=body, headers=duty)
                    assert answer.status_code == 201, answer.text
                next_change(stream, "case.created")
        ready = httpx.get(f"{pair.base}/readyz", timeout=TIMEOUT).json()
    assert ready["bus"] == {"adapter": "nats-jetstream", "connected": True}
    log = (tmp_path / "pair.log").read_text("utf-8", errors="replace")
    assert log.count("Started server process") == 2, log[-2000:]

"""The event bus on NATS JetStream: throughput, HTTP intake with it, cross-worker latency.

    .venv/bin/python bench/bench_bus.py [--quick] [--no-http]
        [--nats nats://127.0.0.1:4222]
        [--pg-url postgresql+asyncpg://postgres@127.0.0.1:5432/cityops_bench_bus]

Three measurements, each beside its anchor in the same run:

(a) throughput, publish → consume → ack, of `--messages` events through cityops's adapter
    (`JetStreamBus.publish`, a durable pull consumer, the handler, explicit ack) beside raw
    nats-py (`js.publish`, `pull_subscribe` + `fetch`, `msg.ack`) with payloads of the same
    size, in alternating rounds (best of each kept). Goal: adapter ≥ 0.5 of raw.
(b) HTTP intake on PostgreSQL: a real `cityops serve --workers N` (N = 1, 2) loaded by wrk with
    POST /api/v1/cases (bench/cases_http.py), on the NATS bus (each case's event written to the
    outbox in its transaction, published after commit, its row swept) beside the in-process
    bus. Goal: NATS ≥ 0.9 of in-process for each N.
(c) cross-worker latency: one process publishes events as a worker does after a commit; another
    process hears them on a fanout subscription, as every worker's live overview does; the
    delay is read on the machine's monotonic clock, which both processes share. Goal: p99 <
    300 ms. (The overview's SSE stream then waits 0.4 s on purpose to fold a burst of events
    into one notice; that debounce is the screen's, not the bus's, and is not counted.)

Exit status: 0 goals met, 1 a goal missed, 2 could not run (no NATS, no PostgreSQL, no wrk).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cityops.kit.events import Event
from cityops.kit.jetstream import JetStreamBus, Names
from cityops.kit.jetstream.consumer import ConsumerPolicy
from cityops.kit.jetstream.names import delete_streams

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/cityops_bench_bus"
GOAL_THROUGHPUT, GOAL_HTTP, GOAL_P99_MS = 0.5, 0.9, 300.0


class BenchEvent(Event):
    """Synthetic: a padded event of a chosen size, stamped with when it was sent."""

    name = "bench.event"
    sent: float = 0.0
    pad: str = ""


def bench_event(n: int, size: int, sent: float = 0.0) -> BenchEvent:
    """Event n, padded so that its JSON is about `size` bytes."""
    bare = BenchEvent(owner_code="310117", key=f"b{n}", occurred_at=datetime.now(UTC), sent=sent)
    return bare.model_copy(update={"pad": "x" * max(size - len(bare.to_json()), 0)})


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    parser.add_argument("--messages", type=int, default=5000, help="events per throughput round")
    parser.add_argument("--size", type=int, default=512, help="bytes per message")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds; best kept")
    parser.add_argument("--latency-events", type=int, default=500)
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="a NEW database (dropped after)")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per wrk run")
    parser.add_argument("--http-warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--http-rounds", type=int, default=2, help="runs per bus and N")
    parser.add_argument("--no-http", action="store_true", help="skip (b)")
    parser.add_argument("--only-http", action="store_true", help="(b) alone")
    parser.add_argument("--quick", action="store_true", help="short runs (noisy figures)")
    parser.add_argument("--listen", nargs=3, help=argparse.SUPPRESS)  # (c)'s other process
    opts = parser.parse_args(argv)
    opts.workers = [int(w) for w in opts.workers.split(",")]
    if opts.quick:
        opts.messages, opts.rounds, opts.duration, opts.latency_events = 2000, 2, 4.0, 200
    opts.wrk = shutil.which("wrk") or ""
    return opts


# ---------------------------------------------------------------------------- (a) throughput


async def raw_round(url: str, count: int, payload: bytes) -> float:
    """Raw nats-py: publish `count` messages while a pull consumer fetches and acks them."""
    prefix = f"braw{uuid.uuid4().hex[:8]}"
    nc = await nats.connect(url)
    js = nc.jetstream()
    subject = f"{prefix}.ev.bench"
    await js.add_stream(StreamConfig(name=prefix.upper(), subjects=[f"{prefix}.>"]))
    sub = await js.pull_subscribe(
        subject,
        durable="raw",
        stream=prefix.upper(),
        config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=30, max_ack_pending=256),
    )
    acked = 0

    async def consume() -> None:
        nonlocal acked
        while acked < count:
            try:
                messages = await sub.fetch(64, timeout=1)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            for message in messages:
                await message.ack()
                acked += 1

    try:
        started = time.perf_counter()
        consumer = asyncio.create_task(consume())
        for n in range(count):
            await js.publish(subject, payload, headers={"Nats-Msg-Id": f"b{n}"})
        await consumer
        return count / (time.perf_counter() - started)
    finally:
        await js.delete_stream(prefix.upper())
        await nc.close()


async def adapter_round(url: str, count: int, size: int) -> float:
    """cityops's adapter: publish `count` events while a durable subscriber handles them."""
    names = Names(f"bbus{uuid.uuid4().hex[:8]}")
    bus = JetStreamBus(url, names, ConsumerPolicy(fetch_seconds=1))
    events = [bench_event(n, size) for n in range(count)]
    done = asyncio.Event()
    handled = 0

    async def handle(event: BenchEvent) -> None:
        nonlocal handled
        handled += 1
        if handled == count:
            done.set()

    bus.subscribe(BenchEvent, handle, name="bench")
    await bus.start()
    try:
        started = time.perf_counter()
        for event in events:
            await bus.publish(event)
        await done.wait()
        return count / (time.perf_counter() - started)
    finally:
        await delete_streams(bus.js, names)
        await bus.close()


async def throughput(opts: argparse.Namespace) -> dict[str, Any]:
    """Alternating rounds of raw and adapter; the best of each."""
    payload = bench_event(0, opts.size).to_json()
    raw: list[float] = []
    adapter: list[float] = []
    for _ in range(opts.rounds):
        raw.append(await raw_round(opts.nats, opts.messages, payload))
        adapter.append(await adapter_round(opts.nats, opts.messages, opts.size))
    best_raw, best_adapter = max(raw), max(adapter)
    return {
        "messages": opts.messages,
        "bytes": len(payload),
        "raw_per_s": raw,
        "adapter_per_s": adapter,
        "ratio": best_adapter / best_raw,
    }


# ---------------------------------------------------------------------------- (c) latency


async def listen(url: str, prefix: str, count: int) -> None:
    """The other process: hear `count` events on a fanout subscription; print their delays."""
    bus = JetStreamBus(url, Names(prefix))
    delays: list[float] = []
    done = asyncio.Event()

    async def hear(event: BenchEvent) -> None:
        delays.append((time.monotonic() - event.sent) * 1000)
        if len(delays) >= count:
            done.set()

    bus.subscribe(BenchEvent, hear, fanout=True)
    await bus.start()
    print("ready", flush=True)
    try:
        await asyncio.wait_for(done.wait(), timeout=300)
    finally:
        await bus.close()
    print(json.dumps(delays), flush=True)


async def latency(opts: argparse.Namespace) -> dict[str, Any]:
    """Publish events paced like live updates; the other process reports each one's delay."""
    names = Names(f"blat{uuid.uuid4().hex[:8]}")
    bus = JetStreamBus(opts.nats, names)
    await bus.start()  # makes the stream before the listener binds
    child = subprocess.Popen(  # noqa: ASYNC220 - one child, read from a thread
        [sys.executable, __file__, "--listen", opts.nats, names.prefix, str(opts.latency_events)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert (await asyncio.to_thread(child.stdout.readline)).strip() == "ready"
        for n in range(opts.latency_events):
            await bus.publish(bench_event(n, opts.size, time.monotonic()))
            await asyncio.sleep(0.01)  # live updates arrive over time, not as one flood
        delays = sorted(json.loads(await asyncio.to_thread(child.stdout.readline)))
    finally:
        child.wait(timeout=60)
        await delete_streams(bus.js, names)
        await bus.close()

    def pct(p: float) -> float:
        return float(delays[min(int(p * len(delays)), len(delays) - 1)])

    return {"events": len(delays), "p50_ms": pct(0.5), "p99_ms": pct(0.99), "max_ms": delays[-1]}


# ---------------------------------------------------------------------------- (b) HTTP intake


def http_intake(opts: argparse.Namespace, workdir: Path) -> list[dict[str, Any]]:
    """POST /api/v1/cases on PostgreSQL with 1 and 2 workers, in-process bus beside NATS.

    Rounds alternate (in-process, NATS, NATS, in-process, …) and the best of each is kept, so a
    burst of other load on the machine cannot fall on one side only. Each run also reports the
    CPU time the server and PostgreSQL spent per request (nats-server's own is not counted).
    """
    from bench_foundation import Server, database
    from cases_http import HttpBench, open_accounts, prepare, write_reports
    from cases_workload import (
        DATA_KEY,
        grid_shapes,
        prepare_database,
        reports,
        sample_points,
        usable_categories,
    )

    out: list[dict[str, Any]] = []
    with database(opts.pg_url, workdir) as db:
        asyncio.run(prepare_database(db.url))
        # The load signs in with passwords: no role of this synthetic run enrols a TOTP device.
        setup = prepare(
            "postgresql", db.url, workdir, DATA_KEY, {"CITYOPS_TOTP_REQUIRED_ROLES": "[]"}
        )
        points = sample_points(asyncio.run(grid_shapes(db.url)), 5000, seed=7)
        reports_file = workdir / "reports.txt"
        write_reports(reports_file, reports(5000, points, usable_categories(), "bus"))
        names = Names(f"bhttp{uuid.uuid4().hex[:8]}")
        on_nats = {"CITYOPS_BUS_URL": opts.nats, "CITYOPS_BUS_PREFIX": names.prefix}
        tokens: tuple[str, str] | None = None
        try:
            for workers in opts.workers:
                rates: dict[str, list[float]] = {"in-process": [], "nats": []}
                cpu_ms: dict[str, list[float]] = {"in-process": [], "nats": []}
                order = ["in-process", "nats", "nats", "in-process"] * opts.http_rounds
                for i, bus in enumerate(order[: 2 * opts.http_rounds]):
                    env = setup.env | (on_nats if bus == "nats" else {})
                    argv = [setup.cityops, "serve", "--workers", str(workers)]
                    server = Server(f"bus-{bus}-w{workers}-{i}", argv, workdir, env)
                    try:
                        server.wait_ready("/readyz")
                        tokens = tokens or open_accounts(setup, server.port)
                        bench = HttpBench(setup, server, opts, tokens)
                        tag = f"{bus[:2]}{workers}r{i}-{int(time.time())}"
                        if opts.http_warmup:
                            bench.create(f"{tag}-warm", reports_file, opts.http_warmup)
                            bench.settle()
                        run, cpu = bench.create(f"{tag}-main", reports_file, opts.duration)
                        bench.settle()
                    finally:
                        server.stop()
                    answered = max(run.requests - run.non_2xx, 1)
                    spent = cpu.seconds.get("server", 0.0) + cpu.seconds.get("postgres", 0.0)
                    rates[bus].append(run.requests_per_s)
                    cpu_ms[bus].append(1000 * spent / answered)
                    print(
                        f"  (b) {workers} worker(s), {bus} bus: {run.requests_per_s:,.0f} req/s "
                        f"p99 {run.p99_ms} ms non-2xx {run.non_2xx}, "
                        f"{cpu_ms[bus][-1]:.1f} CPU-ms/request (server "
                        f"{1000 * cpu.seconds.get('server', 0.0) / answered:.1f}, PostgreSQL "
                        f"{1000 * cpu.seconds.get('postgres', 0.0) / answered:.1f}), "
                        f"machine busy {cpu.busy:.0%} (others {cpu.other:.0%})",
                        flush=True,
                    )
                best = {bus: max(values) for bus, values in rates.items()}
                cheapest = {bus: min(values) for bus, values in cpu_ms.items()}
                out.append(
                    {
                        "workers": workers,
                        **best,
                        "ratio": best["nats"] / best["in-process"],
                        "cpu_ms": cheapest,
                        "cpu_ratio": cheapest["in-process"] / cheapest["nats"],
                        "rounds": rates,
                    }
                )
        finally:
            asyncio.run(_drop(opts.nats, names))
    return out


async def _drop(url: str, names: Names) -> None:
    nc = await nats.connect(url)
    try:
        await delete_streams(nc.jetstream(), names)
    finally:
        await nc.close()


# ---------------------------------------------------------------------------- main


async def nats_reachable(url: str) -> bool:
    """Whether the NATS server answers."""
    try:
        nc = await nats.connect(url, connect_timeout=3, max_reconnect_attempts=0)
    except Exception:
        return False
    await nc.close()
    return True


def main(argv: list[str] | None = None) -> int:
    """Run (a), (c) and (b); print the figures and ratios; exit 1 on a missed goal."""
    opts = parse_args(argv)
    if opts.listen:
        asyncio.run(listen(opts.listen[0], opts.listen[1], int(opts.listen[2])))
        return 0
    if not asyncio.run(nats_reachable(opts.nats)):
        print(f"no NATS server at {opts.nats}: start nats-server -js")
        return 2
    if not opts.no_http and not opts.wrk:
        print("wrk is not installed (apt-get install wrk), or pass --no-http")
        return 2
    missed: list[str] = []
    if not opts.only_http:
        missed += bus_figures(opts)
    if not opts.no_http:
        missed += http_figures(opts)
    print("goals met" if not missed else f"MISSED: {', '.join(missed)}")
    return 1 if missed else 0


def bus_figures(opts: argparse.Namespace) -> list[str]:
    """(a) and (c): print them; the goals missed."""
    missed: list[str] = []
    found = asyncio.run(throughput(opts))
    print(
        f"(a) throughput, {found['messages']} × {found['bytes']} B: adapter "
        f"{max(found['adapter_per_s']):,.0f}/s, raw nats-py {max(found['raw_per_s']):,.0f}/s, "
        f"ratio {found['ratio']:.2f} (goal ≥ {GOAL_THROUGHPUT})",
        flush=True,
    )
    if found["ratio"] < GOAL_THROUGHPUT:
        missed.append("(a) throughput")
    lat = asyncio.run(latency(opts))
    print(
        f"(c) cross-process latency over {lat['events']} events: p50 {lat['p50_ms']:.1f} ms, "
        f"p99 {lat['p99_ms']:.1f} ms, max {lat['max_ms']:.1f} ms (goal p99 < {GOAL_P99_MS:g})",
        flush=True,
    )
    if lat["p99_ms"] >= GOAL_P99_MS:
        missed.append("(c) latency")
    return missed


def http_figures(opts: argparse.Namespace) -> list[str]:
    """(b): print it; the goals missed."""
    missed: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="cityops-bench-bus-"))
    (workdir / "var").mkdir()
    try:
        for row in http_intake(opts, workdir):
            print(
                f"(b) HTTP intake, {row['workers']} worker(s): NATS {row['nats']:,.0f} req/s, "
                f"in-process {row['in-process']:,.0f} req/s, ratio {row['ratio']:.2f} "
                f"(goal ≥ {GOAL_HTTP}); CPU per request NATS {row['cpu_ms']['nats']:.1f} ms, "
                f"in-process {row['cpu_ms']['in-process']:.1f} ms, "
                f"ratio {row['cpu_ratio']:.2f}",
                flush=True,
            )
            if row["ratio"] < GOAL_HTTP:
                missed.append(f"(b) HTTP intake with {row['workers']} worker(s)")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return missed


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())

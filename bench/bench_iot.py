"""The IoT hub's ingest: MQTT publish → validate → store on PostgreSQL, beside the raw broker.

    .venv/bin/python bench/bench_iot.py [--messages 200000] [--devices 1000] [--consumers 2]
        [--burst-seconds 60] [--goal 10000] [--quick]

In the same run, on a private Mosquitto (port 8218) and a new PostgreSQL database:

(a) raw broker rate (the anchor): a paho QoS 1 publisher process → a paho QoS 1 subscriber
    process that only counts, with the same payloads (one reading per message, as devices
    send) — the most a Python client pair moves through this broker on this machine;
(b) sustained end-to-end: the same publisher, unthrottled, → `cityops iot consume` processes
    (a shared subscription) → token, time and profile checks → batched insert (unnest) with
    latest values and last seen → commit → PUBACK; the rate is messages / (first publish →
    last row committed). Printed beside (a) with their ratio. Goal: ≥ `--goal` msg/s;
(c) burst: 3 × goal msg/s offered for `--burst-seconds`; absorbed when every published
    message is stored (count published = count stored) — however long the queue takes to drain.

Exit status: 0 goals met, 1 a goal missed, 2 could not run (no mosquitto, no PostgreSQL).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MOSQUITTO = "/usr/sbin/mosquitto"
PG_ADMIN = os.environ.get(
    "CITYOPS_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
PORT = 8218
OWNERS = ["310117102", "310117103", "310117104", "310117105"]


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--consumers", type=int, default=2)
    parser.add_argument("--burst-seconds", type=float, default=60.0)
    parser.add_argument("--goal", type=float, default=10_000.0)
    parser.add_argument("--quick", action="store_true", help="20,000 messages, a 5 s burst")
    return parser.parse_args()


def start_broker(workdir: Path) -> subprocess.Popen[bytes]:
    """A private mosquitto (never the shared one), persistent, with no queue caps."""
    (workdir / "data").mkdir()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"user {getpass.getuser()}\nlistener {PORT} 127.0.0.1\nallow_anonymous true\n"
        f"persistence true\npersistence_location {workdir / 'data'}/\n"
        "max_queued_messages 0\nmax_inflight_messages 0\n"
    )
    proc = subprocess.Popen(
        [MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(300):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", PORT)) == 0:
                return proc
        time.sleep(0.05)
    raise RuntimeError("mosquitto did not start")


async def prepare_db(devices: int, workdir: Path) -> tuple[str, Path]:
    """A new migrated database with `devices` water-level gauges; their tokens to a file."""
    import asyncpg

    from cityops.iot.registry.service import NewDevice, create_device
    from cityops.kit.db import in_unit_of_work
    from cityops.kit.migrate import upgrade

    name = f"cityops_bench_iot_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(PG_ADMIN.replace("postgresql+asyncpg", "postgresql"))
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    await asyncio.to_thread(upgrade, url)

    async def register(session: Any) -> list[list[str]]:
        out = []
        for i in range(devices):
            owner = OWNERS[i % len(OWNERS)]
            new = NewDevice(
                f"B{i:05d}",
                f"【模拟】压测水位计{i}",
                owner,
                "water_level_gauge",
                121.2,
                31.05,
                synthetic=True,
            )
            out.append([new.id, owner, (await create_device(session, new))[1]])
        return out

    rows = await in_unit_of_work(url, register)
    path = workdir / "devices.json"
    path.write_text(json.dumps(rows))
    return url, path


async def drop_db(url: str) -> None:
    """Drop the bench database."""
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN.replace("postgresql+asyncpg", "postgresql"))
    await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    await conn.close()


def stored(url: str) -> int:
    """Rows in telemetry now."""
    import asyncpg

    async def go() -> int:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            return int(await conn.fetchval("SELECT count(*) FROM telemetry"))
        finally:
            await conn.close()

    return asyncio.run(go())


def publisher(
    prefix: str, devices: Path, count: int, rate: float, ts_base: int, plain: str | None = None
) -> subprocess.Popen[str]:
    """The publisher process."""
    args = [
        sys.executable,
        str(HERE / "iot_publish.py"),
        str(PORT),
        prefix,
        str(devices),
        str(count),
        str(rate),
        str(ts_base),
    ]
    return subprocess.Popen([*args, *([plain] if plain else [])], stdout=subprocess.PIPE, text=True)


def raw_rate(prefix: str, devices: Path, count: int) -> float:
    """(a) publisher → counting subscriber, msg/s."""
    topic = f"{prefix}-raw/x"
    sub = subprocess.Popen(
        [sys.executable, str(HERE / "iot_subscribe.py"), str(PORT), topic, str(count)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sub.stdout is not None
    assert sub.stdout.readline().strip() == "ready"
    t0 = time.monotonic()
    pub = publisher(prefix, devices, count, 0, 0, plain=topic)
    out = json.loads(sub.stdout.readline())
    pub.wait(600)
    sub.wait(60)
    if out["received"] < count:
        raise RuntimeError(f"raw subscriber got {out['received']} of {count}")
    return count / (out["at"] - t0)


def start_consumers(url: str, prefix: str, n: int) -> list[subprocess.Popen[str]]:
    """`cityops iot consume` × n in one shared-subscription group; returns once all subscribed."""
    procs = []
    for i in range(n):
        env = {
            **os.environ,
            "CITYOPS_DATABASE_URL": url,
            "CITYOPS_MQTT_URL": f"mqtt://127.0.0.1:{PORT}",
            "CITYOPS_MQTT_TOPIC_PREFIX": prefix,
            "CITYOPS_MQTT_CLIENT_ID": f"bench-{i}",
            "CITYOPS_MQTT_SHARE_GROUP": "bench",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "cityops", "iot", "consume"],
            env=env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stderr is not None
        for line in proc.stderr:
            if "subscribed" in line:
                break
        procs.append(proc)
    return procs


def until_stored(url: str, expected: int, guard: float) -> tuple[int, float]:
    """Poll the count until `expected` (or the guard); the count and when it was reached."""
    deadline = time.monotonic() + guard
    seen = stored(url)
    while seen < expected and time.monotonic() < deadline:
        time.sleep(0.25)
        seen = stored(url)
    return seen, time.monotonic()


def main() -> int:
    """Run (a), (b), (c); print the table; exit by the goals."""
    args = parse_args()
    if args.quick:
        args.messages, args.burst_seconds = 20_000, 5.0
    if not Path(MOSQUITTO).exists():
        print("mosquitto is not installed", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="bench-iot-"))
    broker = start_broker(workdir)
    url = ""
    consumers: list[subprocess.Popen[str]] = []
    try:
        try:
            url, devices = asyncio.run(prepare_db(args.devices, workdir))
        except OSError as exc:
            print(f"PostgreSQL is not reachable: {exc}", file=sys.stderr)
            return 2
        prefix = f"bench{uuid.uuid4().hex[:6]}/v1"
        raw = raw_rate(prefix, devices, args.messages)
        consumers = start_consumers(url, prefix, args.consumers)
        ts_base = int(time.time() * 1000) - 3_600_000
        t0 = time.monotonic()
        pub = publisher(prefix, devices, args.messages, 0, ts_base)
        count, t1 = until_stored(url, args.messages, 600)
        pub.wait(600)
        e2e = args.messages / (t1 - t0)
        # (c) the burst: 3 × goal offered for the burst's seconds, on timestamps half an hour
        # before (b)'s (each device's readings are 1 ms apart, so the two never meet).
        burst_n = int(3 * args.goal * args.burst_seconds)
        before = stored(url)
        t2 = time.monotonic()
        pub = publisher(prefix, devices, burst_n, 3 * args.goal, ts_base - 1_800_000)
        burst_count, t3 = until_stored(url, before + burst_n, 900)
        sent = json.loads(pub.communicate(timeout=600)[0])
        burst_stored = burst_count - before
    finally:
        for proc in consumers:
            proc.send_signal(signal.SIGTERM)
        for proc in consumers:
            proc.wait(60)
        broker.terminate()
        broker.wait(30)
        if url:
            asyncio.run(drop_db(url))
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"\nIoT ingest, {args.messages} messages, {args.devices} devices, {args.consumers} consumers, PostgreSQL"
    )
    print(f"{'run':<44}{'msg/s':>12}")
    print(f"{'(a) raw broker: paho pub → paho sub (QoS 1)':<44}{raw:>12,.0f}")
    print(f"{'(b) cityops: pub → validate → store → ack':<44}{e2e:>12,.0f}")
    print(f"ratio (b)/(a): {e2e / raw:.2f}; stored {count} of {args.messages}")
    offered = sent["published"] / sent["seconds"]
    drain = t3 - t2
    print(
        f"(c) burst: {sent['published']} offered at {offered:,.0f} msg/s, stored {burst_stored} "
        f"in {drain:.1f} s ({burst_stored / drain:,.0f} msg/s)"
    )
    goals = {
        f"sustained ≥ {args.goal:,.0f} msg/s": e2e >= args.goal and count == args.messages,
        "burst: count published = count stored": burst_stored == sent["published"] == sent["acked"],
        f"burst offered ≥ 3 × {args.goal:,.0f} msg/s": offered >= 2.95 * args.goal,
    }
    for name, ok in goals.items():
        print(f"  {'met   ' if ok else 'MISSED'} {name}")
    return 0 if all(goals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

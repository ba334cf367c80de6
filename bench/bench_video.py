"""The video hub's SIP server under a registration storm, steady keepalives and a big catalog.

    .venv/bin/python bench/bench_video.py [--devices 10000] [--window 60] [--channels 5000]
        [--database-url postgresql+asyncpg://…]

The platform (UpperPlatform with the real registry store on a fresh SQLite file, or the given
database migrated) runs in this process; the devices are `cityops simulate video` in a child
process (labelled synthetic), so the CPU measured (time.process_time of this process) is the
platform's alone: SIP parsing, digest, transactions, the DeviceInfo and Catalog queries each
new registration triggers, and the database writes.

Phases and goals (issue 16, on this 2-core machine):
1. storm: N devices register with digest (and answer DeviceInfo + Catalog): all N within 60 s;
2. steady: N devices keep alive every 60 s; the platform's CPU over `--window` s < 25 % of one
   core (CPU per 1,000 devices printed), no device taken offline;
3. catalog: one device answers a catalog of `--channels` items in packets of 20: ingested (in
   the database) within 10 s of its registration.
Anchor: WVP-GB28181-pro publishes no sizing (#1568) and cannot run here (Java, ZLMediaKit,
Redis, MySQL): there is no ratio to print, only the goals. Exit 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from cityops.kit.bus import InProcessBus
from cityops.kit.db import create_engine, create_sessionmaker
from cityops.kit.migrate import upgrade
from cityops.video.gb28181.catalog import Catalog
from cityops.video.gb28181.config import PlatformConfig
from cityops.video.gb28181.store import Registration
from cityops.video.gb28181.upper import UpperPlatform
from cityops.video.registry.store import SqlDeviceStore

PASSWORD = "bench-Passw0rd"
DOMAIN = "3101170000"
PORT = 15090  # the video helper's range


class CountingStore(SqlDeviceStore):
    """The registry store, counting what reached the database."""

    registrations = 0
    catalogs = 0
    offline_count = 0
    big_catalog_at: float | None = None
    big_registered_at: float | None = None
    big_channels = 0

    async def registered(self, registration: Registration) -> None:
        await super().registered(registration)
        self.registrations += 1
        if registration.device_id.endswith("999999"):
            self.big_registered_at = time.perf_counter()

    async def catalog(self, catalog: Catalog) -> None:
        await super().catalog(catalog)
        self.catalogs += 1
        if catalog.device_id.endswith("999999"):
            self.big_catalog_at, self.big_channels = time.perf_counter(), len(catalog.items)

    async def offline(self, device_ids: list[str], at: object) -> None:  # type: ignore[override]
        await super().offline(device_ids, at)  # type: ignore[arg-type]
        self.offline_count += len(device_ids)


async def simulator(*args: str) -> asyncio.subprocess.Process:
    """`cityops simulate video` against the bench platform."""
    env = {**os.environ, "CITYOPS_SIP_PASSWORD": PASSWORD, "CITYOPS_SIP_DOMAIN": DOMAIN}
    command = [sys.executable, "-m", "cityops", "simulate", "video", "--port", str(PORT), *args]
    return await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )


async def until(check: object, limit: float) -> bool:
    """Poll a condition every 50 ms up to `limit` seconds (a benchmark, not a test)."""
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        if check():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.05)
    return bool(check())  # type: ignore[operator]


async def bench(devices: int, window: float, channels: int, url: str) -> int:
    engine = create_engine(url)
    store = CountingStore(
        create_sessionmaker(engine),
        InProcessBus(),
        lambda _d: "310117",
        alarm_category="event:0409",
    )
    config = PlatformConfig(
        platform_id="31011700002000000001",
        domain=DOMAIN,
        password=PASSWORD,
        host="127.0.0.1",
        port=PORT,
        register_limit=10**9,
        catalog_timeout=10.0,
    )
    platform = UpperPlatform(config, store)
    await platform.start()
    failures: list[str] = []
    try:
        # 1. storm
        started, storm_cpu = time.perf_counter(), time.process_time()
        fleet = await simulator(
            "--devices", str(devices), "--channels", "2", "--packet-items", "2",
            "--keepalive", "60", "--duration", "3600",
        )  # fmt: skip
        stormed = await until(lambda: store.registrations >= devices, 120)
        storm_s = time.perf_counter() - started
        storm_cpu = time.process_time() - storm_cpu
        settled = await until(lambda: store.catalogs >= devices, 120)
        print(f"storm: {store.registrations}/{devices} registered in {storm_s:.1f} s "
              f"(goal: {devices} within 60 s); catalogs {store.catalogs} by "
              f"{time.perf_counter() - started:.1f} s; platform CPU {storm_cpu:.1f} s")  # fmt: skip
        if not stormed or storm_s > 60:
            failures.append("storm")
        if not settled:
            failures.append("storm catalogs")
        # 2. steady keepalives
        sweeper = asyncio.ensure_future(platform.run_sweeps(15.0))
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(window)
        cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
        sweeper.cancel()
        await platform.sweep()
        per_1000 = cpu * 100 / max(devices / 1000, 1e-9)
        print(f"steady: {devices} devices at 60 s keepalives over {window:.0f} s: "
              f"{cpu * 100:.1f} % of one core ({per_1000:.2f} % per 1,000 devices; goal < 25 %), "
              f"{store.offline_count} taken offline (goal 0)")  # fmt: skip
        if cpu >= 0.25 or store.offline_count:
            failures.append("steady")
        if fleet.returncode is None:
            fleet.terminate()
        await fleet.communicate()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(
            f"simulator CPU (the devices' side, for scale): {children.ru_utime + children.ru_stime:.1f} s"
        )
        # 3. one big catalog
        big = await simulator(
            "--devices", "1", "--channels", str(channels), "--packet-items", "20",
            "--first-serial", "999999", "--keepalive", "60", "--duration", "60",
        )  # fmt: skip
        done = await until(lambda: store.big_catalog_at is not None, 60)
        if big.returncode is None:
            big.terminate()
        await big.communicate()
        took = (store.big_catalog_at or 0) - (store.big_registered_at or 0)
        print(f"catalog: {store.big_channels}/{channels} channels ingested in {took:.2f} s "
              f"after registration (goal < 10 s)")  # fmt: skip
        if not done or took >= 10 or store.big_channels != channels:
            failures.append("catalog")
    finally:
        await platform.stop()
        await engine.dispose()
    print("anchor: WVP-GB28181-pro publishes no sizing (#1568) and cannot run here; no ratio")
    print("result:", "PASS" if not failures else f"MISSED {', '.join(failures)}")
    return 1 if failures else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--channels", type=int, default=5000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'video.db'}"
        upgrade(url)
        sys.exit(asyncio.run(bench(args.devices, args.window, args.channels, url)))


if __name__ == "__main__":
    main()

"""`cityops simulate video`: synthetic devices register, answer catalogs and keep alive."""

from __future__ import annotations

import asyncio
import os
import sys

from cityops.video.simulator.run import VideoSimConfig, simulate_video
from tests.video.memory_store import MemoryStore, sync
from tests.video.test_upper import PASSWORD, running


@sync
async def test_the_simulator_registers_n_devices_and_answers_catalogs() -> None:
    store = MemoryStore()
    async with running(store) as (platform, _fleet):
        config = VideoSimConfig(
            port=platform.port,
            password=PASSWORD,
            devices=6,
            channels=9,
            packet_items=4,
            keepalive_seconds=0.05,
            duration=60,
            first_serial=500,
        )
        run = asyncio.ensure_future(simulate_video(config))
        await store.until(lambda: len(store.catalogs) == 6 and len(store.infos) == 6)
        for _ in range(1200):  # bounded by count: keepalives come every 50 ms per device
            await platform.sweep()
            if len(store.keepalives) == 6:
                break
            await asyncio.sleep(0.05)
        run.cancel()
        assert len(store.keepalives) == 6
        assert all(c.complete and len(c.items) == 9 for c in store.catalogs.values())
        assert all(
            r.user_agent.startswith("cityops-simulator") for r in store.registrations.values()
        )


@sync
async def test_the_command_runs_against_a_platform() -> None:
    store = MemoryStore()
    async with running(store, "tcp") as (platform, _fleet):
        command = [
            sys.executable,
            "-m",
            "cityops",
            "simulate",
            "video",
            "--port",
            str(platform.port),
        ]
        command += ["--devices", "3", "--channels", "5", "--transport", "tcp", "--duration", "3"]
        env = {**os.environ, "CITYOPS_SIP_PASSWORD": PASSWORD, "CITYOPS_SIP_DOMAIN": "3101170000"}
        proc = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, out.decode()
        assert "3 synthetic devices registered" in out.decode()
        assert len(store.registrations) == 3
        assert all(len(c.items) == 5 for c in store.catalogs.values())

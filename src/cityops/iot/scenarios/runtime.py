"""Start and stop the scenario engine with the app; register it as a reading sink."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import FastAPI

from cityops.iot.readings import DeviceDirectory, DeviceInfo
from cityops.iot.scenarios.engine import ScenarioEngine
from cityops.iot.scenarios.repository import ensure_base_templates
from cityops.kit.db import unit_of_work

log = logging.getLogger(__name__)

#: How often the no-data kind is judged and the instances re-read (other workers' changes).
TICK_S = 15.0


class AppDirectory:
    """The registry's directory as the app holds it (`app.state.iot_directory`), when there."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def _inner(self) -> DeviceDirectory | None:
        found: DeviceDirectory | None = getattr(self.app.state, "iot_directory", None)
        return found

    async def device(self, device_id: str) -> DeviceInfo | None:
        """The device, or None (also while no registry runs)."""
        inner = self._inner()
        return None if inner is None else await inner.device(device_id)

    async def devices_of(self, owner_code: str, profile: str | None = None) -> list[DeviceInfo]:
        """The owner's devices (none while no registry runs)."""
        inner = self._inner()
        return [] if inner is None else await inner.devices_of(owner_code, profile)


async def start_scenarios(app: FastAPI) -> ScenarioEngine:
    """Seed the base templates, start the engine, hear every stored batch, tick the clock."""
    state = app.state
    async with unit_of_work(state.sessions) as session:
        added = await ensure_base_templates(session, state.settings.district_code)
    if added:
        log.info("seeded %d base scenario templates", added)
    engine = ScenarioEngine(state.sessions, state.bus, AppDirectory(app))
    await engine.start()
    state.iot_scenarios = engine
    if not hasattr(state, "iot_sinks"):
        state.iot_sinks = []
    state.iot_sinks.append(engine)
    state.iot_scenario_ticker = asyncio.create_task(_tick(engine), name="scenario-ticker")
    return engine


async def _tick(engine: ScenarioEngine) -> None:
    while True:
        await asyncio.sleep(TICK_S)
        try:
            await engine.reload()
            engine.tick()
        except Exception:  # a database hiccup: the next tick tries again
            log.exception("scenario tick failed")


async def stop_scenarios(app: FastAPI) -> None:
    """Stop ticking and let the engine finish what it holds."""
    ticker: asyncio.Task[None] | None = getattr(app.state, "iot_scenario_ticker", None)
    if ticker is not None:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
    engine: ScenarioEngine | None = getattr(app.state, "iot_scenarios", None)
    if engine is not None:
        await engine.stop()

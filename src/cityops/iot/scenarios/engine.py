"""The scenario engine: a `ReadingSink` that routes readings to one runner per instance.

`feed` never waits: a batch goes into a bounded inbox (when it is full the batch is counted as
shed and reported; its readings are already stored by the ingest, so a replay can re-feed
them). A dispatcher task routes each reading to the runners whose instance watches the device
and the key; each runner evaluates in its own task (see runner.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cityops.iot.readings import DeviceDirectory, DeviceInfo, Reading
from cityops.iot.scenarios.kinds import KINDS, Evaluator
from cityops.iot.scenarios.runner import Runner, RunnerEnv, Tick
from cityops.iot.scenarios.spec import RunSpec
from cityops.iot.scenarios.store import load_specs, open_levels
from cityops.kit.bus import Bus
from cityops.kit.db import unit_of_work, utcnow
from cityops.kit.scope import DataScope

log = logging.getLogger(__name__)

#: Batches the inbox holds before `feed` sheds (each batch is one ingest write).
INBOX_BATCHES = 2_000
#: Fire-latency samples kept for the health figure and the benchmark.
LATENCY_SAMPLES = 100_000


class ScenarioEngine:
    """Evaluate every enabled instance on the readings it watches, each in isolation."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bus: Bus,
        directory: DeviceDirectory,
        *,
        kinds: Mapping[str, Evaluator[Any]] = KINDS,
        now: Callable[[], datetime] = utcnow,
        inbox_batches: int = INBOX_BATCHES,
        **limits: Any,
    ) -> None:
        self.directory = directory
        self.kinds = dict(kinds)
        self.now = now
        self.env = RunnerEnv(
            sessions,
            bus,
            self._device,
            now,
            on_fired=self._fired,
            on_tripped=self._tripped,
            **limits,
        )
        self.runners: dict[int, Runner] = {}
        self.shed_batches = 0
        self.shed_readings = 0
        self.unrouted = 0  # readings the dispatcher could not route (the directory failed)
        self.latencies: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self._inbox: asyncio.Queue[Sequence[Reading] | None] = asyncio.Queue(inbox_batches)
        self._devices: dict[str, DeviceInfo | None] = {}
        self._routes: dict[tuple[str, str], list[Runner]] = {}
        self._dispatcher: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Load the instances and start routing."""
        await self.reload()
        self._dispatcher = asyncio.create_task(self._dispatch(), name="scenario-dispatch")

    async def stop(self) -> None:
        """Route what is queued, let every runner finish, then stop."""
        if self._dispatcher is not None:
            await self._inbox.put(None)
            await self._dispatcher
            self._dispatcher = None
        for runner in self.runners.values():
            await runner.stop()

    async def feed(self, readings: Sequence[Reading]) -> None:
        """Take a stored batch without waiting (ReadingSink); a full inbox sheds and counts it."""
        if not readings:
            return
        try:
            self._inbox.put_nowait(readings)
        except asyncio.QueueFull:
            self.shed_batches += 1
            self.shed_readings += len(readings)
            log.warning(
                "scenario inbox full: %d readings shed (stored, not evaluated)", len(readings)
            )

    def tick(self, now: datetime | None = None) -> None:
        """Let time pass for every runner (the no-data kind fires on it)."""
        at = now or self.now()
        for runner in self.runners.values():
            runner.offer(Tick(at))

    async def idle(self) -> None:
        """Wait until everything fed so far is evaluated and its outcomes recorded."""
        await self._inbox.join()
        for runner in list(self.runners.values()):
            await runner.join()

    async def reload(self) -> None:
        """Read the instances again; keep the runners (and states) of those that did not change."""
        async with unit_of_work(self.env.sessions) as session:
            specs = {s.instance_id: s for s in await load_specs(session)}
            for instance_id in set(self.runners) - set(specs):
                await self.runners.pop(instance_id).stop()
            for spec in specs.values():
                old = self.runners.get(spec.instance_id)
                if old is not None and old.spec.fingerprint == spec.fingerprint:
                    continue
                if old is not None:
                    await old.stop()
                self.runners[spec.instance_id] = await self._runner(session, spec)
        self._routes.clear()
        self._devices.clear()

    async def _runner(self, session: AsyncSession, spec: RunSpec) -> Runner:
        evaluator = self.kinds.get(spec.kind)
        runner = Runner(spec, evaluator or KINDS["threshold"], self.env)
        if evaluator is None:
            runner.disabled = f"未知的场景类型 {spec.kind}"
        now = self.now()
        for device_id, level in (await open_levels(session, spec.instance_id)).items():
            runner.states[device_id] = runner.evaluator.resume(spec.params, level, now)
        if spec.kind == "no_data" and not runner.disabled:
            for device in await self._watched(spec):
                runner.states.setdefault(device, runner.evaluator.start(spec.params, now))
        runner.start()
        return runner

    async def _watched(self, spec: RunSpec) -> list[str]:
        """The devices an instance watches (the no-data kind times even the silent ones)."""
        if spec.device_ids:
            return sorted(spec.device_ids)
        return [d.device_id for d in await self.directory.devices_of(spec.owner_code, spec.profile)]

    async def _dispatch(self) -> None:
        while True:
            batch = await self._inbox.get()
            try:
                if batch is None:
                    return
                for reading in batch:
                    await self._offer(reading)
            finally:
                self._inbox.task_done()
            await asyncio.sleep(0)  # let the runners drain before routing the next batch

    async def _offer(self, reading: Reading) -> None:
        try:
            runners = await self._route(reading)
        except Exception as exc:  # a bad reading or the directory away: counted, never fatal
            self.unrouted += 1
            log.warning("scenario: reading of %.128s not routed (%r)", reading.device_id, exc)
            return
        for runner in runners:
            runner.offer(reading)

    async def _route(self, reading: Reading) -> list[Runner]:
        """The runners whose instance watches this device and key (cached per device and key)."""
        route = (reading.device_id, reading.key)
        found = self._routes.get(route)
        if found is None:
            device = await self._device(reading.device_id)
            profile = device.profile if device is not None else None
            found = [
                r
                for r in self.runners.values()
                if not r.disabled
                and r.spec.selects(reading.device_id, reading.owner_code, profile)
                and _listens(r, reading.key)
            ]
            self._routes[route] = found
        return found

    async def _device(self, device_id: str) -> DeviceInfo | None:
        if device_id not in self._devices:
            self._devices[device_id] = await self.directory.device(device_id)
        return self._devices[device_id]

    def _tripped(self) -> None:
        # A disabled runner gets no more readings: route again without it.
        self._routes.clear()

    def _fired(self, received: list[datetime]) -> None:
        now = utcnow()
        self.latencies.extend((now - at).total_seconds() for at in received)

    def health_in(self, scope: DataScope) -> dict[str, Any]:
        """The health with only the instances of owners inside a data scope."""
        found = self.health()
        owners = {i: r.spec.owner_code for i, r in self.runners.items()}
        found["instances"] = {
            i: v for i, v in found["instances"].items() if scope.allows(owners.get(i, ""))
        }
        return found

    def health(self) -> dict[str, Any]:
        """Per instance: processed, errors, shed, disabled and why; the inbox's shed counts."""
        return {
            "running": self._dispatcher is not None,
            "inbox": self._inbox.qsize(),
            "shed_batches": self.shed_batches,
            "shed_readings": self.shed_readings,
            "unrouted": self.unrouted,
            "instances": {
                i: {
                    "processed": r.counters.processed,
                    "errors": r.counters.errors,
                    "shed": r.counters.shed,
                    "skipped": r.counters.skipped,
                    "store_errors": r.counters.store_errors,
                    "last_error": r.counters.last_error,
                    "disabled": r.disabled,
                }
                for i, r in self.runners.items()
            },
        }


def _listens(runner: Runner, key: str) -> bool:
    try:
        keys = runner.evaluator.keys(runner.spec.params)
    except Exception:  # a broken instance gets its readings and fails (and trips) on its own
        return True
    return keys is None or key in keys

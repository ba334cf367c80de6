"""The simulation loop: Poisson arrivals through the sources' intake paths, handlers behind.

A report the platform could not take (it is down, restarting, or answered 5xx) is kept and sent
again with the same source key, so an outage delays cases but neither loses nor doubles them.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import random
import signal
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import pyotp

from cityops.config import Settings
from cityops.kit.db import in_unit_of_work
from cityops.simulate.accounts import Login, SimAccounts, prepare_accounts
from cityops.simulate.channels import (
    Channel,
    HotlineChannel,
    MobileChannel,
    Open311Channel,
    UrbanGridChannel,
)
from cityops.simulate.handlers import DONE, Handlers
from cityops.simulate.scenarios import Report, ReportMaker, is_simulated

log = logging.getLogger(__name__)
#: Every this many reports, one goes to a person's scope (SimAccounts.focus) in turn.
FOCUS_EVERY = 8


@dataclass(frozen=True, slots=True)
class SimConfig:
    """How fast, how long and how busy the simulated district is."""

    base_url: str
    rate: float = 0.5  # new reports per second
    count: int | None = None  # stop after this many reports
    duration: float | None = None  # stop after this many seconds
    dwell: float = 30.0  # mean seconds a case waits before its next step
    handlers: bool = True
    seed: int | None = None
    run_id: str = ""
    ready_timeout: float = 120.0


@dataclass(slots=True)
class SimStats:
    """What the run did."""

    sent: Counter[str] = field(default_factory=Counter)  # source → cases opened
    refused: Counter[str] = field(default_factory=Counter)  # source → 4xx answers
    retried: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    finished: int = 0

    def line(self) -> str:
        """One line for the log."""
        sent = ", ".join(f"{k} {v}" for k, v in sorted(self.sent.items()))
        return (
            f"opened {sum(self.sent.values())} ({sent}); {sum(self.actions.values())} actions; "
            f"{self.finished} cases finished; {sum(self.refused.values())} refused; "
            f"{self.retried} retries"
        )


async def wait_ready(http: httpx.AsyncClient, patience: float) -> None:
    """Wait until the platform answers /readyz."""
    deadline = time.monotonic() + patience
    while True:
        try:
            if (await http.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{http.base_url} did not become ready in {patience:.0f} s")
        await asyncio.sleep(0.5)


async def login(http: httpx.AsyncClient, who: Login) -> str:
    """A bearer token for a simulator account."""
    reply = await http.post(
        "/api/v1/auth/login", json={"username": who.username, "password": who.password}
    )
    reply.raise_for_status()
    body = reply.json()
    if body.get("code_required") and who.totp_secret:
        # Two factors, as the duty officer's role must: the code from the secret it holds.
        code = pyotp.TOTP(who.totp_secret).now()
        reply = await http.post(
            "/api/v1/auth/login/code", json={"challenge": body["challenge"], "code": code}
        )
        reply.raise_for_status()
        body = reply.json()
    return str(body["access_token"])


async def build_channels(http: httpx.AsyncClient, accounts: SimAccounts) -> dict[str, Channel]:
    """One channel per simulated source, signed in with that source's credentials."""
    keys = accounts.api_keys
    channels: dict[str, Channel] = {
        "hotline_12345": HotlineChannel("hotline_12345", keys["hotline_12345"]),
        "grid": UrbanGridChannel("grid", keys["grid"], accounts.district),
        "open311": Open311Channel("open311", keys["open311"]),
    }
    tokens = {code: await login(http, who) for code, who in accounts.grid_workers.items()}
    channels["mobile"] = MobileChannel("mobile", tokens)
    return channels


class Simulation:
    """One run: reports arrive at the rate, handlers move open cases after a dwell."""

    def __init__(self, config: SimConfig, accounts: SimAccounts) -> None:
        self.config = config
        self.accounts = accounts
        # Separate streams: what arrives must not depend on how fast the handlers ran.
        self.rng = random.Random(config.seed)
        self.handler_rng = random.Random(None if config.seed is None else config.seed + 1)
        self.maker = ReportMaker(accounts.places, self.rng, config.run_id or _run_id(self.rng))
        mobile_places = [p for p in accounts.places if p.code in accounts.grid_workers]
        self.mobile_places = mobile_places
        self.stats = SimStats()
        self.drawn = 0  # reports drawn so far (a resend is not drawn again)
        self.pending: list[Report] = []  # taken from the maker, not yet accepted
        self.due: list[tuple[float, int]] = []  # (when, case id): a heap of next steps
        self.stop = asyncio.Event()

    async def run(self) -> SimStats:
        """Run until the count or duration is reached or `stop` is set."""
        config = self.config
        async with httpx.AsyncClient(base_url=config.base_url, timeout=30.0) as http:
            await wait_ready(http, config.ready_timeout)
            channels = await build_channels(http, self.accounts)
            checker = self.accounts.checker
            handlers = Handlers(
                http,
                await login(http, self.accounts.officer),
                self.handler_rng,
                await login(http, checker) if checker else "",
            )
            await self._adopt(http, handlers.token)
            tasks = [asyncio.create_task(self._arrivals(http, channels))]
            if config.handlers:
                tasks.append(asyncio.create_task(self._handle(http, handlers)))
            if config.duration is not None:
                tasks.append(asyncio.create_task(self._timer(config.duration)))
            await self.stop.wait()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return self.stats

    async def _timer(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self.stop.set()

    def _next_report(self) -> Report:
        if self.pending:
            return self.pending.pop(0)
        self.drawn += 1
        focus = self.accounts.focus
        if focus and (self.drawn <= len(focus) or self.drawn % FOCUS_EVERY == 0):
            # Everyone's scope gets work at once (the first reports), then now and then again.
            place = focus[(self.drawn - 1) % len(focus)]
            return self.maker.next("grid", [place], local=True)
        source = self.maker.draw_source()
        # A grid worker reports from its own community (its data scope).
        places = self.mobile_places if source == "mobile" else None
        return self.maker.next(source, places)

    async def _arrivals(self, http: httpx.AsyncClient, channels: dict[str, Channel]) -> None:
        made = 0
        while self.config.count is None or made < self.config.count:
            await asyncio.sleep(self.rng.expovariate(self.config.rate))
            report = self._next_report()
            if await self._deliver(http, channels[report.source], report):
                made += 1
        if not self.config.handlers:
            self.stop.set()

    async def _deliver(self, http: httpx.AsyncClient, channel: Channel, report: Report) -> bool:
        """Send one report; keep it for a retry when the platform could not take it."""
        try:
            sent = await channel.send(http, report)
        except httpx.TransportError as exc:
            log.warning("platform unreachable (%s); %s kept for a retry", exc, report.key)
            return self._keep(report)
        if sent.status >= 500:
            log.warning("platform answered %s; %s kept for a retry", sent.status, report.key)
            return self._keep(report)
        if sent.case_id is None:
            self.stats.refused[report.source] += 1
            log.warning("%s refused (%s): %s", report.key, sent.status, sent.problem)
            return True
        self.stats.sent[report.source] += 1
        self._schedule(sent.case_id)
        return True

    def _keep(self, report: Report) -> bool:
        self.pending.insert(0, report)
        self.stats.retried += 1
        return False

    def _schedule(self, case_id: int) -> None:
        when = time.monotonic() + self.handler_rng.expovariate(1 / max(self.config.dwell, 1e-3))
        heapq.heappush(self.due, (when, case_id))

    async def _handle(self, http: httpx.AsyncClient, handlers: Handlers) -> None:
        while True:
            if not self.due or self.due[0][0] > time.monotonic():
                if self._all_done():
                    self.stop.set()
                    return
                await asyncio.sleep(min(0.2, self.config.dwell / 4))
                continue
            _, case_id = heapq.heappop(self.due)
            try:
                action, status = await handlers.advance(case_id)
            except httpx.HTTPError as exc:
                log.warning("case %s: %s; trying again later", case_id, exc)
                self._schedule(case_id)
                continue
            if action is not None:
                self.stats.actions[action] += 1
            if status in DONE:
                self.stats.finished += 1
            else:
                self._schedule(case_id)

    def _all_done(self) -> bool:
        """With a count, the run ends once every report is in and every case has finished."""
        count = self.config.count
        return (
            count is not None
            and sum(self.stats.sent.values()) + sum(self.stats.refused.values()) >= count
            and not self.due
        )

    async def _adopt(self, http: httpx.AsyncClient, token: str) -> None:
        """Pick up the open cases of earlier runs, so a restarted simulator carries them on."""
        offset, headers = 0, {"Authorization": f"Bearer {token}"}
        open_states = ["received", "registered", "dispatched", "signed", "in_progress",
                       "handled", "verifying", "verified", "returned", "suspended", "closed"]  # fmt: skip
        while True:
            reply = await http.get(
                "/api/v1/cases",
                params={"status": open_states, "limit": 200, "offset": offset},
                headers=headers,
            )
            reply.raise_for_status()
            page = reply.json()
            for case in page["items"]:
                if is_simulated(str(case["text"]), case.get("source_key")):
                    self._schedule(int(case["id"]))
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                return


def _run_id(rng: random.Random) -> str:
    return f"{int(time.time()):x}{rng.randrange(16**4):04x}"


async def simulate_cases(
    settings: Settings, config: SimConfig, report_every: float = 30.0
) -> SimStats:
    """Open the simulator's accounts in the platform's database, then run until done or signalled."""
    rng = random.Random(config.seed)
    accounts = await in_unit_of_work(
        settings.database_url,
        lambda session: prepare_accounts(session, settings.district_code, rng, settings=settings),
    )
    simulation = Simulation(config, accounts)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request drowns the feed
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, simulation.stop.set)

    async def progress() -> None:
        while True:
            await asyncio.sleep(report_every)
            log.info("simulation: %s", simulation.stats.line())

    reporter = asyncio.create_task(progress())
    try:
        return await simulation.run()
    finally:
        reporter.cancel()

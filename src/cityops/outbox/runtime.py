"""Run the outbox dispatcher: in the web process (lifespan) or alone (`cityops outbox run`)."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cityops.config import Settings
from cityops.kit.db import create_engine, create_sessionmaker, utcnow
from cityops.kit.module import Module, enabled_modules, refs
from cityops.kit.outbox.dispatcher import OutboxDispatcher
from cityops.kit.outbox.queue import Channel, RetryPolicy, wake_after_commit
from cityops.kit.outbox.webhook import WEBHOOK, SecretLookup, WebhookChannel

log = logging.getLogger(__name__)


def secret_lookup(settings: Settings) -> SecretLookup:
    """Signing secrets by reference, as the signed-webhook channel of the modules holds them."""
    webhook = channels(settings, http_client(settings)).get(WEBHOOK)
    if not isinstance(webhook, WebhookChannel):
        return lambda _ref: None
    return webhook.secrets


def retry_policy(settings: Settings) -> RetryPolicy:
    """Backoff and timeout from the settings."""
    return RetryPolicy(
        backoff_seconds=settings.outbox_backoff_seconds,
        backoff_max_seconds=settings.outbox_backoff_max_seconds,
        timeout_seconds=settings.outbox_timeout_seconds,
    )


def http_client(settings: Settings) -> httpx.AsyncClient:
    """The outbound HTTP client: no redirects, no proxy from the environment."""
    # httpx logs every request URL at INFO; WeChat URLs carry secrets and tokens.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.outbox_timeout_seconds),
        follow_redirects=False,
        trust_env=False,
    )


def channels(
    settings: Settings, client: httpx.AsyncClient, modules: Sequence[Module] | None = None
) -> dict[str, Channel]:
    """The outbox channels the enabled modules bring, as the settings configure them."""
    found: dict[str, Channel] = {}
    for build in refs(
        enabled_modules(settings.disabled_modules) if modules is None else modules,
        "outbox_channels",
    ):
        found.update(build(settings, client))
    return found


@dataclass
class OutboxRuntime:
    """A dispatcher and the HTTP client it owns."""

    dispatcher: OutboxDispatcher
    client: httpx.AsyncClient

    async def close(self) -> None:
        """Stop the dispatcher, then close the client."""
        await self.dispatcher.stop()
        await self.client.aclose()


def build_outbox(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: Callable[[], datetime] = utcnow,
    *,
    interval: float | None = None,
    name: str = "outbox",
) -> OutboxRuntime:
    """A dispatcher for the settings' channels (not started)."""
    client = http_client(settings)
    dispatcher = OutboxDispatcher(
        sessions,
        channels(settings, client),
        policy=retry_policy(settings),
        clock=clock,
        interval=interval or settings.outbox_interval_seconds,
        name=name,
    )
    return OutboxRuntime(dispatcher, client)


def platform_now(state: Any) -> datetime:
    """The time by the case clock when the cases run here (tests move it), else the wall clock."""
    cases = getattr(state, "cases", None)
    return cases.now() if cases is not None else utcnow()


def start_outbox(app: FastAPI) -> OutboxRuntime:
    """Build the dispatcher next to the cases; start it when CITYOPS_OUTBOX_DISPATCHER."""
    state = app.state
    runtime = build_outbox(state.settings, state.sessions, lambda: platform_now(state))
    state.outbox = runtime
    if state.settings.outbox_dispatcher:
        runtime.dispatcher.start()
        # Deliver at once what a request enqueued; the interval covers other processes' rows.
        wake_after_commit(state.sessions, runtime.dispatcher.wake)
    return runtime


async def stop_outbox(app: FastAPI) -> None:
    """Finish the delivery pass under way and close the HTTP client."""
    runtime: OutboxRuntime | None = getattr(app.state, "outbox", None)
    if runtime is not None:
        await runtime.close()


async def run_outbox(settings: Settings, *, interval: float | None, once: bool) -> str:
    """Run the dispatcher as its own process (`cityops outbox run`) until SIGINT/SIGTERM."""
    engine = create_engine(settings.database_url)
    runtime = build_outbox(settings, create_sessionmaker(engine), interval=interval)
    try:
        if once:
            report = await runtime.dispatcher.run_once()
            return (
                f"delivered {len(report.delivered)}, retrying {len(report.retrying)}, "
                f"failed {len(report.failed)}"
            )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        runtime.dispatcher.start()
        log.info("outbox dispatcher running every %s s", runtime.dispatcher.interval)
        await stop.wait()
        return "outbox dispatcher stopped"
    finally:
        await runtime.close()
        await engine.dispose()

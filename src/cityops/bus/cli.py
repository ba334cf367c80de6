"""`cityops bus …`: the bus's health, as JSON, from any machine that reaches NATS."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cityops.config import Settings
from cityops.kit.cli import run

app = typer.Typer(help="The event bus (NATS JetStream when CITYOPS_BUS_URL is set).")


@app.command("status")
def bus_status() -> None:
    """Connected, the stream, each subscriber's lag and dead letters."""
    from cityops.kit.bus import create_bus

    async def work(settings: Settings) -> str:
        bus = create_bus(settings)  # no subscriptions: it reads the server's consumers
        await bus.start()
        try:
            return json.dumps(await bus.health(), ensure_ascii=False, indent=2)
        finally:
            await bus.close()

    typer.echo(run(work))


@app.command("relay")
def bus_relay(
    interval: Annotated[
        float | None, typer.Option(help="Seconds between passes (CITYOPS_OUTBOX_INTERVAL_SECONDS).")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Relay what is due now, then exit.")] = False,
) -> None:
    """Relay committed events that their writer did not publish (it died) to NATS."""
    from cityops.bus.relay import run_relay

    typer.echo(run(lambda s: run_relay(s, interval=interval, once=once)))

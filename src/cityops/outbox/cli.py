"""`cityops outbox …`: run the dispatcher, purge old messages."""

from __future__ import annotations

from typing import Annotated

import typer

from cityops.config import Settings
from cityops.kit.cli import run

app = typer.Typer(help="The outbox: 12345 callbacks and WeChat notices.", no_args_is_help=True)


@app.command("run")
def outboxrun(
    interval: Annotated[
        float | None,
        typer.Option(help="Seconds between passes (CITYOPS_OUTBOX_INTERVAL_SECONDS)."),
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="Deliver what is due now, then exit.")
    ] = False,
) -> None:
    """Deliver outbox messages with retries; several dispatchers may run against one database."""
    from cityops.outbox.runtime import run_outbox

    typer.echo(run(lambda s: run_outbox(s, interval=interval, once=once)))


@app.command("purge")
def outbox_purge(
    days: Annotated[
        int, typer.Option(min=1, help="Keep the last N days of delivered messages.")
    ] = 30,
) -> None:
    """Delete delivered and discarded outbox messages older than N days (failed ones stay)."""
    from datetime import timedelta

    from cityops.kit.db import in_unit_of_work, utcnow
    from cityops.kit.outbox.queue import purge

    async def work(settings: Settings) -> int:
        cutoff = utcnow() - timedelta(days=days)
        return await in_unit_of_work(settings.database_url, lambda s: purge(s, cutoff))

    typer.echo(f"purged {run(work)} outbox messages older than {days} days")

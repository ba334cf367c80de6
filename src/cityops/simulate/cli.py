"""`cityops simulate …`: labelled-synthetic load through the real intake paths."""

from __future__ import annotations

from typing import Annotated

import typer

from cityops.kit.cli import run

app = typer.Typer(
    help="Labelled-synthetic load through the real intake paths.", no_args_is_help=True
)


@app.command("cases")
def simulate_cases(
    base_url: Annotated[str, typer.Option(help="The running platform.")] = "http://127.0.0.1:8000",
    rate: Annotated[float, typer.Option(min=0.001, help="New reports per second.")] = 0.5,
    count: Annotated[int | None, typer.Option(min=1, help="Stop after this many.")] = None,
    duration: Annotated[float | None, typer.Option(min=1, help="Stop after seconds.")] = None,
    dwell: Annotated[
        float, typer.Option(min=0.01, help="Mean seconds a case waits for its next step.")
    ] = 30.0,
    handlers: Annotated[
        bool, typer.Option(help="Also play the handlers' actions (register … evaluate).")
    ] = True,
    seed: Annotated[int | None, typer.Option(help="Random seed, for a repeatable run.")] = None,
) -> None:
    """Feed labelled-synthetic cases through the real intake paths and play the handlers."""
    import logging

    from cityops.simulate.runner import SimConfig, simulate_cases

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    config = SimConfig(
        base_url.rstrip("/"),
        rate=rate,
        count=count,
        duration=duration,
        dwell=dwell,
        handlers=handlers,
        seed=seed,
    )
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        stats = run(lambda settings: simulate_cases(settings, config))
    except (OperationalError, ProgrammingError) as exc:
        typer.echo(
            "the database is not ready (run `cityops migrate` and `cityops seed` with the same "
            f"CITYOPS_DATABASE_URL as the server): {exc.orig}",
            err=True,
        )
        raise typer.Exit(2) from exc
    except TimeoutError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"simulation: {stats.line()}")


@app.command("iot")
def simulate_iot(
    base_url: Annotated[str, typer.Option(help="The running platform (HTTP).")] = (
        "http://127.0.0.1:8000"
    ),
    mqtt_url: Annotated[
        str | None, typer.Option(help="Publish over MQTT (mqtt://host:port) instead of HTTP.")
    ] = None,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between rounds.")] = 30.0,
    rounds: Annotated[int | None, typer.Option(min=1, help="Stop after this many rounds.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed, for a repeatable run.")] = None,
) -> None:
    """Labelled-synthetic sensor readings of the demo devices (【模拟】, ids SIM-…)."""
    from cityops.iot.cli import simulate_command

    simulate_command(base_url, mqtt_url, interval, rounds, seed)

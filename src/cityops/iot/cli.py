"""`cityops iot …`: consume MQTT, seed the demo devices, simulate readings."""

from __future__ import annotations

from typing import Annotated

import typer

from cityops.kit.cli import run

app = typer.Typer(
    help="The IoT hub (物联感知): consumer, demo devices, simulator.", no_args_is_help=True
)


@app.command("consume")
def consume_command(
    stats_every: Annotated[
        float, typer.Option(help="Print counts every N seconds (0: never).")
    ] = 0.0,
) -> None:
    """Consume the broker's telemetry into the store (CITYOPS_MQTT_URL), acked after commit."""
    import logging

    from cityops.iot.consume import consume
    from cityops.iot.settings import IotSettings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    run(lambda settings: consume(settings, IotSettings(), stats_every))


@app.command("seed-demo")
def seed_demo() -> None:
    """Register the labelled-synthetic Songjiang demo devices (【模拟】, ids SIM-…)."""
    from cityops.iot.demo import seed_demo_devices
    from cityops.kit.db import in_unit_of_work

    added = run(lambda settings: in_unit_of_work(settings.database_url, seed_demo_devices))
    typer.echo(f"demo devices added: {added} (synthetic)")


@app.command("simulate")
def simulate_command(
    base_url: Annotated[
        str, typer.Option(help="The running platform (HTTP).")
    ] = "http://127.0.0.1:8000",
    mqtt_url: Annotated[str | None, typer.Option(help="Publish over MQTT instead of HTTP.")] = None,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between rounds.")] = 30.0,
    rounds: Annotated[int | None, typer.Option(min=1, help="Stop after this many rounds.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
) -> None:
    """Publish labelled-synthetic readings of the demo devices (seeded if missing)."""
    from cityops.iot.simulate_run import simulate

    stats = run(lambda settings: simulate(settings, base_url, mqtt_url, interval, rounds, seed))
    typer.echo(f"iot simulation: sent={stats.sent} skipped={stats.skipped} failed={stats.failed}")

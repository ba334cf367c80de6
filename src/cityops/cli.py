"""The `cityops` command: serve, demo, migrate, seed, user and org administration."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from cityops.config import Settings, get_settings

if TYPE_CHECKING:  # the CLI starts fast: heavy modules load only in the command that runs
    from cityops.bootstrap import DemoAccount

T = TypeVar("T")

app = typer.Typer(
    help="cityops: district and street/town city operations centre platform.",
    no_args_is_help=True,
    add_completion=False,
)


def _add_module_commands() -> None:
    """Each enabled module's command groups (`cityops org …`, `cityops outbox …`)."""
    from cityops.kit.module import load
    from cityops.modules import modules_of

    for module in modules_of(get_settings()):
        for command in module.commands:
            app.add_typer(load(command.app), name=command.name)


def _run(factory: Callable[[Settings], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(factory(get_settings()))


def _prepare_sqlite(settings: Settings) -> None:
    path = settings.sqlite_path()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from cityops.kit.migrate import applied, upgrade

    settings = get_settings()
    _prepare_sqlite(settings)
    before = applied(settings.database_url)
    upgrade(settings.database_url)
    after = applied(settings.database_url)
    if not before:
        typer.echo(f"created the schema (revision {', '.join(sorted(after))})")
    elif before != after:
        typer.echo(f"upgraded the schema: {', '.join(sorted(before))} → {', '.join(sorted(after))}")
    else:
        typer.echo("schema is up to date")


async def _seed(settings: Settings) -> str:
    from cityops.bootstrap import seed_district
    from cityops.kit.db import in_unit_of_work

    summary = await in_unit_of_work(
        settings.database_url, lambda session: seed_district(session, settings)
    )
    return (
        f"seeded {settings.district_code} ({settings.division_year}): {summary.units} units, "
        f"{summary.communities} communities, {summary.grids} new synthetic grids, "
        f"{summary.multigrids} synthetic multi-grid units, {summary.departments} departments"
    )


@app.command()
def seed() -> None:
    """Load the district's shipped division codes, synthetic grids and departments (idempotent)."""
    typer.echo(_run(_seed))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    role: Annotated[
        str,
        typer.Option(
            help="all: each worker also runs the SLA scheduler and the outbox dispatcher "
            "(as the settings say); web: requests only, those run as their own processes "
            "(`cityops scheduler`, `cityops outbox run`, `cityops bus relay`; docs/deploy.md).",
        ),
    ] = "all",
) -> None:
    """Serve the portal and the API (N workers share the work; on NATS they share events too)."""
    import os

    import uvicorn

    if role not in ("all", "web"):
        raise typer.BadParameter("--role is all or web")
    if role == "web":  # read by every worker process's settings
        os.environ["CITYOPS_SCHEDULER"] = "false"
        os.environ["CITYOPS_OUTBOX_DISPATCHER"] = "false"
        get_settings.cache_clear()
    if workers > 1 and not get_settings().bus_url:
        typer.echo(
            "note: without CITYOPS_BUS_URL each worker's live pages hear only its own events",
            err=True,
        )

    uvicorn.run(
        "cityops.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        forwarded_allow_ips=get_settings().trusted_proxies,  # who may say "this was HTTPS"
        log_level="info",
    )


async def _demo_accounts(settings: Settings) -> list[DemoAccount]:
    from cityops.bootstrap import open_demo_accounts
    from cityops.kit.db import in_unit_of_work

    return await in_unit_of_work(settings.database_url, open_demo_accounts)


def _remember(credentials: Path, opened: list[DemoAccount]) -> None:
    if not opened:
        return
    credentials.parent.mkdir(parents=True, exist_ok=True)
    with credentials.open("a", encoding="utf-8") as out:
        for a in opened:
            out.write(
                f"{a.username}\t{a.password}\t{a.role.value} @ {a.org_code} {a.display_name}\n"
            )
    credentials.chmod(0o600)


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Prepare only.")] = False,
    simulate_rate: Annotated[
        float,
        typer.Option(help="Synthetic reports per second for the live feed (0: no simulator)."),
    ] = 0.2,
    video_devices: Annotated[
        int,
        typer.Option(help="Synthetic GB/T 28181 devices registering to the SIP server (0: none)."),
    ] = 4,
) -> None:
    """Migrate, seed Songjiang, create demo accounts, serve, and feed labelled synthetic cases."""
    migrate()
    seed()
    credentials = Path("var/demo-credentials.txt")
    _remember(credentials, _run(_demo_accounts))
    typer.echo(f"\nDemo accounts (random passwords made at install; kept in {credentials}):")
    typer.echo(credentials.read_text("utf-8") if credentials.exists() else "(none)")
    typer.echo(
        "admin, security, auditor and duty sign in with two factors: at their first login the "
        "portal shows a QR code for an authenticator app (docs/auth.md)."
    )
    typer.echo(f"Portal: http://{host}:{port}/   API docs: http://{host}:{port}/docs")
    if no_serve:
        return
    feed = _start_simulator(f"http://{host}:{port}", simulate_rate) if simulate_rate > 0 else None
    cameras = _start_video_simulator(video_devices) if video_devices > 0 else None
    sensors = _start_iot_simulator(f"http://{host}:{port}") if simulate_rate > 0 else None
    # uvicorn shuts down on SIGTERM, then raises it again under the handler it found; with the
    # default one the process would die there and leave the simulator feeding nothing.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        serve(host=host, port=port, workers=1)
    finally:
        _stop_children([c for c in (feed, cameras, sensors) if c is not None])


def _stop_children(children: list[subprocess.Popen[bytes]]) -> None:
    """Ask every live feed to stop at once, then reap each; one that lingers is killed."""
    for child in children:
        child.terminate()
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:  # a busy machine: never leave an orphan feeding
            child.kill()
            child.wait()


def _exit_on_signal(signum: int, _frame: object) -> None:
    """Unwind like Ctrl-C does, so `finally` blocks run."""
    raise SystemExit(128 + signum)


def _start_simulator(base_url: str, rate: float) -> subprocess.Popen[bytes]:
    """`cityops simulate cases` beside the demo server: the live feed, labelled synthetic."""
    typer.echo(f"Live feed: simulated cases (【模拟】, source keys SIM-…) at {rate}/s")
    command = [sys.executable, "-m", "cityops", "simulate", "cases"]
    # Our own interpreter and arguments, no shell: nothing untrusted reaches the command line.
    return subprocess.Popen([*command, "--base-url", base_url, "--rate", str(rate)])  # noqa: S603


def _start_video_simulator(devices: int) -> subprocess.Popen[bytes]:
    """The SIP server on (CITYOPS_SIP_ENABLED) and `cityops simulate video` registering to it."""
    import os

    os.environ.setdefault("CITYOPS_SIP_ENABLED", "true")
    get_settings.cache_clear()
    settings = get_settings()
    typer.echo(f"Video: SIP on {settings.sip_host}:{settings.sip_port}, {devices} 模拟 devices")
    command = [sys.executable, "-m", "cityops", "simulate", "video", "--devices", str(devices)]
    command += ["--port", str(settings.sip_port)]
    return subprocess.Popen(command)  # noqa: S603


def _start_iot_simulator(base_url: str) -> subprocess.Popen[bytes]:
    """`cityops simulate iot` beside the demo server: sensor readings over HTTP, synthetic."""
    typer.echo("Live sensing: simulated devices (【模拟】, ids SIM-…) every 30 s over HTTP")
    command = [sys.executable, "-m", "cityops", "simulate", "iot", "--base-url", base_url]
    return subprocess.Popen(command)  # noqa: S603 - our own interpreter and arguments


@app.command()
def scheduler(
    interval: Annotated[
        float | None,
        typer.Option(help="Seconds between passes (CITYOPS_SCHEDULER_INTERVAL_SECONDS)."),
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Fire what is due now, then exit.")] = False,
) -> None:
    """Run the modules' scheduled jobs (the case SLA timers: 临期/超期); several may run at once."""
    from cityops.kit.module import refs
    from cityops.modules import modules_of

    for job in refs(modules_of(get_settings()), "scheduler_jobs"):
        typer.echo(asyncio.run(job(get_settings(), interval=interval, once=once)))


def main() -> None:
    """Entry point of the `cityops` console script."""
    app()


_add_module_commands()

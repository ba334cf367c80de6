"""The `cityops` command: serve, demo, migrate, seed, user and org administration."""

from __future__ import annotations

import asyncio
import getpass
import signal
import subprocess
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from cityops.auth.roles import Role
from cityops.config import Settings, get_settings

if TYPE_CHECKING:  # the CLI starts fast: heavy modules load only in the command that runs
    from sqlalchemy.ext.asyncio import AsyncSession

    from cityops.bootstrap import DemoAccount
    from cityops.geo.geocode import StdImportSummary

T = TypeVar("T")

app = typer.Typer(
    help="cityops: district and street/town city operations centre platform.",
    no_args_is_help=True,
    add_completion=False,
)
user_app = typer.Typer(help="Accounts.", no_args_is_help=True)
org_app = typer.Typer(help="The org tree: divisions and grids.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(org_app, name="org")
geo_app = typer.Typer(help="The map platform: geocoding.", no_args_is_help=True)
app.add_typer(geo_app, name="geo")
simulate_app = typer.Typer(
    help="Labelled-synthetic load through the real intake paths.", no_args_is_help=True
)
app.add_typer(simulate_app, name="simulate")
outbox_app = typer.Typer(
    help="The outbox: 12345 callbacks and WeChat notices.", no_args_is_help=True
)
app.add_typer(outbox_app, name="outbox")


def _run(factory: Callable[[Settings], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(factory(get_settings()))


def _prepare_sqlite(settings: Settings) -> None:
    path = settings.sqlite_path()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from cityops.kit.migrate import upgrade

    settings = get_settings()
    _prepare_sqlite(settings)
    upgrade(settings.database_url)
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


async def _create_user(
    settings: Settings, username: str, role: Role, org: str, password: str | None, name: str
) -> tuple[str, str | None]:
    from cityops.auth.accounts import NewAccount, create_account
    from cityops.kit.db import in_unit_of_work

    new = NewAccount(
        username=username, role=role, org_code=org, display_name=name, password=password
    )
    account, one_time = await in_unit_of_work(
        settings.database_url, lambda session: create_account(session, None, new)
    )
    return account.username, one_time


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat: "):
        raise typer.BadParameter("the passwords differ")
    return first


@user_app.command("create")
def user_create(
    username: str,
    role: Annotated[Role, typer.Option(help="Role of the account.")],
    org: Annotated[str, typer.Option(help="Org unit code, e.g. 310117 or 310117102.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
) -> None:
    """Create an account; the password is read from stdin or prompted for."""
    from cityops.kit.errors import ProblemError

    password = None if role is Role.SYSTEM_CLIENT else _read_password()
    try:
        created, _ = _run(lambda s: _create_user(s, username, role, org, password, name))
    except ProblemError as exc:
        messages = [e["msg"] for e in exc.errors or []]
        typer.echo(f"refused: {exc.detail} {'; '.join(messages)}".strip(), err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"created {created} ({role.value} at {org})")


@org_app.command("import-divisions")
def org_import_divisions(
    district: Annotated[str, typer.Option(help="6-digit district code.")],
    year: Annotated[int, typer.Option(help="Year of the division codes.")],
    streets: Annotated[Path, typer.Option(exists=True, help="CSV of township-level units.")],
    villages: Annotated[Path, typer.Option(exists=True, help="CSV of communities/villages.")],
    name: Annotated[str, typer.Option(help="District name, e.g. 松江区.")],
    source: Annotated[str, typer.Option(help="Where the codes come from.")],
) -> None:
    """Import another district's (or another year's) codes in the shipped CSV format."""
    from cityops.kit.db import in_unit_of_work
    from cityops.org.divisions import DivisionDataError, load_division_files
    from cityops.org.service import import_divisions

    async def work(settings: Settings) -> str:
        divisions = load_division_files(district, year, streets, villages, source)
        summary = await in_unit_of_work(
            settings.database_url,
            lambda session: import_divisions(session, divisions, district_name=name),
        )
        return f"imported {summary.units} units and {summary.communities} communities"

    try:
        typer.echo(_run(work))
    except DivisionDataError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from exc


@org_app.command("import-grids")
def org_import_grids(
    file: Annotated[Path, typer.Argument(exists=True, help="CSV or GeoJSON of grids.")],
) -> None:
    """Import real grids; each covered community's synthetic grids are replaced."""
    from cityops.kit.db import in_unit_of_work
    from cityops.org.divisions import DivisionDataError
    from cityops.org.service import import_grids, parse_grid_file

    async def work(settings: Settings) -> int:
        rows = parse_grid_file(file.name, file.read_bytes())
        source = f"imported from {file.name}"
        return await in_unit_of_work(
            settings.database_url, lambda session: import_grids(session, rows, source=source)
        )

    try:
        typer.echo(f"imported {_run(work)} grids")
    except DivisionDataError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from exc


@geo_app.command("import-addresses")
def geo_import_addresses(
    file: Annotated[Path, typer.Argument(exists=True, help="标准地址库 CSV: address,lon,lat,…")],
    crs: Annotated[str, typer.Option(help="CRS of the file's lon/lat.")] = "wgs84",
) -> None:
    """Import standard addresses (and roads); rows are keyed by the parsed address."""
    from cityops.geo.crs import CRSError, resolve_crs
    from cityops.geo.geocode import (
        StdAddressError,
        import_std_addresses,
        load_parser,
        read_std_address_csv,
    )
    from cityops.kit.db import in_unit_of_work

    async def work(settings: Settings) -> str:
        rows = read_std_address_csv(file.read_bytes(), resolve_crs(crs))

        async def load_and_import(session: AsyncSession) -> StdImportSummary:
            parser = await load_parser(session, settings.district_code)
            return await import_std_addresses(
                session, parser, rows, source=f"imported from {file.name}"
            )

        done = await in_unit_of_work(settings.database_url, load_and_import)
        return (
            f"imported {done.rows} rows: {done.inserted} new, {done.updated} updated, "
            f"{done.duplicates} duplicate keys in the file"
        )

    try:
        typer.echo(_run(work))
    except (StdAddressError, CRSError) as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from exc


@geo_app.command("import-boundaries")
def geo_import_boundaries(
    file: Annotated[Path, typer.Argument(exists=True, help="GeoJSON or zipped Shapefile.")],
    code_field: Annotated[str, typer.Option(help="Property holding the unit code.")] = "code",
    crs: Annotated[
        str | None, typer.Option(help="CRS of the file; default: its crs member or .prj.")
    ] = None,
) -> None:
    """Replace approximate polygons by official boundaries; other units keep theirs."""
    from cityops.geo.boundary_import import import_boundaries, read_boundary_file
    from cityops.kit.db import in_unit_of_work
    from cityops.org.divisions import DivisionDataError

    async def work(settings: Settings) -> int:
        rows = read_boundary_file(file.name, file.read_bytes(), code_field=code_field, crs=crs)
        source = f"imported from {file.name}"
        return await in_unit_of_work(
            settings.database_url, lambda session: import_boundaries(session, rows, source=source)
        )

    try:
        typer.echo(f"imported {_run(work)} official boundaries")
    except DivisionDataError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the portal and the API."""
    import uvicorn

    uvicorn.run(
        "cityops.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
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
) -> None:
    """Migrate, seed Songjiang, create demo accounts, serve, and feed labelled synthetic cases."""
    migrate()
    seed()
    credentials = Path("var/demo-credentials.txt")
    _remember(credentials, _run(_demo_accounts))
    typer.echo(f"\nDemo accounts (random passwords made at install; kept in {credentials}):")
    typer.echo(credentials.read_text("utf-8") if credentials.exists() else "(none)")
    typer.echo(f"Portal: http://{host}:{port}/   API docs: http://{host}:{port}/docs")
    if no_serve:
        return
    feed = _start_simulator(f"http://{host}:{port}", simulate_rate) if simulate_rate > 0 else None
    # uvicorn shuts down on SIGTERM, then raises it again under the handler it found; with the
    # default one the process would die there and leave the simulator feeding nothing.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        serve(host=host, port=port, workers=1)
    finally:
        if feed is not None:
            feed.terminate()
            feed.wait(timeout=15)


def _exit_on_signal(signum: int, _frame: object) -> None:
    """Unwind like Ctrl-C does, so `finally` blocks run."""
    raise SystemExit(128 + signum)


def _start_simulator(base_url: str, rate: float) -> subprocess.Popen[bytes]:
    """`cityops simulate cases` beside the demo server: the live feed, labelled synthetic."""
    typer.echo(f"Live feed: simulated cases (【模拟】, source keys SIM-…) at {rate}/s")
    command = [sys.executable, "-m", "cityops", "simulate", "cases"]
    # Our own interpreter and arguments, no shell: nothing untrusted reaches the command line.
    return subprocess.Popen([*command, "--base-url", base_url, "--rate", str(rate)])  # noqa: S603


@simulate_app.command("cases")
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
        stats = _run(lambda settings: simulate_cases(settings, config))
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


@app.command()
def scheduler(
    interval: Annotated[
        float | None,
        typer.Option(help="Seconds between passes (CITYOPS_SCHEDULER_INTERVAL_SECONDS)."),
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Fire what is due now, then exit.")] = False,
) -> None:
    """Run the case SLA scheduler (临期/超期); several may run against one database."""
    from cityops.cases.runtime import run_scheduler

    typer.echo(_run(lambda s: run_scheduler(s, interval=interval, once=once)))


@outbox_app.command("run")
def outbox_run(
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

    typer.echo(_run(lambda s: run_outbox(s, interval=interval, once=once)))


@outbox_app.command("purge")
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

    typer.echo(f"purged {_run(work)} outbox messages older than {days} days")


def main() -> None:
    """Entry point of the `cityops` console script."""
    app()

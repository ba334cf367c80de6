"""`cityops geo …`: standard addresses and official boundaries."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cityops.config import Settings
from cityops.kit.cli import run

if TYPE_CHECKING:  # the CLI starts fast: heavy modules load only in the command that runs
    from sqlalchemy.ext.asyncio import AsyncSession

    from cityops.geo.address.geocode import StdImportSummary

app = typer.Typer(help="The map platform: addresses and boundaries.", no_args_is_help=True)


@app.command("import-addresses")
def geo_import_addresses(
    file: Annotated[Path, typer.Argument(exists=True, help="标准地址库 CSV: address,lon,lat,…")],
    crs: Annotated[str, typer.Option(help="CRS of the file's lon/lat.")] = "wgs84",
) -> None:
    """Import standard addresses (and roads); rows are keyed by the parsed address."""
    from cityops.geo.address.geocode import (
        StdAddressError,
        import_std_addresses,
        load_parser,
        read_std_address_csv,
    )
    from cityops.geo.crs import CRSError, resolve_crs
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
        typer.echo(run(work))
    except (StdAddressError, CRSError) as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command("import-boundaries")
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
        typer.echo(f"imported {run(work)} official boundaries")
    except DivisionDataError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from exc

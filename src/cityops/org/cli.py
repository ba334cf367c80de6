"""`cityops org …`: the org tree's divisions and grids."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cityops.config import Settings
from cityops.kit.cli import run

app = typer.Typer(help="The org tree: divisions and grids.", no_args_is_help=True)


@app.command("import-divisions")
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
        typer.echo(run(work))
    except DivisionDataError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command("import-grids")
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
        typer.echo(f"imported {run(work)} grids")
    except DivisionDataError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from exc

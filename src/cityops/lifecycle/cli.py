"""`cityops privacy …`: the register, the anonymising pass, one person's export or erasure."""

from __future__ import annotations

import json
import sys

import typer

from cityops.config import Settings
from cityops.kit.cli import run

app = typer.Typer(help="Personal data: register, anonymise, export, erase.", no_args_is_help=True)


def _phone() -> str:
    # Read from stdin, not argv: a number on the command line stays in shell history and `ps`.
    phone = sys.stdin.readline().strip()
    if not (len(phone) == 11 and phone.isdigit() and phone.startswith("1")):
        raise typer.BadParameter("give an 11-digit mobile number on stdin")
    return phone


@app.command("register")
def register() -> None:
    """List what personal data is held where, how protected, and each class's retention."""
    from cityops.config import get_settings
    from cityops.lifecycle.register import REGISTER, retention_days

    for holding in REGISTER:
        typer.echo(
            f"{holding.data_class.value:9} {holding.table}.{'/'.join(holding.columns)}: "
            f"{holding.what} | {holding.protection} | {holding.retention}"
        )
    days = ", ".join(f"{k.value} {v} d" for k, v in retention_days(get_settings()).items())
    typer.echo(f"retention: {days}")


async def _anonymise(settings: Settings) -> int:
    from cityops.auth.audit import chain as audit_chain
    from cityops.lifecycle.runtime import run_once

    audit_chain.use_key(settings)
    return await run_once(settings)


@app.command("anonymise")
def anonymise() -> None:
    """Clear reporters' contacts of cases closed more than CITYOPS_PERSONAL_RETENTION_DAYS ago."""
    typer.echo(f"anonymised {run(_anonymise)} cases")


async def _subject(settings: Settings, phone: str, erase: bool) -> object:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cityops.auth.audit import chain as audit_chain
    from cityops.kit.db import in_unit_of_work
    from cityops.lifecycle.service import erase_person, export_person

    audit_chain.use_key(settings)

    async def work(session: AsyncSession) -> object:
        if erase:
            return await erase_person(session, settings, None, phone)
        return await export_person(session, settings, None, phone)

    return await in_unit_of_work(settings.database_url, work)


@app.command("export")
def export() -> None:
    """Print (JSON) everything held about the phone number given on stdin; audited."""
    phone = _phone()
    typer.echo(json.dumps(run(lambda s: _subject(s, phone, False)), ensure_ascii=False, indent=1))


@app.command("erase")
def erase() -> None:
    """Clear the contact of the phone number given on stdin from every case; audited."""
    phone = _phone()
    typer.echo(f"erased the contact from cases {run(lambda s: _subject(s, phone, True))}")

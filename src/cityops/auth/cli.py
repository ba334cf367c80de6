"""`cityops user …`: accounts."""

from __future__ import annotations

import getpass
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from cityops.auth.roles import Role
from cityops.config import Settings
from cityops.kit.cli import run

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

app = typer.Typer(help="Accounts.", no_args_is_help=True)


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


@app.command("create")
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
        created, _ = run(lambda s: _create_user(s, username, role, org, password, name))
    except ProblemError as exc:
        messages = [e["msg"] for e in exc.errors or []]
        typer.echo(f"refused: {exc.detail} {'; '.join(messages)}".strip(), err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"created {created} ({role.value} at {org})")


def _with_org_tables() -> None:
    """Accounts point at org units: their table must be known before an account is loaded."""
    import cityops.org.models  # noqa: F401


async def _sources(settings: Settings, username: str, sources: list[str] | None) -> list[str]:
    from cityops.auth.repository import AccountRepository
    from cityops.auth.sources import grant_by_username
    from cityops.kit.db import in_unit_of_work
    from cityops.kit.errors import NotFound

    _with_org_tables()

    async def work(session: AsyncSession) -> list[str]:
        if sources is not None:
            account = await grant_by_username(session, username, sources, "cityops user sources")
        else:
            found = await AccountRepository(session).by_username(username)
            if found is None:
                raise NotFound("account", username)
            account = found
        return list(account.source_grants or [])

    return await in_unit_of_work(settings.database_url, work)


@app.command("sources")
def user_sources(
    username: str,
    sources: Annotated[
        list[str] | None, typer.Argument(help="hotline_12345, grid, town_system, upper_platform")
    ] = None,
    none: Annotated[bool, typer.Option("--none", help="Withdraw every source.")] = False,
) -> None:
    """Show, or set, the case sources a system client may submit for (source grants)."""
    from cityops.kit.errors import ProblemError

    wanted = [] if none else (sources or None)
    try:
        granted = run(lambda s: _sources(s, username, wanted))
    except ProblemError as exc:
        typer.echo(f"refused: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"{username}: {' '.join(granted) or '(no source)'}")


async def _keys(settings: Settings, unrestricted: bool) -> list[str]:
    from cityops.auth.repository import AccountRepository
    from cityops.kit.db import in_unit_of_work
    from cityops.kit.scope import DataScope

    _with_org_tables()

    async def work(session: AsyncSession) -> list[str]:
        rows = await AccountRepository(session).live_api_keys(
            DataScope.everything(), unrestricted=unrestricted
        )
        return [
            f"{account.username}\tkey {key.id}\t{key.name}\t"
            + (", ".join(key.allowed_networks) or "未限制来源 (any address)")
            for account, key in rows
        ]

    return await in_unit_of_work(settings.database_url, work)


@app.command("keys")
def user_keys(
    unrestricted: Annotated[
        bool, typer.Option("--unrestricted", help="Only keys with no allow-list (未限制来源).")
    ] = False,
) -> None:
    """List the unrevoked API keys of system clients and where each may be used from."""
    lines = run(lambda s: _keys(s, unrestricted))
    for line in lines:
        typer.echo(line)
    if unrestricted and lines:
        typer.echo(
            f"{len(lines)} key(s) accept any address: set an allow-list "
            "(PUT /api/v1/accounts/{id}/api-keys/{key}/networks)",
            err=True,
        )

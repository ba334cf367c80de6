"""Install-time tasks shared by the CLI and the tests: seed a district, open demo accounts."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth.accounts import NewAccount, create_account
from cityops.auth.repository import AccountRepository
from cityops.auth.roles import Role
from cityops.config import Settings
from cityops.geo.service import ensure_approximate_boundaries
from cityops.org.divisions import shipped_division_set
from cityops.org.service import ImportSummary, import_divisions

#: Demo accounts: username, role, unit, display name. Passwords are random per install.
DEMO_ACCOUNTS: list[tuple[str, Role, str, str]] = [
    ("admin", Role.SYS_ADMIN, "310117", "系统管理员"),
    ("security", Role.SECURITY_ADMIN, "310117", "安全管理员"),
    ("auditor", Role.AUDIT_ADMIN, "310117", "审计管理员"),
    ("duty", Role.DISTRICT_OFFICER, "310117", "区城运中心值班长"),
    ("leader", Role.LEADER, "310117", "区领导（只读）"),
    ("sijing", Role.TOWN_OPERATOR, "310117102", "泗泾镇城运中心操作员"),
    ("sheshan", Role.TOWN_OPERATOR, "310117103", "佘山镇城运中心操作员"),
    ("grid", Role.GRID_WORKER, "310117102001", "泗泾镇网格员"),
]


async def seed_district(session: AsyncSession, settings: Settings) -> ImportSummary:
    """Load the district's shipped division year, synthetic grids and approximate boundaries."""
    divisions = shipped_division_set(settings.district_code, settings.division_year)
    summary = await import_divisions(
        session, divisions, grids_per_community=settings.synthetic_grids_per_community
    )
    await ensure_approximate_boundaries(session, settings.district_code)
    return summary


@dataclass(frozen=True, slots=True)
class DemoAccount:
    """A demo account opened now, with its random password."""

    username: str
    password: str
    role: Role
    org_code: str
    display_name: str


async def open_demo_accounts(session: AsyncSession) -> list[DemoAccount]:
    """Open the demo accounts that do not exist yet, each with a fresh random password."""
    repo = AccountRepository(session)
    opened: list[DemoAccount] = []
    for username, role, org, name in DEMO_ACCOUNTS:
        if await repo.by_username(username) is not None:
            continue
        password = "Demo-" + secrets.token_urlsafe(9) + "7x"
        await create_account(
            session,
            None,
            NewAccount(
                username=username, role=role, org_code=org, display_name=name, password=password
            ),
        )
        opened.append(DemoAccount(username, password, role, org, name))
    return opened

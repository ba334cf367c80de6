"""The simulator's own accounts: system clients per source, a duty officer and grid workers.

Every name says 模拟 (synthetic). Passwords and API keys are fresh on every run and never
written anywhere: they live only in the simulator's memory.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field

import orjson
from shapely.geometry import shape
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth import audit
from cityops.auth.accounts import NewAccount, create_account, issue_tool_api_key
from cityops.auth.models import Account, AuthToken
from cityops.auth.passwords import hash_password_async
from cityops.auth.repository import AccountRepository
from cityops.auth.roles import Role
from cityops.auth.signin import throttle
from cityops.auth.signin.mfa import enrol_for_tool
from cityops.auth.sources import GRANTABLE_SOURCES, set_source_grants
from cityops.config import Settings
from cityops.kit.db import utcnow
from cityops.org.models import OrgLevel, OrgUnit
from cityops.simulate.scenarios import Place

TOOL = "cityops simulate"
KEY_NAME = "simulate"
COMMUNITY_LEVELS = (
    OrgLevel.RESIDENTS_COMMITTEE.value,
    OrgLevel.VILLAGE_COMMITTEE.value,
    OrgLevel.VIRTUAL_COMMUNITY.value,
)

#: The system client that plays each source, and how it is named.
SYSTEMS: dict[str, tuple[str, str]] = {
    "hotline_12345": ("sim-12345", "模拟12345热线系统（合成数据）"),
    "grid": ("sim-urban-grid", "模拟城市网格化管理系统（合成数据）"),
    "open311": ("sim-open311", "模拟Open311客户端（合成数据）"),
}
OFFICER = ("sim-duty", "模拟值班调度员（合成数据）")
#: The second person: 核查 must be someone other than whoever marked the case 办结.
CHECKER = ("sim-check", "模拟核查员（合成数据）")
#: People whose scope the simulator keeps busy (a department handler sees only its
#: department's cases, the administrators none).
WORKING_ROLES = (Role.DISTRICT_OFFICER, Role.TOWN_OPERATOR, Role.GRID_WORKER, Role.LEADER)


@dataclass(frozen=True, slots=True)
class Login:
    """A person account of the simulator and its password for this run."""

    username: str
    password: str
    totp_secret: str = ""  # the duty officer signs in with two factors, as its role must


@dataclass(slots=True)
class SimAccounts:
    """What the simulator signs in with, and the places it reports from."""

    api_keys: dict[str, str]
    officer: Login
    district: str = "310117"
    grid_workers: dict[str, Login] = field(default_factory=dict)  # community code → login
    places: list[Place] = field(default_factory=list)
    checker: Login | None = None
    focus: list[Place] = field(default_factory=list)  # one place in every person's scope


async def load_places(session: AsyncSession, district_code: str) -> list[Place]:
    """Every community of the district that has a boundary, with its town's name."""
    units = (
        await session.scalars(select(OrgUnit).where(OrgUnit.code.startswith(district_code)))
    ).all()
    names = {u.code: u.name for u in units}
    places = []
    for unit in units:
        if unit.level in COMMUNITY_LEVELS and unit.geometry:
            area = shape(orjson.loads(unit.geometry))
            town = names.get(unit.parent_code or "", "")
            places.append(Place(unit.code, unit.name, town, area))
    return sorted(places, key=lambda p: p.code)


def places_in_scopes(places: list[Place], scopes: list[str]) -> list[Place]:
    """Few places such that every scope (an org-code prefix) holds one: the narrowest first."""
    chosen: list[Place] = []
    for scope in sorted(set(scopes), key=lambda code: (-len(code), code)):
        if any(place.code.startswith(scope) for place in chosen):
            continue
        inside = [place for place in places if place.code.startswith(scope)]
        if inside:
            chosen.append(inside[0])
    return chosen


async def people_scopes(session: AsyncSession, district: str) -> list[str]:
    """The org codes below the district of the platform's active people (not the simulator's)."""
    stmt = select(Account.org_code).where(
        Account.active.is_(True),
        Account.role.in_([role.value for role in WORKING_ROLES]),
        Account.org_code.startswith(district),
        Account.org_code != district,
        ~Account.username.startswith("sim-"),
    )
    return sorted(set((await session.scalars(stmt)).all()))


async def _system(
    session: AsyncSession, district: str, source: str, username: str, name: str
) -> str:
    """Open (or refresh) the system client playing `source`, granted it, with a fresh key."""
    repo = AccountRepository(session)
    account = await repo.by_username(username)
    if account is None:
        account, _ = await create_account(
            session,
            None,
            NewAccount(username, Role.SYSTEM_CLIENT, district, display_name=name),
        )
    if source in GRANTABLE_SOURCES and account.source_grants != [source]:
        await set_source_grants(session, None, account, [source], tool=TOOL)
    await _revoke_old_keys(session, account)
    _, secret = await issue_tool_api_key(session, account, KEY_NAME, TOOL)
    return secret


async def _revoke_old_keys(session: AsyncSession, account: Account) -> None:
    """End the keys of earlier runs, so a key lives no longer than the run that made it."""
    await session.execute(
        update(AuthToken)
        .where(
            AuthToken.account_id == account.id,
            AuthToken.kind == "api_key",
            AuthToken.name == KEY_NAME,
            AuthToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )


async def _person(session: AsyncSession, username: str, role: Role, org: str, name: str) -> Login:
    """Open or refresh a person account with a new random password that needs no change."""
    password = "Sim-" + secrets.token_urlsafe(12) + "9x"
    repo = AccountRepository(session)
    account = await repo.by_username(username)
    if account is None:
        account, _ = await create_account(
            session, None, NewAccount(username, role, org, display_name=name, password=password)
        )
    else:
        account.password_hash = await hash_password_async(password)
        account.active = True
        await throttle.clear_all(session, username)  # a fresh run signs in from a fresh slate
    account.must_change_password = False
    await audit.record(
        session, action="simulate.account", result="success", actor_name=TOOL, target=username
    )
    return Login(username, password)


async def _with_code(session: AsyncSession, settings: Settings, person: Login) -> Login:
    """The person's login with a TOTP secret enrolled for the simulator."""
    account = await AccountRepository(session).by_username(person.username)
    assert account is not None
    secret = await enrol_for_tool(session, settings, account.id, person.username, TOOL)
    return Login(person.username, person.password, secret)


async def prepare_accounts(
    session: AsyncSession,
    district: str,
    rng: random.Random,
    workers: int = 8,
    settings: Settings | None = None,
) -> SimAccounts:
    """Open (or refresh) the simulator's accounts and load the places it reports from."""
    keys = {
        source: await _system(session, district, source, username, name)
        for source, (username, name) in SYSTEMS.items()
    }
    officer = await _person(session, OFFICER[0], Role.DISTRICT_OFFICER, district, OFFICER[1])
    checker = await _person(session, CHECKER[0], Role.DISTRICT_OFFICER, district, CHECKER[1])
    if settings is not None:  # district officers sign in with a second factor
        officer = await _with_code(session, settings, officer)
        checker = await _with_code(session, settings, checker)
    places = await load_places(session, district)
    focus = places_in_scopes(places, await people_scopes(session, district))
    chosen = rng.sample(places, min(workers, len(places)))
    grid_workers = {
        place.code: await _person(
            session,
            f"sim-gw-{place.code}",
            Role.GRID_WORKER,
            place.code,
            f"模拟网格员·{place.name}（合成数据）",
        )
        for place in chosen
    }
    return SimAccounts(keys, officer, district, grid_workers, places, checker, focus)

"""Account administration: create, update, disable, reset, unlock, API keys; each audited."""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth import audit
from cityops.auth.models import Account, AuthToken
from cityops.auth.passwords import ensure_policy, hash_password_async
from cityops.auth.principal import Principal
from cityops.auth.repository import AccountRepository
from cityops.auth.roles import PRIVILEGED_ROLES, Perm, Role
from cityops.auth.service import API_KEY_PREFIX, new_secret, token_digest
from cityops.auth.signin import throttle
from cityops.auth.sources import check_sources
from cityops.kit.db import utcnow
from cityops.kit.errors import Conflict, Forbidden, NotFound, OutOfScope, ProblemError
from cityops.org.models import Department, OrgUnit


def _require_role_grant(actor: Principal, role: str) -> None:
    """Privileged roles are granted only by the security admin (三权分立)."""
    needed = Perm.ACCOUNT_GRANT if role in PRIVILEGED_ROLES else Perm.ACCOUNT_WRITE
    if not (actor.can(needed) or (needed is Perm.ACCOUNT_WRITE and actor.can(Perm.ACCOUNT_GRANT))):
        raise Forbidden(f"your role may not grant the role {role}")


async def _check_org(session: AsyncSession, actor: Principal | None, org_code: str) -> OrgUnit:
    unit = await session.get(OrgUnit, org_code)
    if unit is None:
        raise ProblemError(
            422,
            "validation",
            f"org unit {org_code} does not exist",
            errors=[
                {"loc": ["body", "org_code"], "msg": "unknown org unit", "type": "unknown_code"}
            ],
        )
    if actor is not None and not actor.scope.allows(org_code):
        raise OutOfScope(org_code)
    return unit


async def _check_department(
    session: AsyncSession, department_id: int | None, org_code: str
) -> None:
    if department_id is None:
        return
    department = await session.get(Department, department_id)
    if department is None or not org_code.startswith(department.org_code):
        raise ProblemError(
            422,
            "validation",
            "department does not belong to the account's unit",
            errors=[
                {
                    "loc": ["body", "department_id"],
                    "msg": "unknown department",
                    "type": "unknown_department",
                }
            ],
        )


@dataclass(frozen=True, slots=True)
class NewAccount:
    """What it takes to open an account."""

    username: str
    role: Role
    org_code: str
    display_name: str = ""
    department_id: int | None = None
    password: str | None = None  # None: a one-time password is generated and returned
    sources: tuple[str, ...] = ()  # system clients: the case sources granted (auth/sources.py)


async def create_account(
    session: AsyncSession, actor: Principal | None, data: NewAccount, client_ip: str = ""
) -> tuple[Account, str | None]:
    """Open an account; actor None means the install-time CLI. Returns a one-time password if made."""
    if actor is not None:
        _require_role_grant(actor, data.role)
    sources = _sources_of(actor, data)
    await _check_org(session, actor, data.org_code)
    await _check_department(session, data.department_id, data.org_code)
    repo = AccountRepository(session)
    if await repo.by_username(data.username) is not None:
        raise Conflict(f"username {data.username} is taken", field="username")
    one_time = None
    password = data.password
    if data.role is Role.SYSTEM_CLIENT:
        password = None  # systems authenticate with API keys only
    elif password is None:
        one_time = password = _one_time_password()
    else:
        ensure_policy(password, data.username)
    account = await repo.add(
        Account(
            username=data.username,
            display_name=data.display_name or data.username,
            password_hash=await hash_password_async(password) if password else None,
            role=data.role,
            org_code=data.org_code,
            department_id=data.department_id,
            extra_scope=[],
            source_grants=sources,
            # An admin-chosen or generated password is known to someone else: change at first login.
            must_change_password=actor is not None or one_time is not None,
            active=True,
        )
    )
    await audit.record(
        session,
        action="account.create",
        result="success",
        actor=actor,
        actor_name="cli" if actor is None else "",
        actor_org=data.org_code,
        target=data.username,
        client_ip=client_ip,
        detail={"role": data.role, "org_code": data.org_code}
        | ({"sources": sources} if sources else {}),
    )
    return account, one_time


def _sources_of(actor: Principal | None, data: NewAccount) -> list[str]:
    """The source grants of a new account: system clients only, by the security admin."""
    if not data.sources:
        return []
    if data.role is not Role.SYSTEM_CLIENT:
        raise Conflict("sources are granted to system client accounts only")
    if actor is not None and not actor.can(Perm.ACCOUNT_GRANT):
        raise Forbidden("source grants are given by the security admin")
    return check_sources(data.sources)


def _one_time_password() -> str:
    # Four classes guaranteed, 20 random characters of entropy on top.
    return "Tmp-" + secrets.token_urlsafe(15) + "9a"


async def get_account(session: AsyncSession, actor: Principal, account_id: int) -> Account:
    """One account inside the actor's scope."""
    account = await AccountRepository(session).get(account_id, actor.scope)
    if account is None:
        raise NotFound("account", account_id)
    return account


async def list_accounts(
    session: AsyncSession, actor: Principal, *, role: str | None, q: str, limit: int, offset: int
) -> tuple[Sequence[Account], int]:
    """A page of the accounts the actor may see."""
    return await AccountRepository(session).list(
        actor.scope, role=role, q=q, limit=limit, offset=offset
    )


@dataclass(frozen=True, slots=True)
class AccountChanges:
    """Fields an admin may change; None leaves a field alone."""

    display_name: str | None = None
    role: Role | None = None
    org_code: str | None = None
    department_id: int | None = None
    active: bool | None = None
    extra_scope: list[str] | None = None


async def update_account(
    session: AsyncSession,
    actor: Principal,
    account_id: int,
    changes: AccountChanges,
    client_ip: str = "",
) -> Account:
    """Change an account; role, scope and privileged accounts need the security admin."""
    account = await get_account(session, actor, account_id)
    if account.id == actor.account_id and (changes.role or changes.extra_scope is not None):
        raise Forbidden("nobody changes their own role or scope")
    privileged = account.role in PRIVILEGED_ROLES or changes.role in PRIVILEGED_ROLES
    if privileged and not actor.can(Perm.ACCOUNT_GRANT):
        raise Forbidden("privileged accounts are managed by the security admin")
    if changes.role is not None:
        _require_role_grant(actor, changes.role)
        account.role = changes.role
    if changes.extra_scope is not None:
        if not actor.can(Perm.ACCOUNT_GRANT):
            raise Forbidden("extra data scope is granted by the security admin")
        for code in changes.extra_scope:
            await _check_org(session, actor, code)
        account.extra_scope = sorted(set(changes.extra_scope))
    if changes.org_code is not None:
        await _check_org(session, actor, changes.org_code)
        account.org_code = changes.org_code
    if changes.department_id is not None:
        await _check_department(session, changes.department_id, account.org_code)
        account.department_id = changes.department_id
    if changes.display_name is not None:
        account.display_name = changes.display_name
    if changes.active is not None:
        account.active = changes.active
        if not changes.active:
            await AccountRepository(session).revoke_tokens(account.id, utcnow())
    await audit.record(
        session,
        action="account.update",
        result="success",
        actor=actor,
        target=account.username,
        client_ip=client_ip,
        detail={k: v for k, v in vars_of(changes).items() if v is not None},
    )
    return account


def vars_of(changes: AccountChanges) -> dict[str, object]:
    """The fields of a change set as a dict (slots dataclasses have no __dict__)."""
    return {name: getattr(changes, name) for name in AccountChanges.__dataclass_fields__}


async def reset_password(
    session: AsyncSession, actor: Principal, account_id: int, client_ip: str = ""
) -> str:
    """Give an account a one-time password, unlock it, and end its sessions."""
    account = await get_account(session, actor, account_id)
    if account.role in PRIVILEGED_ROLES and not actor.can(Perm.ACCOUNT_GRANT):
        raise Forbidden("privileged accounts are managed by the security admin")
    if account.role == Role.SYSTEM_CLIENT:
        raise Conflict("system clients have API keys, not passwords")
    password = _one_time_password()
    now = utcnow()
    account.password_hash = await hash_password_async(password)
    account.must_change_password = True
    await throttle.clear_all(session, account.username)  # the reset unlocks every address
    await AccountRepository(session).revoke_tokens(account.id, now, kind="session")
    await audit.record(
        session,
        action="account.reset_password",
        result="success",
        actor=actor,
        target=account.username,
        client_ip=client_ip,
    )
    return password


async def create_api_key(
    session: AsyncSession,
    actor: Principal,
    account_id: int,
    name: str,
    client_ip: str = "",
    networks: Sequence[str] = (),
) -> tuple[AuthToken, str]:
    """Issue an API key for a system client, usable from `networks` only (empty: anywhere)."""
    if not actor.can(Perm.ACCOUNT_GRANT):
        raise Forbidden("API keys are issued by the security admin")
    account = await get_account(session, actor, account_id)
    if account.role != Role.SYSTEM_CLIENT:
        raise Conflict("API keys are for system client accounts")
    return await _issue_api_key(session, account, name, actor, client_ip, networks=networks)


async def issue_tool_api_key(
    session: AsyncSession, account: Account, name: str, tool: str
) -> tuple[AuthToken, str]:
    """Issue an API key from an install-time tool (no principal), audited under the tool's name."""
    if account.role != Role.SYSTEM_CLIENT:
        raise Conflict("API keys are for system client accounts")
    return await _issue_api_key(session, account, name, None, "", tool)


async def _issue_api_key(
    session: AsyncSession,
    account: Account,
    name: str,
    actor: Principal | None,
    client_ip: str,
    tool: str = "",
    networks: Sequence[str] = (),
) -> tuple[AuthToken, str]:
    secret = new_secret(API_KEY_PREFIX)
    token = await AccountRepository(session).add_token(
        AuthToken(
            token_hash=token_digest(secret),
            kind="api_key",
            name=name,
            account_id=account.id,
            client_ip=client_ip,
            allowed_networks=list(networks),
        )
    )
    await audit.record(
        session,
        action="apikey.create",
        result="success",
        actor=actor,
        actor_name=tool,
        target=account.username,
        client_ip=client_ip,
        detail={"name": name, "allowed_networks": list(networks)},
    )
    return token, secret


async def set_api_key_networks(
    session: AsyncSession,
    actor: Principal,
    account_id: int,
    key_id: int,
    networks: Sequence[str],
    client_ip: str = "",
) -> AuthToken:
    """Replace the networks an API key may be used from (empty: anywhere)."""
    if not actor.can(Perm.ACCOUNT_GRANT):
        raise Forbidden("API keys are managed by the security admin")
    account = await get_account(session, actor, account_id)
    token = await session.get(AuthToken, key_id)
    if token is None or token.account_id != account.id or token.kind != "api_key":
        raise NotFound("API key", key_id)
    token.allowed_networks = list(networks)
    await audit.record(
        session,
        action="apikey.networks",
        result="success",
        actor=actor,
        target=account.username,
        client_ip=client_ip,
        detail={"key_id": key_id, "allowed_networks": list(networks)},
    )
    return token


async def revoke_api_key(
    session: AsyncSession, actor: Principal, account_id: int, key_id: int, client_ip: str = ""
) -> None:
    """Revoke one API key of a system client."""
    if not actor.can(Perm.ACCOUNT_GRANT):
        raise Forbidden("API keys are revoked by the security admin")
    account = await get_account(session, actor, account_id)
    token = await session.get(AuthToken, key_id)
    if token is None or token.account_id != account.id or token.kind != "api_key":
        raise NotFound("API key", key_id)
    token.revoked_at = token.revoked_at or utcnow()
    await audit.record(
        session,
        action="apikey.revoke",
        result="success",
        actor=actor,
        target=account.username,
        client_ip=client_ip,
        detail={"key_id": key_id},
    )


async def display_names(session: AsyncSession, usernames: Collection[str]) -> dict[str, str]:
    """How pages name these accounts (the display name, where one is set), by username."""
    return await AccountRepository(session).display_names(usernames)

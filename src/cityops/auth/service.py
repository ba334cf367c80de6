"""Authentication and account rules: login, tokens, lockout, passwords, accounts, API keys."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth import audit
from cityops.auth.models import Account, AuthToken
from cityops.auth.passwords import (
    ensure_policy,
    hash_password_async,
    needs_rehash,
    verify_password_async,
)
from cityops.auth.principal import Principal
from cityops.auth.repository import AccountRepository
from cityops.config import Settings
from cityops.kit.db import utcnow
from cityops.kit.errors import ProblemError
from cityops.kit.scope import DataScope
from cityops.org.models import OrgUnit

SESSION_PREFIX = "cos_"
API_KEY_PREFIX = "cok_"
TOKEN_TOUCH_SECONDS = 60  # write last_seen_at at most once a minute per token


def token_digest(token: str) -> str:
    """The stored form of a bearer secret (high-entropy, so a fast hash is enough)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_secret(prefix: str) -> str:
    """A fresh 256-bit bearer secret with a readable prefix."""
    return prefix + secrets.token_urlsafe(32)


class LoginOutcome(StrEnum):
    """Why a login ended as it did."""

    OK = "ok"
    INVALID = "invalid"
    LOCKED = "locked"


@dataclass(frozen=True, slots=True)
class LoginResult:
    """The result of a login attempt; a token only when it succeeded."""

    outcome: LoginOutcome
    token: str | None = None
    account: Account | None = None
    expires_in: int = 0


async def login(
    session: AsyncSession, settings: Settings, username: str, password: str, client_ip: str
) -> LoginResult:
    """Check credentials, apply lockout, open a session token, and audit either way."""
    repo = AccountRepository(session)
    account = await repo.by_username(username)
    now = utcnow()
    if account is not None and account.locked_until is not None and account.locked_until <= now:
        account.locked_until = None  # the lock has run out: start counting afresh
        account.failed_logins = 0
    if account is not None and account.locked_until is not None:
        await audit.record(
            session,
            action="auth.login",
            result="failure",
            actor_name=username,
            actor_org=account.org_code,
            client_ip=client_ip,
            detail={"reason": "locked"},
        )
        return LoginResult(LoginOutcome.LOCKED)
    valid = await verify_password_async(account.password_hash if account else None, password)
    if account is None or not valid or not account.active:
        reason = "unknown user" if account is None else ("inactive" if valid else "bad password")
        if account is not None and not valid:
            account.failed_logins += 1
            if account.failed_logins >= settings.login_max_failures:
                account.locked_until = now + timedelta(minutes=settings.login_lockout_minutes)
                reason = "bad password; account locked"
        await audit.record(
            session,
            action="auth.login",
            result="failure",
            actor_name=username,
            actor_org=account.org_code if account else settings.district_code,
            client_ip=client_ip,
            detail={"reason": reason},
        )
        return LoginResult(LoginOutcome.INVALID)
    assert account.password_hash is not None
    if needs_rehash(account.password_hash):
        account.password_hash = await hash_password_async(password)
    account.failed_logins = 0
    account.locked_until = None
    account.last_login_at = now
    ttl = timedelta(minutes=settings.session_ttl_minutes)
    token = new_secret(SESSION_PREFIX)
    await repo.add_token(
        AuthToken(
            token_hash=token_digest(token),
            kind="session",
            account_id=account.id,
            expires_at=now + ttl,
            last_seen_at=now,
            client_ip=client_ip,
        )
    )
    await audit.record(
        session,
        action="auth.login",
        result="success",
        actor_name=username,
        actor_org=account.org_code,
        client_ip=client_ip,
    )
    return LoginResult(LoginOutcome.OK, token, account, int(ttl.total_seconds()))


async def resolve_token(session: AsyncSession, settings: Settings, token: str) -> Principal | None:
    """The principal behind a bearer secret, or None if unknown, revoked, expired or idle."""
    repo = AccountRepository(session)
    row = await repo.token_by_hash(token_digest(token))
    now = utcnow()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    idle = timedelta(minutes=settings.session_idle_minutes)
    if row.kind == "session" and row.last_seen_at is not None and now - row.last_seen_at > idle:
        row.revoked_at = now
        return None
    account = await repo.get_unscoped(row.account_id)
    if account is None or not account.active:
        return None
    if row.last_seen_at is None or (now - row.last_seen_at).total_seconds() > TOKEN_TOUCH_SECONDS:
        row.last_seen_at = now
    return Principal(
        account_id=account.id,
        username=account.username,
        display_name=account.display_name,
        role=account.role,
        org_code=account.org_code,
        department_id=account.department_id,
        scope=await scope_of(session, account),
        must_change_password=account.must_change_password and row.kind == "session",
        token_id=row.id,
        token_kind=row.kind,
    )


async def scope_of(session: AsyncSession, account: Account) -> DataScope:
    """An account's data scope: its unit (a multi-grid unit means its communities) plus grants."""
    codes = [account.org_code, *account.extra_scope]
    if "M" in account.org_code:
        members = await session.scalars(
            select(OrgUnit.code).where(OrgUnit.multigrid_code == account.org_code)
        )
        codes.extend(members.all())
    return DataScope.of(codes)


async def logout(session: AsyncSession, principal: Principal, client_ip: str) -> None:
    """Revoke the token the principal used."""
    token = await session.get(AuthToken, principal.token_id)
    if token is not None and token.revoked_at is None:
        token.revoked_at = utcnow()
    await audit.record(
        session, action="auth.logout", result="success", actor=principal, client_ip=client_ip
    )


async def change_password(
    session: AsyncSession, principal: Principal, old: str, new: str, client_ip: str
) -> None:
    """Change one's own password; other sessions of the account are revoked."""
    repo = AccountRepository(session)
    account = await repo.get_unscoped(principal.account_id)
    if account is None or not await verify_password_async(account.password_hash, old):
        await audit.record(
            session,
            action="auth.password_change",
            result="failure",
            actor=principal,
            client_ip=client_ip,
        )
        raise ProblemError(
            403, "invalid-credentials", "The current password is wrong.", keep_changes=True
        )
    if old == new:
        raise ProblemError(
            422,
            "validation",
            "The new password must differ from the old one.",
            errors=[
                {"loc": ["body", "new_password"], "msg": "same as old", "type": "password_policy"}
            ],
        )
    ensure_policy(new, account.username, "new_password")
    now = utcnow()
    account.password_hash = await hash_password_async(new)
    account.password_changed_at = now
    account.must_change_password = False
    await repo.revoke_tokens(account.id, now, kind="session", keep_id=principal.token_id)
    await audit.record(
        session,
        action="auth.password_change",
        result="success",
        actor=principal,
        client_ip=client_ip,
    )

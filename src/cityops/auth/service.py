"""Authentication: the two login steps, tokens, per-address lockout, passwords, sessions."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
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
from cityops.auth.signin import throttle, totp
from cityops.config import Settings
from cityops.kit.db import utcnow
from cityops.kit.errors import ProblemError
from cityops.kit.scope import DataScope
from cityops.org.models import OrgUnit

SESSION_PREFIX = "cos_"
API_KEY_PREFIX = "cok_"
CHALLENGE_PREFIX = "coc_"
CHALLENGE_TTL = timedelta(minutes=5)
TOKEN_TOUCH_SECONDS = 60  # write last_seen_at at most once a minute per token


def token_digest(token: str) -> str:
    """The stored form of a bearer secret (high-entropy, so a fast hash is enough)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_secret(prefix: str) -> str:
    """A fresh 256-bit bearer secret with a readable prefix."""
    return prefix + secrets.token_urlsafe(32)


class LoginOutcome(StrEnum):
    """Why a login step ended as it did."""

    OK = "ok"
    INVALID = "invalid"
    LOCKED = "locked"
    CODE_REQUIRED = "code_required"  # the password was right; now the TOTP or recovery code
    EXPIRED = "expired"  # step 2 with a challenge that is unknown, used, expired or elsewhere


@dataclass(frozen=True, slots=True)
class LoginResult:
    """The result of a login step; a token only when it succeeded (or a challenge for step 2)."""

    outcome: LoginOutcome
    token: str | None = None
    account: Account | None = None
    expires_in: int = 0
    attempts_left: int = 0  # INVALID: tries from this address before it is locked
    locked_for: timedelta | None = None  # LOCKED, or INVALID that just locked the address


async def login(
    session: AsyncSession,
    settings: Settings,
    username: str,
    password: str,
    client_ip: str,
    now: datetime | None = None,
) -> LoginResult:
    """Step 1: the password. Locks are per (name, address); every path runs the hash once."""
    now = now or utcnow()
    repo = AccountRepository(session)
    account = await repo.by_username(username)
    locked = await throttle.locked_for(session, username, client_ip, now)
    # The hash runs even when the address is locked or the name unknown: same work, same time.
    valid = await verify_password_async(account.password_hash if account else None, password)
    org = account.org_code if account else settings.district_code
    if locked is not None:
        await _audit_login(session, username, org, client_ip, "failure", {"reason": "locked"})
        return LoginResult(LoginOutcome.LOCKED, locked_for=locked)
    if account is None or not valid or not account.active:
        reason = "unknown user" if account is None else ("inactive" if valid else "bad password")
        # The same query for an unknown name (id 0 has no sessions): the same work either way.
        since = now - timedelta(days=settings.login_familiar_days)
        familiar = await repo.has_session_from(account.id if account else 0, client_ip, since)
        verdict = await throttle.fail(
            session, settings, username, client_ip, now, familiar=familiar
        )
        if verdict.locked_for is not None:
            reason += "; address locked"
        await _audit_login(session, username, org, client_ip, "failure", {"reason": reason})
        return LoginResult(
            LoginOutcome.INVALID,
            attempts_left=verdict.attempts_left,
            locked_for=verdict.locked_for,
        )
    assert account.password_hash is not None
    if needs_rehash(account.password_hash):
        account.password_hash = await hash_password_async(password)
    if await totp.is_enrolled(session, account.id):
        return await _challenge(session, settings, account, client_ip, now)
    return await _open_session(session, settings, account, client_ip, now, {})


async def login_code(
    session: AsyncSession,
    settings: Settings,
    challenge: str,
    code: str,
    client_ip: str,
    now: datetime | None = None,
) -> LoginResult:
    """Step 2: the TOTP or a recovery code, against the challenge step 1 gave this address."""
    now = now or utcnow()
    repo = AccountRepository(session)
    row = await repo.token_by_hash(token_digest(challenge)) if len(challenge) <= 200 else None
    usable = (
        row is not None
        and row.kind == "challenge"
        and row.revoked_at is None
        and row.expires_at is not None
        and row.expires_at > now
        and row.client_ip == client_ip
    )
    account = await repo.get_unscoped(row.account_id) if row is not None and usable else None
    if row is None or account is None or not account.active:
        return LoginResult(LoginOutcome.EXPIRED)
    locked = await throttle.locked_for(session, account.username, client_ip, now)
    if locked is not None:
        row.revoked_at = now
        await _audit_login(
            session, account.username, account.org_code, client_ip, "failure", {"reason": "locked"}
        )
        return LoginResult(LoginOutcome.LOCKED, locked_for=locked)
    factor = await totp.second_factor(session, settings, account.id, code, now)
    if factor is None:
        verdict = await throttle.fail(
            session, settings, account.username, client_ip, now, familiar=False
        )
        if verdict.locked_for is not None:
            row.revoked_at = now  # the challenge dies with the lock: start again with the password
        detail = {"reason": "bad code" + ("; address locked" if verdict.locked_for else "")}
        await _audit_login(
            session, account.username, account.org_code, client_ip, "failure", detail
        )
        return LoginResult(
            LoginOutcome.INVALID,
            attempts_left=verdict.attempts_left,
            locked_for=verdict.locked_for,
        )
    row.revoked_at = now  # a challenge opens one session only
    return await _open_session(session, settings, account, client_ip, now, {"factor": factor})


async def _challenge(
    session: AsyncSession, settings: Settings, account: Account, client_ip: str, now: datetime
) -> LoginResult:
    """The short-lived proof that step 1 passed, bound to the address it passed from."""
    secret = new_secret(CHALLENGE_PREFIX)
    await AccountRepository(session).add_token(
        AuthToken(
            token_hash=token_digest(secret),
            kind="challenge",
            account_id=account.id,
            expires_at=now + CHALLENGE_TTL,
            client_ip=client_ip,
        )
    )
    # Not yet a login: `auth.login` success means a session was opened.
    await audit.record(
        session,
        action="auth.login_password",
        result="success",
        actor_name=account.username,
        actor_org=account.org_code,
        client_ip=client_ip,
        detail={"next": "code"},
    )
    return LoginResult(
        LoginOutcome.CODE_REQUIRED,
        token=secret,
        account=account,
        expires_in=int(CHALLENGE_TTL.total_seconds()),
    )


async def _open_session(
    session: AsyncSession,
    settings: Settings,
    account: Account,
    client_ip: str,
    now: datetime,
    detail: dict[str, str],
) -> LoginResult:
    """A complete sign-in: a session token, the address's failures forgotten, audited."""
    await throttle.clear(session, account.username, client_ip)
    account.last_login_at = now
    ttl = timedelta(minutes=settings.session_ttl_minutes)
    token = new_secret(SESSION_PREFIX)
    await AccountRepository(session).add_token(
        AuthToken(
            token_hash=token_digest(token),
            kind="session",
            account_id=account.id,
            expires_at=now + ttl,
            last_seen_at=now,
            client_ip=client_ip,
            created_at=now,
        )
    )
    await _audit_login(session, account.username, account.org_code, client_ip, "success", detail)
    return LoginResult(LoginOutcome.OK, token, account, int(ttl.total_seconds()))


async def _audit_login(
    session: AsyncSession,
    username: str,
    org: str,
    client_ip: str,
    result: str,
    detail: dict[str, str],
) -> None:
    await audit.record(
        session,
        action="auth.login",
        result=result,
        actor_name=username,
        actor_org=org,
        client_ip=client_ip,
        detail=detail or None,
    )


async def resolve_token(session: AsyncSession, settings: Settings, token: str) -> Principal | None:
    """The principal behind a bearer secret, or None if unknown, revoked, expired or idle."""
    repo = AccountRepository(session)
    row = await repo.token_by_hash(token_digest(token))
    now = utcnow()
    if row is None or row.revoked_at is not None or row.kind not in ("session", "api_key"):
        return None  # a sign-in challenge is no credential
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
        must_enrol_totp=row.kind == "session"
        and account.role in settings.totp_required_roles
        and not await totp.is_enrolled(session, account.id),
        allowed_networks=tuple(row.allowed_networks or ()) if row.kind == "api_key" else (),
        sources=frozenset(account.source_grants or ()),
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

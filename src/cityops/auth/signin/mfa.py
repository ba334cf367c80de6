"""Enrolment in two-factor sign-in, for oneself and by the security admin; each act audited."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth import audit
from cityops.auth.principal import Principal
from cityops.auth.repository import AccountRepository
from cityops.auth.schemas import TotpStatus
from cityops.auth.signin import totp
from cityops.config import Settings
from cityops.kit.db import utcnow
from cityops.kit.errors import Conflict, Forbidden, NotFound, ProblemError


def _wrong_code() -> ProblemError:
    return ProblemError(
        422,
        "invalid-code",
        "The code is wrong, expired or already used.",
        errors=[{"loc": ["body", "code"], "msg": "wrong code", "type": "totp"}],
        keep_changes=True,
    )


def _person(principal: Principal) -> None:
    if principal.token_kind != "session":
        raise Forbidden("two-factor sign-in is for people; API keys have none")


async def status(session: AsyncSession, settings: Settings, principal: Principal) -> TotpStatus:
    """Whether the caller is enrolled, must be, and how many recovery codes remain."""
    return TotpStatus(
        enrolled=await totp.is_enrolled(session, principal.account_id),
        required=principal.role in settings.totp_required_roles,
        recovery_codes_left=await totp.recovery_codes_left(session, principal.account_id),
    )


async def begin(
    session: AsyncSession, settings: Settings, principal: Principal, client_ip: str
) -> totp.Enrolment:
    """Start (or restart) an enrolment; refused while one is confirmed."""
    _person(principal)
    if await totp.is_enrolled(session, principal.account_id):
        raise Conflict("two-factor sign-in is already set up; disable it first to replace it")
    secret = await totp.start(session, settings, principal.account_id)
    await audit.record(
        session, action="auth.totp_enrol", result="success", actor=principal, client_ip=client_ip
    )
    return totp.provisioning(settings, principal.username, secret)


async def confirm(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    code: str,
    client_ip: str,
    now: datetime,
) -> list[str]:
    """Confirm the pending enrolment with a first code; the recovery codes, once."""
    _person(principal)
    if await totp.is_enrolled(session, principal.account_id):
        raise Conflict("two-factor sign-in is already confirmed")
    if await totp.record_of(session, principal.account_id) is None:
        raise Conflict("start with POST /api/v1/auth/totp/enrol")
    codes = await totp.confirm(session, settings, principal.account_id, code, now)
    result = "success" if codes is not None else "failure"
    await audit.record(
        session, action="auth.totp_confirm", result=result, actor=principal, client_ip=client_ip
    )
    if codes is None:
        raise _wrong_code()
    return codes


async def renew_recovery(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    code: str,
    client_ip: str,
    now: datetime,
) -> list[str]:
    """New recovery codes for an enrolled account, proven with a current TOTP code."""
    _person(principal)
    if not await totp.is_enrolled(session, principal.account_id):
        raise Conflict("two-factor sign-in is not set up")
    ok = await totp.check_code(session, settings, principal.account_id, code, now)
    await audit.record(
        session,
        action="auth.totp_recovery_codes",
        result="success" if ok else "failure",
        actor=principal,
        client_ip=client_ip,
    )
    if not ok:
        raise _wrong_code()
    return await totp.new_recovery_codes(session, principal.account_id)


async def disable(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    code: str,
    client_ip: str,
    now: datetime,
) -> None:
    """Stop using two factors (optional roles only), proven with a code or a recovery code."""
    _person(principal)
    if principal.role in settings.totp_required_roles:
        raise Forbidden("your role must sign in with two factors")
    factor = await totp.second_factor(session, settings, principal.account_id, code, now)
    await audit.record(
        session,
        action="auth.totp_disable",
        result="success" if factor else "failure",
        actor=principal,
        client_ip=client_ip,
    )
    if factor is None:
        raise _wrong_code()
    await totp.remove(session, principal.account_id)


async def reset_for(
    session: AsyncSession, actor: Principal, account_id: int, client_ip: str
) -> None:
    """The security admin's reset after a lost phone: the account enrols again at next login."""
    account = await AccountRepository(session).get(account_id, actor.scope)
    if account is None:
        raise NotFound("account", account_id)
    if account.id == actor.account_id:
        raise Forbidden("nobody resets their own second factor")
    await totp.remove(session, account.id)
    await AccountRepository(session).revoke_tokens(account.id, utcnow(), kind="session")
    await audit.record(
        session,
        action="account.totp_reset",
        result="success",
        actor=actor,
        target=account.username,
        client_ip=client_ip,
    )


async def enrol_for_tool(
    session: AsyncSession, settings: Settings, account_id: int, username: str, tool: str
) -> str:
    """Give a tool's own person account (the simulator's duty officer) a confirmed TOTP secret.

    The tool keeps the secret in memory and signs in with codes like a person with a phone;
    the previous secret and recovery codes are gone, and the act is audited under the tool.
    """
    await totp.remove(session, account_id)
    secret = await totp.start(session, settings, account_id)
    record = await totp.record_of(session, account_id)
    assert record is not None
    record.confirmed_at = utcnow()
    await audit.record(
        session, action="auth.totp_enrol", result="success", actor_name=tool, target=username
    )
    return secret

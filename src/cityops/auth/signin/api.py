"""HTTP endpoints of two-factor sign-in: the code step, enrolment, recovery codes, disabling."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from cityops.auth import service
from cityops.auth.deps import CurrentPrincipal, PrincipalCache
from cityops.auth.schemas import (
    LoginCode,
    LoginResponse,
    RecoveryCodes,
    TotpCode,
    TotpEnrolment,
    TotpStatus,
)
from cityops.auth.signin import mfa
from cityops.auth.signin.replies import now_of, refusal, session_reply
from cityops.config import Settings
from cityops.kit.errors import ProblemError
from cityops.kit.web import ClientIp, DbSession

totp_router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _forget(request: Request, account_id: int) -> None:
    cache: PrincipalCache = request.app.state.principal_cache
    cache.forget_account(account_id)


@totp_router.post(
    "/login/code",
    response_model=LoginResponse,
    summary="Log in, step 2: the code",
    responses={401: {"description": "Wrong code or challenge"}, 429: {"description": "Locked"}},
)
async def login_code(
    body: LoginCode, request: Request, response: Response, session: DbSession, ip: ClientIp
) -> LoginResponse:
    """Exchange step 1's challenge and a TOTP (or one recovery) code for a session."""
    settings = _settings(request)
    result = await service.login_code(
        session, settings, body.challenge, body.code, ip, now_of(request)
    )
    if result.outcome is service.LoginOutcome.EXPIRED:
        raise ProblemError(
            401,
            "challenge-expired",
            "This sign-in has expired or is unknown; start again with the password.",
        )
    if result.outcome is not service.LoginOutcome.OK:
        raise refusal(result, settings)
    return session_reply(response, result, settings)


@totp_router.get("/totp", response_model=TotpStatus, summary="My two-factor status")
async def totp_status(
    principal: CurrentPrincipal, request: Request, session: DbSession
) -> TotpStatus:
    """Whether I sign in with a code, whether my role must, and recovery codes left."""
    return await mfa.status(session, _settings(request), principal)


@totp_router.post("/totp/enrol", response_model=TotpEnrolment, summary="Start TOTP enrolment")
async def totp_enrol(
    principal: CurrentPrincipal, request: Request, session: DbSession, ip: ClientIp
) -> TotpEnrolment:
    """A new secret, shown once (text, otpauth:// URI, QR code); confirm it with a first code."""
    enrolment = await mfa.begin(session, _settings(request), principal, ip)
    return TotpEnrolment(
        secret=enrolment.secret, otpauth_uri=enrolment.uri, qr_svg=enrolment.qr_svg
    )


@totp_router.post("/totp/confirm", response_model=RecoveryCodes, summary="Confirm TOTP")
async def totp_confirm(
    body: TotpCode, principal: CurrentPrincipal, request: Request, session: DbSession, ip: ClientIp
) -> RecoveryCodes:
    """Confirm the enrolment with the app's first code; the recovery codes are shown once."""
    codes = await mfa.confirm(
        session, _settings(request), principal, body.code, ip, now_of(request)
    )
    _forget(request, principal.account_id)
    return RecoveryCodes(recovery_codes=codes)


@totp_router.post(
    "/totp/recovery-codes", response_model=RecoveryCodes, summary="New recovery codes"
)
async def totp_recovery_codes(
    body: TotpCode, principal: CurrentPrincipal, request: Request, session: DbSession, ip: ClientIp
) -> RecoveryCodes:
    """Replace the recovery codes, proven with a current TOTP code."""
    codes = await mfa.renew_recovery(
        session, _settings(request), principal, body.code, ip, now_of(request)
    )
    return RecoveryCodes(recovery_codes=codes)


@totp_router.post("/totp/disable", status_code=204, summary="Stop using TOTP")
async def totp_disable(
    body: TotpCode, principal: CurrentPrincipal, request: Request, session: DbSession, ip: ClientIp
) -> Response:
    """Stop signing in with a code (roles that must use two factors cannot)."""
    await mfa.disable(session, _settings(request), principal, body.code, ip, now_of(request))
    _forget(request, principal.account_id)
    return Response(status_code=204)

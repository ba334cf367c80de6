"""What the sign-in endpoints share: the clock, the refusal documents and the session reply."""

from __future__ import annotations

import math
from datetime import datetime

from fastapi import Request, Response

from cityops.auth.deps import SESSION_COOKIE
from cityops.auth.schemas import AccountRead, LoginResponse
from cityops.auth.service import LoginOutcome, LoginResult
from cityops.config import Settings
from cityops.kit.db import utcnow
from cityops.kit.errors import ProblemError


def now_of(request: Request) -> datetime:
    """The sign-in clock: `app.state.auth_clock` when a test injects one, else the real time."""
    clock = getattr(request.app.state, "auth_clock", None)
    return clock() if clock is not None else utcnow()


def refusal(result: LoginResult, settings: Settings) -> ProblemError:
    """The problem document of a refused step; it depends on the address's count only.

    A locked account and an unknown name therefore get the same status and the same body.
    """
    if result.outcome is LoginOutcome.LOCKED:
        seconds = math.ceil(result.locked_for.total_seconds()) if result.locked_for else 0
        minutes = max(1, math.ceil(seconds / 60))
        return ProblemError(
            429,
            "login-locked",
            f"Too many failed sign-ins from your address; try again in {minutes} minutes.",
            headers={"Retry-After": str(seconds)},
            keep_changes=True,
            retry_after=seconds,
            lockout_minutes=settings.login_lockout_minutes,
        )
    detail = "Wrong username or password."
    if result.locked_for is not None:
        detail += (
            f" Sign-ins from your address are locked for {settings.login_lockout_minutes} minutes."
        )
    elif result.attempts_left == 1:
        detail += (
            f" One try left before sign-ins from your address are locked for "
            f"{settings.login_lockout_minutes} minutes."
        )
    return ProblemError(
        401,
        "invalid-credentials",
        detail,
        keep_changes=True,
        attempts_left=result.attempts_left,
        lockout_minutes=settings.login_lockout_minutes,
    )


def session_reply(response: Response, result: LoginResult, settings: Settings) -> LoginResponse:
    """Set the portal cookie and describe the new session."""
    assert result.token is not None and result.account is not None
    response.set_cookie(
        SESSION_COOKIE,
        result.token,
        max_age=result.expires_in,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    return LoginResponse(
        access_token=result.token,
        expires_in=result.expires_in,
        must_change_password=result.account.must_change_password,
        account=AccountRead.model_validate(result.account),
    )

"""The portal's session: the cookie the login sets, the caller behind it, and CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from fastapi import Request, Response

from cityops.auth.deps import SESSION_COOKIE, bearer_token, optional_principal
from cityops.auth.principal import Principal
from cityops.config import Settings

CSRF_FIELD = "csrf_token"
_FORM_TOKEN = re.compile(r"[0-9a-f]{32}")
_SAFE_NEXT = re.compile(
    r"/((org|overview|screen)/[0-9A-Z]{6,24}|overview|screen"
    r"|cases(/[0-9]{1,10})?|m/(report|cases/[0-9]{1,10})?|towns/[0-9]{6,24}/page(/edit)?)?"
)


def session_token(request: Request) -> str | None:
    """The bearer secret the request authenticates with (normally the session cookie)."""
    return bearer_token(request)


def csrf_token(token: str) -> str:
    """The form token of a session: a one-way derivation only the cookie's holder can compute."""
    return hashlib.sha256(b"cityops-csrf:" + token.encode()).hexdigest()


def csrf_valid(request: Request, submitted: str) -> bool:
    """Whether a submitted form token belongs to the request's session."""
    token = session_token(request)
    if not token or not submitted:
        return False
    # Bytes, not str: compare_digest raises on non-ASCII text, which a forged form may hold.
    return hmac.compare_digest(csrf_token(token).encode(), submitted.encode())


@dataclass(frozen=True, slots=True)
class FormCookie:
    """A double-submit CSRF token for a form served before any session.

    The token is a random SameSite=Strict cookie, scoped to the form's path, that the form repeats
    in a hidden field: another site can make a browser post the form, but cannot read the cookie
    to put the same token in the body.
    """

    cookie: str
    path: str
    field: str
    max_age: int = 3600

    def token(self, request: Request) -> str:
        """The cookie's token, or a fresh one when there is none (or a malformed one)."""
        value = request.cookies.get(self.cookie, "")
        return value if _FORM_TOKEN.fullmatch(value) else secrets.token_hex(16)

    def keep(self, response: Response, settings: Settings, token: str) -> None:
        """Set (or renew) the cookie to the token the page's form carries."""
        response.set_cookie(
            self.cookie,
            token,
            max_age=self.max_age,
            httponly=True,
            samesite="strict",
            secure=settings.cookie_secure,
            path=self.path,
        )

    def valid(self, request: Request, sent: str) -> bool:
        """Whether the form sent back the token of the request's cookie."""
        token = request.cookies.get(self.cookie, "")
        if not _FORM_TOKEN.fullmatch(token) or not sent:
            return False
        # Bytes, not str: compare_digest raises on non-ASCII text, which a forged form may hold.
        return hmac.compare_digest(token.encode(), sent.encode())


async def portal_principal(request: Request) -> Principal | None:
    """The logged-in person, or None; API keys do not open portal sessions."""
    principal = await optional_principal(request)
    if principal is None or principal.token_kind != "session":
        return None
    return principal


def set_session_cookie(response: Response, settings: Settings, token: str, max_age: int) -> None:
    """Set the session cookie exactly as the API's login does."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    """Remove the session cookie."""
    response.delete_cookie(SESSION_COOKIE, path="/")


def safe_next(value: str) -> str:
    """Where to go after login: a portal page of this site, never another origin."""
    return value if _SAFE_NEXT.fullmatch(value) else "/"

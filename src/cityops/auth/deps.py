"""FastAPI dependencies that turn a bearer token or session cookie into a Principal."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request

from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.auth.service import resolve_token, token_digest
from cityops.config import Settings
from cityops.kit.db import unit_of_work
from cityops.kit.errors import Forbidden, ProblemError
from cityops.kit.web import sessionmaker_of

SESSION_COOKIE = "cityops_session"
_PASSWORD_ROUTES = frozenset({"/api/v1/auth/me", "/api/v1/auth/logout", "/api/v1/auth/password"})


class PrincipalCache:
    """Trust a verified token for a few seconds so hot reads skip the database."""

    def __init__(self, ttl_seconds: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    def get(self, digest: str) -> Principal | None:
        """A cached principal that is still fresh."""
        entry = self._entries.get(digest)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, digest: str, principal: Principal) -> None:
        """Remember a principal, evicting the oldest entry when full."""
        if self.ttl <= 0:
            return
        self._entries[digest] = (time.monotonic() + self.ttl, principal)
        self._entries.move_to_end(digest)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def forget_account(self, account_id: int) -> None:
        """Drop every cached token of an account (logout, password or role change)."""
        for digest in [d for d, (_, p) in self._entries.items() if p.account_id == account_id]:
            del self._entries[digest]

    def clear(self) -> None:
        """Drop everything."""
        self._entries.clear()


def bearer_token(request: Request) -> str | None:
    """The secret from `Authorization: Bearer …`, else from the portal's session cookie."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(SESSION_COOKIE) or None


async def optional_principal(request: Request) -> Principal | None:
    """The caller, or None when no valid token came with the request."""
    token = bearer_token(request)
    if token is None or len(token) > 200:
        return None
    cache: PrincipalCache = request.app.state.principal_cache
    digest = token_digest(token)
    principal = cache.get(digest)
    if principal is None:
        settings: Settings = request.app.state.settings
        async with unit_of_work(sessionmaker_of(request)) as session:
            principal = await resolve_token(session, settings, token)
        if principal is not None:
            cache.put(digest, principal)
    return principal


async def current_principal(
    request: Request, principal: Annotated[Principal | None, Depends(optional_principal)]
) -> Principal:
    """The caller; 401 without a valid token, 403 until a required password change is done."""
    if principal is None:
        raise ProblemError(
            401,
            "unauthenticated",
            "A valid bearer token or session is required.",
            headers={"WWW-Authenticate": 'Bearer realm="cityops"'},
        )
    if principal.must_change_password and request.url.path not in _PASSWORD_ROUTES:
        raise ProblemError(
            403,
            "password-change-required",
            "Change your password at POST /api/v1/auth/password first.",
        )
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(*permissions: Perm) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that admits principals whose role holds any of `permissions`."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if not any(principal.can(p) for p in permissions):
            wanted = " or ".join(p.value for p in permissions)
            raise Forbidden(f"your role ({principal.role}) lacks {wanted}")
        return principal

    return check

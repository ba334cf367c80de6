"""FastAPI dependencies that turn a bearer token or session cookie into a Principal."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import Annotated, Any

from fastapi import Depends, Request

from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.auth.service import resolve_token, token_digest
from cityops.config import Settings
from cityops.kit.db import unit_of_work
from cityops.kit.errors import Forbidden, ProblemError
from cityops.kit.web import client_ip, sessionmaker_of

SESSION_COOKIE = "cityops_session"
_PASSWORD_ROUTES = frozenset({"/api/v1/auth/me", "/api/v1/auth/logout", "/api/v1/auth/password"})
_ENROLMENT_ROUTES = _PASSWORD_ROUTES | {
    "/api/v1/auth/totp",
    "/api/v1/auth/totp/enrol",
    "/api/v1/auth/totp/confirm",
}


class PrincipalCache:
    """Trust a verified token for a few seconds so hot reads skip the database."""

    def __init__(self, ttl_seconds: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        self._loads: dict[str, asyncio.Task[Principal | None]] = {}
        self._generation = 0  # moves on every forget, so a load begun before it is not kept

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

    async def resolve(
        self, digest: str, load: Callable[[], Awaitable[Principal | None]]
    ) -> Principal | None:
        """The cached principal, else the one `load` reads and the cache keeps.

        Requests that miss together share one load (when the entry of a busy token expires,
        one database read instead of one per request in flight). Without a TTL nothing is
        cached or shared: every request reads the database itself.
        """
        principal = self.get(digest)
        if principal is not None:
            return principal
        if self.ttl <= 0:
            return await load()
        task = self._loads.get(digest)
        if task is None:
            task = asyncio.create_task(self._load(digest, load))
            self._loads[digest] = task
            task.add_done_callback(partial(self._loaded, digest))
        return await asyncio.shield(task)  # a waiter that is cancelled leaves the load running

    async def _load(
        self, digest: str, load: Callable[[], Awaitable[Principal | None]]
    ) -> Principal | None:
        generation = self._generation
        principal = await load()
        if principal is not None and generation == self._generation:
            self.put(digest, principal)
        return principal

    def _loaded(self, digest: str, task: asyncio.Task[Principal | None]) -> None:
        if self._loads.get(digest) is task:
            del self._loads[digest]
        if not task.cancelled():
            task.exception()  # each waiter got it; do not report it again as never retrieved

    def forget_account(self, account_id: int) -> None:
        """Drop every cached token of an account (logout, password or role change)."""
        for digest in [d for d, (_, p) in self._entries.items() if p.account_id == account_id]:
            del self._entries[digest]
        self._forget_loads()

    def clear(self) -> None:
        """Drop everything."""
        self._entries.clear()
        self._forget_loads()

    def _forget_loads(self) -> None:
        # Loads in flight may have read the token before the change: later requests start anew.
        self._generation += 1
        self._loads.clear()


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
    if token is None:
        return None
    return await principal_for(request, token)


async def principal_for(request: Request, token: str) -> Principal | None:
    """The principal behind a token from anywhere, through the shared cache: the one lookup.

    A header or the session cookie (`optional_principal`), an Open311 `api_key` field, a map
    page's `?token=`: every caller resolves its token here, so each sees the same cache.
    """
    if len(token) > 200:
        return None
    cache: PrincipalCache = request.app.state.principal_cache

    async def load() -> Principal | None:
        settings: Settings = request.app.state.settings
        async with unit_of_work(sessionmaker_of(request)) as session:
            return await resolve_token(session, settings, token)

    principal = await cache.resolve(token_digest(token), load)
    # Checked on every request, not cached: the address is the request's, not the token's.
    if principal is not None and not principal.may_call_from(client_ip(request)):
        raise ProblemError(
            403,
            "address-not-allowed",
            "This API key may not be used from your address.",
        )
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
    if principal.must_enrol_totp and request.url.path not in _ENROLMENT_ROUTES:
        raise ProblemError(
            403,
            "totp-enrolment-required",
            "Your role signs in with two factors: enrol at POST /api/v1/auth/totp/enrol first.",
        )
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(*permissions: Perm) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that admits principals whose role holds any of `permissions`."""

    async def check(request: Request) -> Principal:
        # One dependency instead of the chain check → current_principal → optional_principal:
        # the same checks in the same order, two fewer dependencies for FastAPI to solve.
        principal = await current_principal(request, await optional_principal(request))
        if not any(principal.can(p) for p in permissions):
            wanted = " or ".join(p.value for p in permissions)
            raise Forbidden(f"your role ({principal.role}) lacks {wanted}")
        return principal

    return check

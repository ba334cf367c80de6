"""Token revocation reaches every worker at once: the principal cache, shared over the bus.

A worker that forgets an account's tokens (logout, password change, disable, role change)
tells the others with a fanout `TokensRevoked`; each drops the account's cached principals and
does not cache that account again for one cache lifetime. The last part closes a race: the
notice may arrive before the revoking request has committed, and a token read from the database
in that gap must not be trusted for the next few seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from fastapi import FastAPI

from cityops.auth.deps import PrincipalCache
from cityops.auth.principal import Principal
from cityops.bus.events import TokensRevoked
from cityops.kit.bus import InProcessBus
from cityops.kit.db import utcnow
from cityops.kit.events import Event

log = logging.getLogger(__name__)


class SharedPrincipalCache(PrincipalCache):
    """A principal cache whose forgetting is heard by every worker."""

    def __init__(
        self, ttl_seconds: float, max_entries: int, publish: Callable[[Event], Awaitable[None]]
    ) -> None:
        super().__init__(ttl_seconds, max_entries)
        self._publish = publish
        self._quiet: dict[int | None, float] = {}  # account → no caching until (monotonic)
        self._tasks: set[asyncio.Task[None]] = set()

    def put(self, digest: str, principal: Principal) -> None:
        """Cache, unless the account was revoked within the last cache lifetime."""
        now = time.monotonic()
        for account in (principal.account_id, None):
            if self._quiet.get(account, 0.0) > now:
                return
        super().put(digest, principal)

    def forget_account(self, account_id: int) -> None:
        """Drop the account here and tell every other worker."""
        self._drop(account_id)
        self._tell(account_id)

    def clear(self) -> None:
        """Drop everything here and in every other worker."""
        self._drop(None)
        self._tell(None)

    def _drop(self, account_id: int | None) -> None:
        self._quiet[account_id] = time.monotonic() + self.ttl
        if account_id is None:
            super().clear()
        else:
            super().forget_account(account_id)
        now = time.monotonic()
        for stale in [a for a, until in self._quiet.items() if until <= now]:
            del self._quiet[stale]

    def _tell(self, account_id: int | None) -> None:
        event = TokensRevoked(
            owner_code=None, key=str(uuid.uuid4()), occurred_at=utcnow(), account_id=account_id
        )
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # outside the server's loop (a script): nobody else to tell
            return
        task = loop.create_task(self._send(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, event: Event) -> None:
        try:
            await self._publish(event)
        except Exception:  # the others fall back to the cache lifetime
            log.exception("token revocation not broadcast")

    async def heard(self, event: TokensRevoked) -> None:
        """Another worker (or this one) revoked: drop here, without telling again."""
        self._drop(event.account_id)


def share_revocations(app: FastAPI) -> None:
    """On a network bus, replace the principal cache by one whose revocations every worker hears."""
    state = app.state
    if isinstance(state.bus, InProcessBus):
        return  # one process: its own cache is the only one
    old: PrincipalCache = state.principal_cache
    cache = SharedPrincipalCache(old.ttl, old.max_entries, state.bus.publish)
    state.principal_cache = cache
    state.bus.subscribe(TokensRevoked, cache.heard, fanout=True)

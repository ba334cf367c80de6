"""Sliding-window rate limits: in this process's memory, or in Redis shared by every worker.

Each key may be hit `limit` times within `window` seconds. `SlidingWindow` keeps the counts in
one process: with N worker processes a key may get up to N × limit through, the right trade for
one worker (nothing to run, nothing personal written anywhere). With `CITYOPS_REDIS_URL` set,
`RedisWindow` keeps one count per key for every worker (a sorted set of hit times per key,
trimmed and read in one atomic script). `window_for` picks one; both answer through the same
async `Limit` interface. Keys should not be personal data: callers hash them (`shared_salt`).
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from cityops.config import Settings


class Limit(Protocol):
    """What a caller needs of a rate limit, wherever its counts live."""

    async def wait(self, key: str) -> float:
        """Seconds until the key may be hit again; 0 when it may be now."""

    async def count(self, key: str) -> None:
        """Count one use of the key."""


class SlidingWindow:
    """At most `limit` hits per key within the last `window` seconds, in this process."""

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            return deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if not hits:
            del self._hits[key]
        return hits

    def retry_after(self, key: str) -> float:
        """Seconds until the key may be hit again; 0 when it may be now."""
        now = self.clock()
        hits = self._recent(key, now)
        if len(hits) < self.limit:
            return 0.0
        return max(hits[0] + self.window - now, 0.0)

    def hit(self, key: str) -> None:
        """Count one use of the key (the oldest keys are forgotten beyond max_keys)."""
        now = self.clock()
        hits = self._recent(key, now)
        hits.append(now)
        self._hits[key] = hits
        self._hits.move_to_end(key)
        while len(self._hits) > self.max_keys:
            self._hits.popitem(last=False)

    async def wait(self, key: str) -> float:
        """`retry_after`, through the shared interface."""
        return self.retry_after(key)

    async def count(self, key: str) -> None:
        """`hit`, through the shared interface."""
        self.hit(key)


# Trim the hits that left the window, then say how long until the key may be hit again.
_WAIT = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then return '0' end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tostring(math.max(tonumber(oldest[2]) + window - now, 0))
"""
# Count a hit; the key expires with its last hit's window.
_COUNT = """
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[3])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 1)
return 1
"""


class RedisWindow:
    """At most `limit` hits per key within `window` seconds, counted in Redis for every worker.

    Hit times come from the workers' clocks (`clock`, injectable for tests): workers of one
    deployment keep their clocks in step (NTP), as their logs already assume.
    """

    def __init__(
        self,
        client: Redis,
        name: str,
        limit: int,
        window: float,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.name = name
        self.limit = limit
        self.window = window
        self.clock = clock

    def _key(self, key: str) -> str:
        return f"{self.name}:{key}"

    async def wait(self, key: str) -> float:
        """Seconds until the key may be hit again; 0 when it may be now."""
        args = (self.clock(), self.window, self.limit)
        answer = await self.client.eval(_WAIT, 1, self._key(key), *args)
        return float(answer)

    async def count(self, key: str) -> None:
        """Count one use of the key."""
        args = (self.clock(), self.window, uuid.uuid4().hex)
        await self.client.eval(_COUNT, 1, self._key(key), *args)


def redis_client(url: str) -> Redis:
    """An asyncio Redis client (connections made on first use)."""
    from redis.asyncio import Redis

    return Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


def window_for(
    settings: Settings, client: Redis | None, name: str, limit: int, window: float
) -> Limit:
    """A Redis window when the deployment has Redis (`client`), else one in this process."""
    if client is None or not settings.redis_url:
        return SlidingWindow(limit, window)
    return RedisWindow(client, f"{settings.bus_prefix}:rl:{name}", limit, window)


async def shared_salt(client: Redis | None, name: str) -> bytes:
    """A random salt every worker shares (made once in Redis); one of this process without."""
    if client is None:
        return secrets.token_bytes(16)
    await client.set(name, secrets.token_hex(16), nx=True)
    found = await client.get(name)
    if not found:
        return secrets.token_bytes(16)
    return found if isinstance(found, bytes) else str(found).encode()

"""A sliding-window rate limit kept in this process's memory.

Each key may be hit `limit` times within `window` seconds. The counts live in one process: with
N worker processes a key may get up to N × limit through. That is the right trade for throttling
anonymous forms (no shared store to run, nothing personal written to disk); a deployment that
needs one exact count across workers puts the limit in the reverse proxy in front.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable


class SlidingWindow:
    """At most `limit` hits per key within the last `window` seconds."""

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

"""A notifier for unit tests and for running without WeChat: records notices, sends nothing.

It implements the same `Notifier` interface as the real adapters; the real adapters' wire
format is tested against a local HTTP server that plays WeChat's endpoints.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from cityops.notify.base import Notice, SendResult


class FakeTransport:
    """Remember every notice; answer with scripted results first, then success."""

    def __init__(self, channel: str = "wecom", script: Iterable[SendResult] = ()) -> None:
        self.channel = channel
        self.sent: list[Notice] = []
        self._script = deque(script)

    def fail_next(self, *results: SendResult) -> None:
        """Answer the next sends with these results (in order)."""
        self._script.extend(results)

    async def send(self, notice: Notice) -> SendResult:
        """Record the notice and answer the next scripted result, else success."""
        self.sent.append(notice)
        if self._script:
            return self._script.popleft()
        return SendResult(True, message_id=f"fake-{len(self.sent)}")

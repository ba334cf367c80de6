"""Transactions (RFC 3261 §17): retransmissions absorbed on the server, resent on the client.

Server side: a retransmitted request (same branch, method and Call-ID) is answered with the
response already sent, or ignored while the first copy is still being handled, so a REGISTER
or an alarm is acted on once. Client side: a request over UDP is resent at T1, 2·T1 … T2
until a final response or Timer F (64·T1).
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable

from cityops.video.sip.message import SipRequest, SipResponse
from cityops.video.sip.transport import Peer, SipEndpoint

T1 = 0.5
T2 = 4.0
TIMER_F = 64 * T1
#: How long a final response is kept for retransmissions (Timer J, 64·T1).
KEEP_SECONDS = 64 * T1
MAX_KEPT = 200_000


def new_branch() -> str:
    """A branch with the RFC 3261 magic cookie."""
    return f"z9hG4bK{secrets.token_hex(8)}"


def new_tag() -> str:
    """A From/To tag."""
    return secrets.token_hex(5)


class ServerTransactions:
    """Remembers the answer to each request for Timer J, keyed by branch, method and Call-ID."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._seen: OrderedDict[tuple[str, str, str], tuple[float, SipResponse | None]] = (
            OrderedDict()
        )

    @staticmethod
    def key(request: SipRequest) -> tuple[str, str, str]:
        return (request.branch, request.method, request.call_id)

    def begin(self, request: SipRequest) -> tuple[bool, SipResponse | None]:
        """(is_new, answer_to_resend): a new request is recorded as in progress."""
        self._expire()
        key = self.key(request)
        seen = self._seen.get(key)
        if seen is not None:
            return False, seen[1]
        self._seen[key] = (self.clock(), None)
        return True, None

    def answered(self, request: SipRequest, response: SipResponse) -> None:
        """Record the final response sent to a request."""
        if response.status >= 200:
            self._seen[self.key(request)] = (self.clock(), response)

    def _expire(self) -> None:
        now = self.clock()
        while self._seen:
            _key, (at, _) = next(iter(self._seen.items()))
            if now - at < KEEP_SECONDS and len(self._seen) < MAX_KEPT:
                break
            self._seen.popitem(last=False)

    def __len__(self) -> int:
        return len(self._seen)


class ClientTransactions:
    """Sends requests and waits for their final responses, retransmitting over UDP."""

    def __init__(self, endpoint: SipEndpoint) -> None:
        self.endpoint = endpoint
        self._waiting: dict[str, asyncio.Future[SipResponse]] = {}
        self._cseq = itertools.count(1)

    def next_cseq(self) -> int:
        """A CSeq number for a new out-of-dialog request."""
        return next(self._cseq)

    async def request(
        self, request: SipRequest, peer: Peer, give_up_after: float = TIMER_F
    ) -> SipResponse:
        """Send and wait for the final response; TimeoutError after Timer F."""
        branch = request.branch
        future: asyncio.Future[SipResponse] = asyncio.get_running_loop().create_future()
        self._waiting[branch] = future
        try:
            async with asyncio.timeout(give_up_after):
                interval = T1
                while True:
                    if not self.endpoint.send(request, peer):
                        raise ConnectionError(f"no connection to {peer}")
                    if peer.kind == "tcp":
                        return await future
                    done, _ = await asyncio.wait({future}, timeout=interval)
                    if done:
                        return future.result()
                    interval = min(interval * 2, T2)
        finally:
            self._waiting.pop(branch, None)

    def response(self, response: SipResponse) -> bool:
        """Deliver a response to its waiting request; False when none waits (a stray)."""
        future = self._waiting.get(response.branch)
        if future is None or future.done():
            return future is not None
        if response.status >= 200:
            future.set_result(response)
        return True

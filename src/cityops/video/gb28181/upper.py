"""The upper-platform role (上级平台, GB/T 28181-2016 §9): the district answers devices and town
platforms that register, keep alive, report catalogs and raise alarms.

Registration (§9.1.2): REGISTER without credentials → 401 with a digest challenge; with good
ones → 200 with `Date` (time sync, §9.10) and `Expires`; `Expires: 0` unregisters; a wrong
password → 403. Keepalive (§9.6): MESSAGE Notify/Keepalive; a device is offline after
`keepalive_misses` intervals without one, judged by `sweep()` with an injected clock.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from cityops.kit.ratelimit import SlidingWindow
from cityops.video.gb28181.catalog import CatalogCollector
from cityops.video.gb28181.config import PlatformConfig
from cityops.video.gb28181.ids import InvalidId, Kind, parse_id
from cityops.video.gb28181.manscdp import BadBody, read
from cityops.video.gb28181.queries import Queries
from cityops.video.gb28181.store import DeviceStore, Registration
from cityops.video.sip.digest import DigestServer
from cityops.video.sip.message import (
    SipParseError,
    SipRequest,
    SipResponse,
    param,
    response_to,
    routable_headers,
    uri_user,
)
from cityops.video.sip.transaction import ClientTransactions, ServerTransactions
from cityops.video.sip.transport import Peer, SipEndpoint

log = logging.getLogger(__name__)
CHINA = ZoneInfo("Asia/Shanghai")
REGISTERING_KINDS = {Kind.DEVICE, Kind.CHANNEL, Kind.PLATFORM}


@dataclass(slots=True)
class Session:
    """A registered device as the SIP side sees it (memory; the store keeps the record)."""

    device_id: str
    peer: Peer
    expires_at: float
    last_seen: float
    online: bool = True


class UpperPlatform:
    """Serves REGISTER and MESSAGE from devices and lower platforms on one SIP endpoint."""

    def __init__(
        self,
        config: PlatformConfig,
        store: DeviceStore,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.endpoint = SipEndpoint(config.host, config.port, self._on_message)
        self.endpoint.on_error = self._on_bad_message
        self.digest = DigestServer(config.domain, clock=clock)
        self.server = ServerTransactions()
        self.client = ClientTransactions(self.endpoint)
        self.catalogs = CatalogCollector(config.catalog_timeout)
        self.queries = Queries(self, self.client, self.catalogs)
        self.sessions: dict[str, Session] = {}
        self._keepalives: dict[str, datetime] = {}
        self._limit = SlidingWindow(config.register_limit, config.register_window)
        self._tasks: set[asyncio.Task[None]] = set()

    # --- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind UDP and TCP."""
        await self.endpoint.start()

    async def stop(self) -> None:
        """Close the sockets and cancel work in flight."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.endpoint.stop()

    @property
    def port(self) -> int:
        return self.endpoint.port

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a coroutine in the background, kept until it ends."""
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("video background task failed: %r", task.exception())

    def now(self) -> datetime:
        """The injected clock as an aware datetime."""
        return datetime.fromtimestamp(self.clock(), UTC)

    # --- dispatch --------------------------------------------------------------------------

    def _on_message(self, message: SipRequest | SipResponse, peer: Peer) -> None:
        """Responses go to the waiting transactions; requests to their handlers."""
        if isinstance(message, SipResponse):
            self.client.response(message)
            return
        new, resend = self.server.begin(message)
        if not new:
            if resend is not None:
                self.endpoint.send(resend, peer)
            return
        self.spawn(self._handle(message, peer))

    async def _handle(self, request: SipRequest, peer: Peer) -> None:
        """Answer one request; an unexpected failure is a 500, never a dead server."""
        try:
            if request.method == "REGISTER":
                response = await self._register(request, peer)
            elif request.method == "MESSAGE":
                response = await self._message(request, peer)
            elif request.method in ("OPTIONS", "ACK", "BYE", "CANCEL"):
                response = response_to(request, 200)
            else:
                response = response_to(request, 405)
                response.set("Allow", "REGISTER, MESSAGE, OPTIONS")
        except Exception:
            log.exception("video: %s from %s failed", request.method, peer)
            response = response_to(request, 500)
        if request.method == "ACK":
            return
        self.server.answered(request, response)
        self.endpoint.send(response, peer)

    def _on_bad_message(self, data: bytes, error: SipParseError, peer: Peer) -> None:
        """Answer a malformed request when its headers let us route an answer; else drop it."""
        log.info("video: malformed SIP from %s: %s", peer, error.reason)
        start, headers = routable_headers(data)
        request = SipRequest(headers, b"", start.split(" ", 1)[0], "")
        if start.startswith("SIP/") or any(request.header(h) is None for h in ("Via", "CSeq")):
            return
        response = response_to(request, error.status)
        response.set("Warning", f'399 cityops "{error.reason}"')
        self.endpoint.send(response, peer)

    # --- REGISTER --------------------------------------------------------------------------

    async def _register(self, request: SipRequest, peer: Peer) -> SipResponse:
        """Challenge, check, record or remove a registration."""
        if await self._limit.wait(peer.host) > 0:
            busy = response_to(request, 503)
            busy.set("Retry-After", str(max(1, int(self.config.register_window))))
            return busy
        await self._limit.count(peer.host)
        device_id = uri_user(request.header("From") or "")
        try:
            gb = parse_id(device_id)
        except InvalidId as exc:
            return warned(response_to(request, 400), f"From is not a GB/T 28181 code: {exc}")
        if gb.kind not in REGISTERING_KINDS:
            return warned(response_to(request, 403), f"a {gb.kind} code cannot register")
        credentials = request.header("Authorization")
        if credentials is None:
            return self._challenge(request)
        verdict = self.digest.verify(credentials, "REGISTER", device_id, self.config.password)
        if verdict.stale:
            return self._challenge(request, stale=True)
        if not verdict.ok:
            log.info("video: REGISTER of %s from %s refused: %s", device_id, peer, verdict.reason)
            return warned(response_to(request, 403), verdict.reason)
        expires = requested_expires(request)
        if expires is None:
            return warned(response_to(request, 400), "Expires is not a number")
        if expires == 0:
            return await self._unregister(request, device_id)
        if expires < self.config.min_expires:
            brief = response_to(request, 423)
            brief.set("Min-Expires", str(self.config.min_expires))
            return brief
        return await self._accept(request, peer, device_id, min(expires, self.config.max_expires))

    def _challenge(self, request: SipRequest, *, stale: bool = False) -> SipResponse:
        response = response_to(request, 401)
        response.set("WWW-Authenticate", self.digest.challenge(stale=stale))
        return response

    async def _unregister(self, request: SipRequest, device_id: str) -> SipResponse:
        self.sessions.pop(device_id, None)
        self._keepalives.pop(device_id, None)
        await self.store.unregistered(device_id, self.now())
        return self._ok(request, 0)

    async def _accept(
        self, request: SipRequest, peer: Peer, device_id: str, expires: int
    ) -> SipResponse:
        """Record the registration; a new one (not a refresh) is asked for its catalog."""
        now = self.clock()
        known = self.sessions.get(device_id)
        fresh = known is None or not known.online or known.peer != peer
        registration = Registration(
            device_id,
            peer.kind,
            peer.host,
            peer.port,
            expires,
            (request.header("User-Agent") or "")[:128],
            self.now(),
        )
        await self.store.registered(registration)
        self.sessions[device_id] = Session(device_id, peer, now + expires, now)
        if fresh and self.config.query_on_register:
            self.spawn(self.queries.after_register(device_id))
        return self._ok(request, expires)

    def _ok(self, request: SipRequest, expires: int) -> SipResponse:
        """200 with Date (GB/T 28181 time sync: local time, milliseconds, no zone)."""
        response = response_to(request, 200)
        local = datetime.fromtimestamp(self.clock(), CHINA)
        response.set(
            "Date", local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}"
        )
        response.set("Expires", str(expires))
        for contact in request.all("Contact"):
            response.headers.append(("Contact", contact))
        return response

    # --- MESSAGE ---------------------------------------------------------------------------

    async def _message(self, request: SipRequest, peer: Peer) -> SipResponse:
        """Keepalives, query answers and notifications from a registered device."""
        device_id = uri_user(request.header("From") or "")
        session = self.sessions.get(device_id)
        if session is None:
            return warned(response_to(request, 403), "not registered: REGISTER first")
        try:
            command = read(request.body)
        except BadBody as exc:
            return warned(response_to(request, 400), str(exc))
        session.last_seen = self.clock()
        if not session.online:
            session.online = True
            await self.store.registered(self._re_registration(session))
        if command.cmd_type == "Keepalive":
            self._keepalives[device_id] = self.now()
        elif command.cmd_type == "Alarm" and command.root == "Notify":
            await self.store.alarm(device_id, command)
        elif command.root == "Response":
            self.queries.answer(device_id, command)
        return response_to(request, 200)

    def _re_registration(self, session: Session) -> Registration:
        """A device back online within its registration, as a Registration record."""
        remaining = max(0, int(session.expires_at - self.clock()))
        peer = session.peer
        return Registration(
            session.device_id, peer.kind, peer.host, peer.port, remaining, "", self.now()
        )

    # --- keepalive sweep -------------------------------------------------------------------

    async def sweep(self) -> list[str]:
        """Flush keepalives to the store and take late devices offline; the IDs gone offline."""
        seen, self._keepalives = self._keepalives, {}
        if seen:
            await self.store.seen(seen)
        now = self.clock()
        limit = self.config.keepalive_interval * self.config.keepalive_misses
        expired = [s.device_id for s in self.sessions.values() if now > s.expires_at]
        for device_id in expired:  # must register again: its keepalives get 403 from now on
            self.sessions.pop(device_id)
        late = [
            s.device_id for s in self.sessions.values() if s.online and now - s.last_seen > limit
        ]
        for device_id in late:
            self.sessions[device_id].online = False
        late += expired
        if late:
            await self.store.offline(late, self.now())
        return late

    async def run_sweeps(self, every: float) -> None:
        """Sweep forever at an interval (the start hook runs this)."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.sweep()
            except Exception:
                log.exception("video: keepalive sweep failed")


def requested_expires(request: SipRequest) -> int | None:
    """The Expires of a REGISTER (header, else the Contact's parameter, else 3600)."""
    value = request.header("Expires")
    if value is None:
        contact = request.header("Contact") or ""
        value = param(contact, "expires") or "3600"
    value = value.strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


def warned(response: SipResponse, reason: str) -> SipResponse:
    """Say why in a Warning header (RFC 3261 §20.43, code 399: miscellaneous)."""
    clean = reason.replace('"', "'").replace("\r", " ").replace("\n", " ")[:200]
    response.set("Warning", f'399 cityops "{clean}"')
    return response

"""SIP over UDP and TCP (RFC 3261 §18): one endpoint, one callback for every parsed message.

TCP is framed by Content-Length (mandatory on streams, §18.3), with the same size caps as UDP;
a peer that exceeds them is answered 413 (when it can be) and disconnected. A TCP peer is
reached again over the connection it opened, as GB/T 28181 devices expect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from cityops.video.sip.message import (
    MAX_MESSAGE_BYTES,
    SipParseError,
    SipRequest,
    SipResponse,
    parse,
)

log = logging.getLogger(__name__)

Kind = Literal["udp", "tcp"]


@dataclass(frozen=True, slots=True)
class Peer:
    """Where a message came from and where its answer goes."""

    kind: Kind
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.kind}:{self.host}:{self.port}"


MessageHandler = Callable[[SipRequest | SipResponse, Peer], None]
ErrorHandler = Callable[[bytes, SipParseError, Peer], None]


class _Udp(asyncio.DatagramProtocol):
    """Hands every datagram to the endpoint."""

    def __init__(self, endpoint: SipEndpoint) -> None:
        self.endpoint = endpoint

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.endpoint.received(data, Peer("udp", addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:
        log.debug("UDP error: %r", exc)


class SipEndpoint:
    """Listens on UDP and TCP at one address; sends to peers on the transport they used."""

    def __init__(self, host: str, port: int, on_message: MessageHandler) -> None:
        self.host = host
        self.port = port
        self.on_message = on_message
        self.on_error: ErrorHandler | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._streams: dict[tuple[str, int], asyncio.StreamWriter] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, *, udp: bool = True, tcp: bool = True) -> None:
        """Bind the sockets; port 0 picks a port free for both UDP and TCP."""
        wanted = self.port
        for attempt in range(20):
            try:
                await self._bind(udp=udp, tcp=tcp)
                return
            except OSError:
                if wanted != 0 or attempt == 19:
                    raise
                if self._udp is not None:
                    self._udp.close()
                    self._udp = None
                self.port = 0

    async def _bind(self, *, udp: bool, tcp: bool) -> None:
        loop = asyncio.get_running_loop()
        if udp:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Udp(self), local_addr=(self.host, self.port)
            )
            self._udp = transport
            self.port = transport.get_extra_info("sockname")[1]
        if tcp:
            self._tcp = await asyncio.start_server(
                self._serve_stream, self.host, self.port, limit=MAX_MESSAGE_BYTES
            )

    async def stop(self) -> None:
        """Close every socket and connection."""
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
        for writer in list(self._streams.values()):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._tcp is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._tcp.wait_closed(), 5)

    def received(self, data: bytes, peer: Peer) -> None:
        """Parse and dispatch one message; a bad one goes to the error handler."""
        if not data.strip():
            return  # a keep-alive CRLF (RFC 5626 §3.5.1)
        try:
            message = parse(data)
        except SipParseError as exc:
            if self.on_error is not None:
                self.on_error(data, exc, peer)
            return
        try:
            self.on_message(message, peer)
        except Exception:
            log.exception("SIP handler failed for a message from %s", peer)

    def send(self, message: SipRequest | SipResponse, peer: Peer) -> bool:
        """Send to a peer; False when a TCP peer has no open connection."""
        data = message.to_bytes()
        if peer.kind == "udp":
            if self._udp is None:
                return False
            self._udp.sendto(data, (peer.host, peer.port))
            return True
        writer = self._streams.get((peer.host, peer.port))
        if writer is None or writer.is_closing():
            return False
        writer.write(data)
        return True

    async def connect(self, host: str, port: int) -> Peer:
        """Open a TCP connection to a server (client role); its messages come to on_message."""
        reader, writer = await asyncio.open_connection(host, port, limit=MAX_MESSAGE_BYTES)
        peer = Peer("tcp", host, port)
        self._streams[(host, port)] = writer
        task = asyncio.ensure_future(self._read_stream(reader, writer, peer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return peer

    def connected(self, peer: Peer) -> bool:
        """Whether a TCP peer's connection is open (UDP peers always are)."""
        return peer.kind == "udp" or (peer.host, peer.port) in self._streams

    async def _serve_stream(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Read Content-Length-framed messages from one TCP connection until it closes."""
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        host, port = writer.get_extra_info("peername")[:2]
        peer = Peer("tcp", host, port)
        self._streams[(host, port)] = writer
        try:
            await self._read_stream(reader, writer, peer)
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def _read_stream(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Peer
    ) -> None:
        try:
            while (data := await read_framed(reader, peer, self)) is not None:
                self.received(data, peer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._streams.pop((peer.host, peer.port), None)
            writer.close()


async def read_framed(
    reader: asyncio.StreamReader, peer: Peer, endpoint: SipEndpoint
) -> bytes | None:
    """One message from a stream; None at EOF or when the peer broke the framing."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        _refuse(endpoint, peer, b"", SipParseError("header block too large", 413))
        return None
    except asyncio.IncompleteReadError:
        return None
    head = head.lstrip(b"\r\n")
    if not head.strip():
        return b""  # CRLF keep-alives between messages
    length = _declared_length(head)
    if length is None or length > MAX_MESSAGE_BYTES - len(head):
        error = SipParseError("Content-Length missing or too large on a stream", 413)
        _refuse(endpoint, peer, head, error)
        return None
    body = await reader.readexactly(length) if length else b""
    return head + body


def _declared_length(head: bytes) -> int | None:
    """The Content-Length of a header block (compact `l:` too), None when absent or bad."""
    for line in head.split(b"\r\n"):
        name, colon, value = line.partition(b":")
        if colon and name.strip().lower() in (b"content-length", b"l"):
            value = value.strip()
            return int(value) if value.isdigit() else None
    return None


def _refuse(endpoint: SipEndpoint, peer: Peer, head: bytes, error: SipParseError) -> None:
    """Let the error handler answer what it can before the connection closes."""
    if endpoint.on_error is not None:
        endpoint.on_error(head, error, peer)

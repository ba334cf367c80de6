"""A real HTTP server on 127.0.0.1 in a thread that records requests and can misbehave.

The outbox's receivers in tests: a 12345 system's callback endpoint, or (subclassed in
tests/notify/wechat_peer.py) WeChat's endpoints. Nothing is mocked: the platform's HTTP client
opens real sockets to it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson


@dataclass(frozen=True)
class Seen:
    """One request the peer received, and what it answered."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    status: int
    hung: bool = False  # held past the client's patience: it answered to nobody
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        """The body as JSON."""
        return orjson.loads(self.body)


Reply = tuple[int, bytes]


class Peer:
    """Answer 200 unless told otherwise: fail the next N with a status, or hang past a timeout."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        self.script: deque[tuple[str, float]] = deque()  # ("status", code) | ("hang", seconds)
        self.delay = 0.0  # seconds before every answer (to make concurrency overlap)
        self.hangs_over = threading.Event()  # lets hung requests answer before their time
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        """http://127.0.0.1:<port>"""
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str = "/callback") -> str:
        """A URL on this peer."""
        return f"{self.base}{path}"

    def fail_next(self, count: int, status: int = 503) -> None:
        """Answer the next `count` requests with `status`."""
        with self.lock:
            self.script.extend(("status", status) for _ in range(count))

    def hang_next(self, count: int, seconds: float) -> None:
        """Hold the next `count` requests for `seconds` (or until `end_hangs`), then answer 200."""
        with self.lock:
            self.hangs_over.clear()
            self.script.extend(("hang", seconds) for _ in range(count))

    def end_hangs(self) -> None:
        """Let every hung request answer now."""
        self.hangs_over.set()

    def reset(self) -> None:
        """Forget what was received and scripted."""
        with self.lock:
            self.seen.clear()
            self.script.clear()
            self.delay = 0.0

    def received(self, path: str | None = None, status: int | None = 200) -> list[Seen]:
        """Requests (to a path), by default those answered 200, in arrival order."""
        with self.lock:
            return [
                s
                for s in self.seen
                if (path is None or s.path == path) and (status is None or s.status == status)
            ]

    def wait_for(self, count: int, timeout: float = 60.0, status: int | None = 200) -> list[Seen]:
        """The received requests once there are at least `count` (a hung one lands late).

        `timeout` only guards against a hang: a busy machine may take its time.
        """
        deadline = time.monotonic() + timeout
        while len(found := self.received(status=status)) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return found

    def answer(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
        """The reply to one request; subclasses play other services."""
        return 200, b'{"ok":true}'

    def _next_action(self) -> tuple[str, float] | None:
        with self.lock:
            return self.script.popleft() if self.script else None

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        parts = urlsplit(handler.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        action = self._next_action()
        if self.delay:
            time.sleep(self.delay)
        if action is not None and action[0] == "hang":
            self.hangs_over.wait(action[1])
        if action is not None and action[0] == "status":
            status, reply = int(action[1]), b'{"error":"scripted"}'
        else:
            status, reply = self.answer(handler.command, parts.path, query, body)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self.lock:
            hung = action is not None and action[0] == "hang"
            self.seen.append(Seen(handler.command, parts.path, query, headers, body, status, hung))
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(reply)))
            handler.end_headers()
            handler.wfile.write(reply)
        except OSError:  # the client gave up (a hang past its timeout)
            pass

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                peer._handle(self)

            def do_POST(self) -> None:
                peer._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        return Handler

    def start(self) -> Peer:
        """Serve in a background thread."""
        self.thread.start()
        return self

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def running(peer: Peer) -> Iterator[Peer]:
    """Serve a peer for the duration of a block."""
    peer.start()
    try:
        yield peer
    finally:
        peer.close()

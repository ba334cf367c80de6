"""The real NATS server (JetStream) at 127.0.0.1:4222, a fresh stream prefix per test, a proxy."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import nats
import pytest

from cityops.kit.jetstream.names import Names, delete_streams
from tests.real_server import unavailable

T = TypeVar("T")
NATS_URL = os.environ.get("CITYOPS_TEST_NATS_URL", "nats://127.0.0.1:4222")


def _reachable(url: str) -> bool:
    host, _, port = url.rsplit("/", 1)[-1].partition(":")
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex((host, int(port or 4222))) == 0


@pytest.fixture(scope="session")
def nats_url() -> str:
    """The server's URL; a missing server fails under CI=true and skips elsewhere."""
    if not _reachable(NATS_URL):
        unavailable(f"no NATS server at {NATS_URL}")
    return NATS_URL


@pytest.fixture
def names(nats_url: str) -> Iterator[Names]:
    """A prefix of this test's own (parallel runs never meet); its streams removed after."""
    found = Names(f"t{uuid.uuid4().hex[:12]}")
    yield found

    async def clean() -> None:
        nc = await nats.connect(nats_url)
        try:
            await delete_streams(nc.jetstream(), found)
        finally:
            await nc.close()

    asyncio.run(clean())


async def until(check: Callable[[], bool], what: str, hang_guard: float = 60.0) -> None:
    """Wait for a condition that events make true; the guard only stops a hang."""
    async with asyncio.timeout(hang_guard):
        while not check():  # noqa: ASYNC110 - the handlers are other tasks of this loop
            await asyncio.sleep(0.01)
    assert check(), what


def run(work: Callable[[], Awaitable[T]]) -> T:
    """Run one async scenario."""
    return asyncio.run(work())  # type: ignore[arg-type]


class Proxy:
    """Forward 127.0.0.1:<port> to the server; `cut` drops every link and refuses new ones."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        """The URL clients connect to."""
        return f"nats://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen (on a free port the first time, on the same one after a cut)."""
        self._server = await asyncio.start_server(self._link, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Stop listening and close every open link, both ends."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._links):
            writer.close()
        self._links.clear()

    async def _link(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(*self.target)
        self._links |= {client_w, server_w}
        await asyncio.gather(_pipe(client_r, server_w), _pipe(server_r, client_w))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()

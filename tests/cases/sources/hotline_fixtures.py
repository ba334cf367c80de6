"""A cityops app wired to a 12345 system's callback endpoint and to WeChat, all on 127.0.0.1.

The app is a real one (its own settings: the hotline systems, the callback allowlist, WeCom and
the official account pointed at a local server playing WeChat); the receivers are real HTTP
servers in threads. The outbox dispatcher the lifespan starts is stopped so tests drive it,
with the case clock, pass by pass. Test modules load this file with
`pytest_plugins = ["tests.cases.sources.hotline_fixtures"]`, so each fixture exists once.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from cityops.app import create_app
from cityops.cases.flow.env import CaseEnv
from cityops.outbox.runtime import OutboxRuntime
from tests.auth.conftest import bearer
from tests.cases.conftest import FakeClock, in_db
from tests.cases.sources.hotline_support import (
    HANDLER,
    SHESHAN,
    START,
    SYSTEM,
    UNSIGNED,
    Hotline,
    accounts,
    hotline_settings,
)
from tests.conftest import PASSWORD, Backend, Login
from tests.http_peer import Peer
from tests.notify.wechat_peer import WeChatPeer


@pytest.fixture(scope="session")
def callback_peer() -> Iterator[Peer]:
    """The 12345 system's callback endpoint."""
    peer = Peer().start()
    yield peer
    peer.close()


@pytest.fixture(scope="session")
def wechat_peer() -> Iterator[WeChatPeer]:
    """WeCom and the official account."""
    peer = WeChatPeer().start()
    yield peer
    peer.close()


@pytest.fixture(scope="session")
def hotline_world(
    backend: Backend, callback_peer: Peer, wechat_peer: WeChatPeer
) -> Iterator[Hotline]:
    """One app per backend with the hotline configuration; its dispatcher is driven by tests."""
    ids = in_db(backend, accounts)
    settings = hotline_settings(backend, callback_peer, wechat_peer)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        state = client.app.state  # type: ignore[attr-defined]
        runtime: OutboxRuntime = state.outbox
        started = runtime.dispatcher.running
        client.portal.call(runtime.dispatcher.stop)  # type: ignore[union-attr]
        env: CaseEnv = state.cases
        clock = FakeClock(START)
        env.clock = clock
        login = Login(client)
        keys = {}
        for name in (SYSTEM, SHESHAN, UNSIGNED):
            reply = client.post(
                f"/api/v1/accounts/{ids[name]}/api-keys",
                json={"name": f"{name} 接口"},
                headers=login.headers("t_security"),
            )
            assert reply.status_code == 201, reply.text
            keys[name] = bearer(reply.json()["secret"])
        reply = client.post("/api/v1/auth/login", json={"username": HANDLER, "password": PASSWORD})
        client.cookies.clear()
        assert reply.status_code == 200, reply.text
        keys[HANDLER] = bearer(reply.json()["access_token"])
        yield Hotline(client, env, runtime, clock, callback_peer, wechat_peer, login, keys, started)


@pytest.fixture
def hotline(hotline_world: Hotline) -> Iterator[Hotline]:
    """The hotline world with clean receivers and the clock at a Monday morning."""
    hotline_world.peer.reset()
    hotline_world.wechat.reset()
    hotline_world.clock.set(START)
    yield hotline_world
    hotline_world.drain()

"""GET /api/v1/overview/{code}/stream against a real server on 127.0.0.1, on both backends.

A real uvicorn server runs the app in a thread; httpx reads the event stream as a browser's
EventSource would, while cases are opened through the same server's API.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn

from cityops.app import create_app
from cityops.overview import live
from tests.conftest import PASSWORD, Backend
from tests.overview.conftest import SHESHAN_COMMUNITY, SIJING_COMMUNITY
from tests.real_server import free_port

TIMEOUT = httpx.Timeout(20.0)


@dataclass
class Served:
    """A server in a thread: its base URL and its app."""

    base: str
    app: Any

    def login(self, username: str) -> dict[str, str]:
        """Bearer headers of a test account on this server."""
        reply = httpx.post(
            f"{self.base}/api/v1/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert reply.status_code == 200, reply.text
        return {"Authorization": f"Bearer {reply.json()['access_token']}"}

    def watchers(self) -> int:
        """How many streams the server holds open."""
        return len(self.app.state.overview.broker)


@contextmanager
def serve(backend: Backend) -> Iterator[Served]:
    """Run cityops on the backend's database in a uvicorn server on a free port."""
    settings = backend.settings.model_copy(
        update={"overview_refresh_seconds": 5.0, "scheduler": False}
    )
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="module")
def served(backend: Backend) -> Iterator[Served]:
    """A real server per backend for this module."""
    with serve(backend) as running:
        yield running


def events(reply: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event, data) pairs of a Server-Sent Events body; comments and retry lines skipped."""
    name, data = "message", ""
    for line in reply.iter_lines():
        if line == "":
            if data:
                yield name, json.loads(data)
            name, data = "message", ""
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()


def next_change(stream: Iterator[tuple[str, dict[str, Any]]], reason: str) -> dict[str, Any]:
    """The next `change` whose reason names a subject (other changes are skipped)."""
    for name, data in stream:
        if name == "change" and reason in data["reason"]:
            return data
    raise AssertionError("the stream ended")


def open_case(served: Served, headers: dict[str, str], org_code: str) -> int:
    """Open a grid case through the server's API (a duty officer may not claim 12345)."""
    body = {
        "source": "grid",
        "source_key": f"stream-{uuid.uuid4().hex}",
        "category": "component:0101",
        "text": "实时推送测试",
        "org_code": org_code,
    }
    reply = httpx.post(f"{served.base}/api/v1/cases", json=body, headers=headers)
    assert reply.status_code == 201, reply.text
    case_id: int = reply.json()["id"]
    return case_id


def test_a_new_case_reaches_the_screens_of_its_areas(served: Served) -> None:
    duty = served.login("t_duty")
    url = f"{served.base}/api/v1/overview/310117102/stream"
    with httpx.stream("GET", url, headers=duty, timeout=TIMEOUT) as reply:
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/event-stream")
        assert reply.headers["cache-control"] == "no-cache"
        stream = events(reply)
        first = next_change(stream, "connect")
        assert first["code"] == "310117102"
        assert set(first["parts"]) == {
            "city_operation", "multigrid", "event_flow", "video", "map", "dispatch"
        }  # fmt: skip
        assert served.watchers() == 1
        case_id = open_case(served, duty, SIJING_COMMUNITY)
        # Pushed by the case's event: a periodic refresh names "refresh", never the subject.
        change = next_change(stream, "case.created")
        assert "event_flow" in change["parts"]
        # The parts it names now show the case.
        fresh = httpx.get(
            f"{served.base}/api/v1/overview/310117102",
            params={"parts": "event_flow"},
            headers=duty,
        ).json()
        assert fresh["parts"]["event_flow"]["data"]["recent"][0]["id"] == case_id
    # The client went away: the server forgets the stream.
    deadline = time.monotonic() + 10
    while served.watchers() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert served.watchers() == 0


def test_a_case_elsewhere_does_not_wake_the_screen(served: Served) -> None:
    duty = served.login("t_duty")
    url = f"{served.base}/api/v1/overview/310117102/stream"
    with httpx.stream("GET", url, headers=duty, timeout=TIMEOUT) as reply:
        stream = events(reply)
        next_change(stream, "connect")
        open_case(served, duty, SHESHAN_COMMUNITY)
        open_case(served, duty, SIJING_COMMUNITY)
        change = next_change(stream, "case.created")
        # One notice for the 泗泾 case; the 佘山 case before it woke nobody here.
        assert change["reason"] == ["case.created"]
        assert served.app.state.overview.broker.publish({"310117103"}, "probe") == 0


def test_streams_are_refused_before_they_start(served: Served) -> None:
    sijing = served.login("t_sijing")
    for code, headers, status, slug in (
        ("310117103", sijing, 403, "out-of-scope"),
        ("310117", sijing, 403, "out-of-scope"),
        ("310117102", {}, 401, "unauthenticated"),
        ("310117999", sijing, 404, "not-found"),
        ("nope", sijing, 422, "validation"),
    ):
        reply = httpx.get(f"{served.base}/api/v1/overview/{code}/stream", headers=headers)
        assert reply.status_code == status, reply.text
        assert reply.headers["content-type"] == "application/problem+json"
        assert reply.json()["type"] == f"/problems/{slug}"
    assert served.watchers() == 0


def test_a_stream_ends_when_its_session_does(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "RECHECK_SECONDS", 0.0)
    sijing = served.login("t_sijing")
    duty = served.login("t_duty")
    url = f"{served.base}/api/v1/overview/310117102/stream"
    with httpx.stream("GET", url, headers=sijing, timeout=TIMEOUT) as reply:
        stream = events(reply)
        next_change(stream, "connect")
        assert httpx.post(f"{served.base}/api/v1/auth/logout", headers=sijing).status_code == 204
        open_case(served, duty, SIJING_COMMUNITY)  # wakes the stream, which checks its session
        name, data = next((n, d) for n, d in stream if n != "change")
        assert (name, data) == ("end", {"reason": "session"})

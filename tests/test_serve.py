"""`cityops serve` as a real process on a real port, spoken to over TCP with httpx."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory

from cityops import __version__
from cityops.kit.migrate import alembic_config, module_versions
from tests.real_server import free_port

CITYOPS = shutil.which("cityops", path=str(Path(sys.executable).parent)) or "cityops"
PASSWORD = "Serve-Passw0rd!"
STARTUP_SECONDS = 120


@dataclass
class Server:
    """A running `cityops serve` process."""

    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def output(self) -> str:
        """What the server logged so far."""
        return self.log.read_text("utf-8", errors="replace")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Migrate, seed and open an account with the CLI, then serve on a free port."""
    folder = tmp_path_factory.mktemp("serve")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYOPS_")}
    env["CITYOPS_DATABASE_URL"] = f"sqlite+aiosqlite:///{folder / 'cityops.db'}"

    def cli(*args: str, stdin: str = "") -> None:
        done = subprocess.run(
            [CITYOPS, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            cwd=folder,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, (args, done.stdout, done.stderr)

    cli("migrate")
    cli("seed")
    cli(
        "user",
        "create",
        "operator",
        "--role",
        "town_operator",
        "--org",
        "310117102",
        stdin=PASSWORD + "\n",
    )

    port = free_port()
    log = folder / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [CITYOPS, "serve", "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=folder,
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert process.poll() is None, f"the server exited early:\n{server.output()}"
            try:
                if httpx.get(f"{server.base_url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"not ready in time:\n{server.output()}"
            time.sleep(0.2)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    """A real HTTP client over TCP."""
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client


def test_healthz_and_readyz(http: httpx.Client) -> None:
    health = http.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "version": __version__}
    ready = http.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    config = alembic_config("sqlite://", module_versions())
    heads = sorted(ScriptDirectory.from_config(config).get_heads())
    assert body["ready"] is True and body["database"] == "ok"
    assert body["schema"] == " ".join(heads) and "auth0002" in heads
    assert body["org_units"] > 2000


def test_login_and_read_the_org_tree_over_tcp(http: httpx.Client) -> None:
    reply = http.post("/api/v1/auth/login", json={"username": "operator", "password": PASSWORD})
    assert reply.status_code == 200, reply.text
    assert reply.json()["must_change_password"] is False
    token = reply.json()["access_token"]
    assert reply.cookies.get("cityops_session") == token
    http.cookies.clear()
    headers = {"Authorization": f"Bearer {token}"}

    children = http.get("/api/v1/org/310117102/children", headers=headers)
    assert children.status_code == 200
    assert children.json()["total"] == 42
    assert all(item["code"].startswith("310117102") for item in children.json()["items"])
    district = http.get("/api/v1/org/310117/children", headers=headers).json()
    assert [item["code"] for item in district["items"]] == ["310117102"]
    other = http.get("/api/v1/org/310117103/children", headers=headers)
    assert other.status_code == 403
    assert other.headers["content-type"] == "application/problem+json"

    me = http.get("/api/v1/auth/me", headers=headers).json()
    assert me["account"]["username"] == "operator"
    assert http.post("/api/v1/auth/logout", headers=headers).status_code == 204
    # Logout takes effect at once, even with the principal cache of a real process.
    assert http.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_wrong_password_over_tcp_is_a_problem(http: httpx.Client, server: Server) -> None:
    reply = http.post(
        "/api/v1/auth/login", json={"username": "operator", "password": "Nope-Passw0rd!"}
    )
    assert reply.status_code == 401
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["type"] == "/problems/invalid-credentials"


def test_docs_and_openapi(http: httpx.Client) -> None:
    docs = http.get("/docs")
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    assert "swagger" in docs.text.lower() and "/openapi.json" in docs.text
    spec = http.get("/openapi.json")
    assert spec.status_code == 200
    document = spec.json()
    assert document["info"]["title"] == "cityops"
    assert document["info"]["version"] == __version__
    for path in (
        "/api/v1/auth/login",
        "/api/v1/auth/me",
        "/api/v1/accounts",
        "/api/v1/audit",
        "/api/v1/org/{code}",
        "/api/v1/org/{code}/children",
        "/api/v1/org/grids/import",
        "/healthz",
        "/readyz",
    ):
        assert path in document["paths"], path


def test_the_server_terminates_cleanly(server: Server, http: httpx.Client) -> None:
    assert server.process.poll() is None
    server.process.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal it caught as its exit status.
    assert server.process.wait(timeout=20) in (0, -signal.SIGTERM)
    output = server.output()
    assert "Application startup complete" in output
    assert "Application shutdown complete" in output
    assert f"Finished server process [{server.process.pid}]" in output
    assert "Traceback" not in output
    with pytest.raises(httpx.TransportError):
        http.get("/healthz")

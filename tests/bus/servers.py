"""Real `cityops serve` worker processes on one database and one NATS server."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from cityops.kit.jetstream import Names
from tests.conftest import PASSWORD, Backend
from tests.real_server import cityops_command, free_port, wait_ready


@dataclass
class Worker:
    """One server process and its base URL."""

    base: str
    process: subprocess.Popen[bytes]

    def login(self, username: str) -> dict[str, str]:
        """Bearer headers of a test account."""
        reply = httpx.post(
            f"{self.base}/api/v1/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert reply.status_code == 200, reply.text
        return {"Authorization": f"Bearer {reply.json()['access_token']}"}


def worker_env(backend: Backend, names: Names, nats_url: str, **extra: str) -> dict[str, str]:
    """The environment of a worker on the test database and this test's stream prefix."""
    return {
        **os.environ,
        "CITYOPS_DATABASE_URL": backend.settings.database_url,
        "CITYOPS_BUS_URL": nats_url,
        "CITYOPS_BUS_PREFIX": names.prefix,
        "CITYOPS_SCHEDULER": "false",
        "CITYOPS_OUTBOX_INTERVAL_SECONDS": "0.5",
        **extra,
    }


@contextmanager
def worker(env: dict[str, str], workdir: Path, label: str, *args: str) -> Iterator[Worker]:
    """Start `cityops serve [args]` with `env`; stop it after (unless the test killed it)."""
    base = f"http://127.0.0.1:{free_port()}"
    with (workdir / f"{label}.log").open("wb") as log:
        process = subprocess.Popen(
            [cityops_command(), "serve", "--port", base.rsplit(":", 1)[1], *args],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=log,
        )
        try:
            wait_ready(base, process)
            yield Worker(base, process)
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)

"""Revocation on every worker: a second `cityops serve` process refuses on its next request.

Grants are read from the database on every request (no cache), so the second worker needs no
notice: the request after the revoking commit is refused. The test measures that it is within
1 s of the revocation's reply, and never sleeps.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from cityops.sharing import KindRegistry
from tests.conftest import Backend, Login
from tests.real_server import cityops_command, free_port, wait_ready
from tests.sharing.conftest import SIJING_UNITS, act, apply

CHECK = "/api/v1/sharing/check"


@pytest.fixture
def second_worker(backend: Backend, tmp_path: Path) -> Iterator[str]:
    """A real `cityops serve` process on the same database as the shared app; its base URL."""
    env = {**os.environ, "CITYOPS_DATABASE_URL": backend.settings.database_url}
    base = f"http://127.0.0.1:{free_port()}"
    with (tmp_path / "worker.log").open("wb") as log:
        process = subprocess.Popen(
            [cityops_command(), "serve", "--port", base.rsplit(":", 1)[1]],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=log,
        )
        try:
            wait_ready(base, process)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)


def test_a_revoked_grant_is_refused_by_both_workers_on_the_next_request(
    client: TestClient,
    login: Login,
    kinds: KindRegistry,
    no_live_test_grants: None,
    second_worker: str,
) -> None:
    made = apply(client, login)
    assert act(client, login, "t_duty", made["id"], "approve").status_code == 200
    asked = {"kind": "test.unit", "resource_id": SIJING_UNITS[0], "key": "water_level"}
    headers = login.headers("t_sheshan")
    with httpx.Client(base_url=second_worker, timeout=30) as worker:
        before = worker.get(CHECK, params=asked, headers=headers)
        assert before.status_code == 200, before.text
        assert before.json()["allowed"] is True
        assert (
            before.json()["grant_id"]
            in act(client, login, "t_duty", made["id"], "revoke", reason="演练：收回").json()[
                "grant_ids"
            ]
        )
        revoked_at = time.monotonic()
        after = worker.get(CHECK, params=asked, headers=headers)
        took = time.monotonic() - revoked_at
    assert after.status_code == 200 and after.json() == {
        "allowed": False,
        "grant_id": None,
        "expires_at": None,
    }
    assert took < 1.0, f"the second worker refused {took:.3f} s after the revocation"
    here = client.get(CHECK, params=asked, headers=headers)
    assert here.json()["allowed"] is False

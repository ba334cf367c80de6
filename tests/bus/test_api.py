"""GET /api/v1/bus/health on the in-process bus (the default): who may see it, what it says."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import Login


def test_the_district_operator_sees_the_in_process_bus(client: TestClient, login: Login) -> None:
    reply = client.get("/api/v1/bus/health", headers=login.headers("t_admin"))
    assert reply.status_code == 200, reply.text
    assert reply.json() == {
        "adapter": "in-process",
        "connected": True,
        "server": None,
        "stream": None,
        "consumers": [],
        "dead_letters": 0,
        "error": None,
    }


def test_readiness_reports_the_bus(client: TestClient) -> None:
    reply = client.get("/readyz")
    assert reply.status_code == 200
    assert reply.json()["bus"] == {"adapter": "in-process", "connected": True}

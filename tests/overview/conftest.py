"""Helpers of the overview tests: reading overviews and opening cases through the real API."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.cases.sources.conftest import make_system
from tests.conftest import Backend, Login

OVERVIEW = "/api/v1/overview"
#: A community of 泗泾镇 and one of 佘山镇.
SIJING_COMMUNITY = "310117102001"
SHESHAN_COMMUNITY = "310117103001"
_serial = itertools.count()


def overview(
    client: TestClient, login: Login, who: str, code: str, **params: str
) -> tuple[dict[str, Any], httpx.Response]:
    """An overview as an account reads it, and the reply."""
    reply = client.get(f"{OVERVIEW}/{code}", params=params, headers=login.headers(who))
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body, reply


@pytest.fixture(scope="session")
def hotline(client: TestClient, backend: Backend, login: Login) -> dict[str, str]:
    """The bearer header of a 12345 system client: only a system may claim source 12345."""
    return make_system(client, backend, login, "310117", "ov_hotline", ("hotline_12345",)).headers


def open_case(
    client: TestClient,
    login: Login,
    org_code: str,
    source: str = "grid",
    headers: dict[str, str] | None = None,
) -> int:
    """Open a case placed by its community code (no point), as the district officer by default."""
    reply = client.post(
        "/api/v1/cases",
        json={
            "source": source,
            "source_key": f"ov-{uuid.uuid4().hex[:10]}-{next(_serial)}",
            "category": "component:0101",
            "text": "总览测试：井盖缺失",
            "org_code": org_code,
        },
        headers=headers or login.headers("t_duty"),
    )
    assert reply.status_code == 201, reply.text
    case_id: int = reply.json()["id"]
    return case_id


def indicator(body: dict[str, Any], key: str) -> Any:
    """One indicator of the city-operation part."""
    for item in body["parts"]["city_operation"]["data"]["indicators"]:
        if item["key"] == key:
            return item["value"]
    raise KeyError(key)


def child(body: dict[str, Any], code: str) -> dict[str, Any]:
    """One child area's row of the city-operation part."""
    rows = body["parts"]["city_operation"]["data"]["children"]
    found: dict[str, Any] = next(r for r in rows if r["code"] == code)
    return found

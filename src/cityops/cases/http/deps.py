"""FastAPI dependencies and parameter types shared by the case endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Query, Request

from cityops.auth.deps import require
from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.cases.errors import invalid_query
from cityops.cases.flow.env import CaseEnv
from cityops.geo import crs as crs_module
from cityops.kit.web import MAX_INT

Reader = Annotated[Principal, Depends(require(Perm.CASE_READ))]
Creator = Annotated[Principal, Depends(require(Perm.CASE_CREATE))]
RuleEditor = Annotated[Principal, Depends(require(Perm.CASE_RULES))]
CaseId = Annotated[int, Path(ge=1, le=MAX_INT, description="Case id")]


# The dependencies below are `async def` although they never wait: FastAPI runs a plain `def`
# dependency in a worker thread, a hand-off that cost more than the whole function (two per
# case request, found by bench/bench_cases.py).


def env_of(request: Request) -> CaseEnv:
    """The process's case environment (set up by the app's lifespan)."""
    env: CaseEnv = request.app.state.cases
    return env


async def case_env(request: Request) -> CaseEnv:
    """The case environment as a dependency (async: FastAPI runs a plain def in a thread)."""
    return env_of(request)


Env = Annotated[CaseEnv, Depends(case_env)]


def aware(value: datetime | None, name: str) -> datetime | None:
    """Refuse a query time without a time zone (422)."""
    if value is not None and value.tzinfo is None:
        raise invalid_query(name, "give a time zone, e.g. 2026-11-24T08:00:00+08:00")
    return value


async def output_crs(
    crs: Annotated[
        str, Query(max_length=64, description="CRS of locations in the answer")
    ] = "wgs84",
) -> str:
    """The canonical name of the CRS a reader asked for, or 422."""
    try:
        return crs_module.resolve_crs(crs)
    except crs_module.CRSError as exc:
        raise invalid_query("crs", str(exc)) from exc


OutputCrs = Annotated[str, Depends(output_crs)]

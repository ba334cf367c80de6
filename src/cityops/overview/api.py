"""HTTP endpoints of the overview (总览) under /api/v1/overview: the parts, and their live stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent

from cityops.auth.deps import optional_principal, require
from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.kit.errors import ProblemError
from cityops.org.schemas import OrgCodePath
from cityops.overview.live import OverviewRuntime, StreamsFull, Watcher, stream
from cityops.overview.schemas import OverviewRead
from cityops.overview.service import live_parts, resolve_area

router = APIRouter(prefix="/api/v1/overview", tags=["overview"])
Reader = Annotated[Principal, Depends(require(Perm.ORG_READ))]
PARTS_HELP = "Comma list of parts (default: all nine of the area's kind)"


def runtime_of(request: Request) -> OverviewRuntime:
    """The process's overview state (set up by the app's lifespan)."""
    runtime: OverviewRuntime = request.app.state.overview
    return runtime


Runtime = Annotated[OverviewRuntime, Depends(runtime_of)]


@router.get("/{code}", response_model=OverviewRead, summary="Overview of an area")
async def get_overview(
    code: OrgCodePath,
    principal: Reader,
    runtime: Runtime,
    response: Response,
    parts: Annotated[str | None, Query(max_length=200, description=PARTS_HELP)] = None,
    cache: Annotated[bool, Query(description="false: compute afresh, bypassing the cache")] = True,
) -> OverviewRead:
    """The district, a town, a community or a grid: each part with its status and note.

    403 `out-of-scope` for an area outside your scope; 404 for an unknown code or a multi-grid
    unit; 422 for a part the area's kind does not have.
    """
    result = await runtime.service.overview(principal, code, parts, use_cache=cache)
    response.headers["X-Overview-Cache"] = result.cache
    response.headers["Cache-Control"] = "private, no-store"
    return result


async def _watcher(
    code: OrgCodePath, principal: Reader, runtime: Runtime
) -> AsyncIterator[Watcher]:
    """A registered stream of an area the caller may see; forgotten when the response ends.

    Registered here, before the response starts, so a refusal is still a problem+json answer,
    and removed here, after it ends, whether or not the stream ever ran.
    """
    tree = await runtime.service.tree.current()
    _, kind = resolve_area(tree, principal, code)
    try:
        watcher = runtime.broker.watch(code, live_parts(kind))
    except StreamsFull:
        raise ProblemError(
            503,
            "unavailable",
            "too many open overview streams; try again later",
            headers={"Retry-After": "30"},
        ) from None
    try:
        yield watcher
    finally:
        runtime.broker.forget(watcher)


@router.get(
    "/{code}/stream",
    response_class=EventSourceResponse,
    summary="Live changes of an area (Server-Sent Events)",
    responses={503: {"description": "Too many open streams in this process"}},
)
async def stream_overview(
    request: Request,
    runtime: Runtime,
    watcher: Annotated[Watcher, Depends(_watcher)],
) -> AsyncIterator[ServerSentEvent]:
    """`event: change` with `{"code", "parts", "reason", "at"}` whenever cases of the area move.

    Sent on connect, after each burst of case events (`reason` names their subjects) and every
    `CITYOPS_OVERVIEW_REFRESH_SECONDS` (`reason: ["refresh"]`); `: ping` comments keep the
    connection open; `event: end` when the session is no longer valid. Fetch the named parts
    with `GET /api/v1/overview/{code}?parts=…`.
    """

    async def still_allowed() -> bool:
        principal = await optional_principal(request)
        return principal is not None and principal.scope.allows(watcher.code)

    async for event in stream(runtime, watcher, still_allowed):
        yield event

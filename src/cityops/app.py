"""create_app(): the FastAPI application; its lifespan opens what the settings enable."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from sqlalchemy import text

from cityops import __version__
from cityops.api_docs import docs_page, openapi_of
from cityops.auth.deps import SESSION_COOKIE, PrincipalCache
from cityops.config import Settings, get_settings
from cityops.geo.service import DivisionIndexCache
from cityops.kit.bus import create_bus
from cityops.kit.db import create_engine, create_sessionmaker
from cityops.kit.errors import PROBLEM_TYPES, BodySizeLimit, NotFound, install_problem_handlers
from cityops.kit.security import STATIC_CSP, CrossSiteGuard, SecurityHeaders
from cityops.modules import (
    body_limits,
    include_routers,
    modules_of,
    register_contributions,
    set_up,
    start_modules,
    stop_modules,
)
from cityops.org.tree import OrgTreeCache

log = logging.getLogger(__name__)

API_DESCRIPTION = """
The API of a district city operations centre (城运中心) and its street/town centres.

* Authenticate with `POST /api/v1/auth/login` and send `Authorization: Bearer <access_token>`;
  systems use API keys the same way.
* Every error is an RFC 9457 `application/problem+json` document with a stable `type`.
* Every read is limited to the caller's data scope (a set of org-code prefixes).
"""


def freeze_startup_heap() -> None:
    """Move everything alive after start-up out of the garbage collector's sight.

    Modules, routes, mappers and compiled statements live as long as the process, yet every
    full collection walked them again; a request allocates enough objects (ORM state, Pydantic
    models) to set one off every few hundred requests. Frozen, they are never scanned: intake
    over HTTP rose about 7% and its p99 latency halved (bench/bench_cases.py, docs/benchmarks.md).
    Frozen objects are still freed by reference counting; only cycles among them would stay.
    """
    gc.collect()
    gc.freeze()


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    path = settings.sqlite_path()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.database_url)
    app.state.engine = engine
    app.state.sessions = create_sessionmaker(engine)
    app.state.org_tree = OrgTreeCache(app.state.sessions)
    app.state.division_index = DivisionIndexCache(
        app.state.sessions, app.state.org_tree, settings.district_code
    )
    app.state.principal_cache = PrincipalCache(settings.principal_cache_seconds)
    app.state.bus = create_bus(settings, app.state.sessions)  # NATS when CITYOPS_BUS_URL
    # Each module starts what it runs (the case scheduler, the outbox dispatcher, the overview's
    # live state) in dependency order, then its bus subscriptions are bound and the bus started.
    await start_modules(app, app.state.modules)
    await app.state.bus.start()
    log.info("cityops %s on %s", __version__, engine.url.render_as_string(hide_password=True))
    freeze_startup_heap()
    try:
        yield
    finally:
        await stop_modules(app, app.state.modules)  # in reverse order
        await app.state.bus.close()
        await engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for the given settings (the process-wide ones by default)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="cityops",
        version=__version__,
        description=API_DESCRIPTION,
        lifespan=_lifespan,
        docs_url=None,  # served below from bundled assets: no CDN on the government network
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.modules = modules = modules_of(settings)
    register_contributions(modules)  # map layers and overview parts
    install_problem_handlers(app)
    app.add_middleware(
        BodySizeLimit, max_bytes=settings.max_body_bytes, overrides=body_limits(settings, modules)
    )
    # Outermost last: every answer (a 413 or a refused cross-site write too) gets the headers.
    app.add_middleware(CrossSiteGuard, cookie=SESSION_COOKIE)
    app.add_middleware(
        SecurityHeaders,
        cookie_secure=settings.cookie_secure,
        prefixes={"/static/": (STATIC_CSP, "SAMEORIGIN")},
    )
    include_routers(app, modules)
    _add_operational_routes(app)
    app.openapi = openapi_of(app)  # type: ignore[method-assign]  # the Authorize schemes
    set_up(app, modules)  # e.g. the portal's pages and static files, local grids
    return app


def _add_operational_routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["ops"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok", "version": __version__}

    @app.get("/readyz", tags=["ops"], summary="Readiness")
    async def readyz(request: Request) -> JSONResponse:
        """The database answers, the schema is migrated and the org tree is loaded."""
        checks: dict[str, Any] = {}
        try:
            async with request.app.state.sessions() as session:
                rows = await session.scalars(text("SELECT version_num FROM alembic_version"))
                versions = sorted(rows.all())
            checks["database"] = "ok"
            # One head per branch (the shipped chain, each module's own), as `alembic heads`.
            checks["schema"] = " ".join(versions)
            tree = await request.app.state.org_tree.current()
            checks["org_units"] = len(tree.nodes)
            bus = await request.app.state.bus.health()
            checks["bus"] = {"adapter": bus["adapter"], "connected": bus["connected"]}
            ready = len(tree.nodes) > 0 and bool(bus["connected"])
        except Exception as exc:  # readiness reports failure, it never raises
            checks["error"] = type(exc).__name__
            ready = False
        return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        """Interactive API reference, from the Swagger UI files bundled at build time."""
        return docs_page("cityops API")

    @app.get("/problems/{slug}", tags=["ops"], summary="Problem type", include_in_schema=False)
    async def problem_doc(slug: str) -> PlainTextResponse:
        """What a problem `type` means."""
        if slug not in PROBLEM_TYPES:
            raise NotFound("problem type", slug)
        title, meaning = PROBLEM_TYPES[slug]
        return PlainTextResponse(f"{title}\n\n{meaning}\n")

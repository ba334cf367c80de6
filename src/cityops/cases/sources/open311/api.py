"""The Open311 GeoReport v2 facade at /open311/v2: any Open311 client can report and follow up.

Spec: https://wiki.open311.org/GeoReport_v2 (service discovery:
https://wiki.open311.org/Service_Discovery). Every resource answers as `.json` or `.xml`.
POST needs `api_key`, a cityops system client's API key; reads need none (public fields of
Open311 requests only), or read the client's own requests with `Authorization: Bearer <key>`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from cityops.auth.deps import principal_for
from cityops.auth.principal import Principal
from cityops.cases.access import CaseAccess
from cityops.cases.flow.env import CaseEnv
from cityops.cases.http.deps import Env
from cityops.cases.models import CaseRecord
from cityops.cases.repository import CaseRepository
from cityops.cases.sources.common import open_case, require_system_client
from cityops.cases.sources.open311 import repository
from cityops.cases.sources.open311.form import FORM_TYPE, LIMITS, is_id, parse_form
from cityops.cases.sources.open311.query import request_query
from cityops.cases.sources.open311.render import FORMATS, JSON_TYPE, XML_TYPE, render
from cityops.cases.sources.open311.report import (
    component_of,
    new_case,
    place_of,
    service_of,
    source_key,
)
from cityops.cases.sources.open311.requests import RequestView, request_of
from cityops.cases.sources.open311.route import Open311Route
from cityops.cases.sources.open311.services import (
    category_of,
    definition,
    notice,
    services,
)
from cityops.kit.errors import Forbidden, NotFound, ProblemError
from cityops.kit.scope import DataScope
from cityops.kit.web import DbSession

router = APIRouter(prefix="/open311", tags=["open311"], route_class=Open311Route)

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
#: Sortable marker of the service list's last change (Service Discovery's `changeset`).
CHANGESET = "2026-11-24 12:00"
_FORMATS_DOC: dict[int | str, dict[str, Any]] = {200: {"content": {JSON_TYPE: {}, XML_TYPE: {}}}}
Text = Annotated[str | None, Query(max_length=256)]


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise NotFound("format", f"{fmt[:16]} (use .json or .xml)")
    return fmt


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def _key_refused(detail: str) -> ProblemError:
    return ProblemError(403, "invalid-api-key", detail)


async def _client(request: Request, key: str | None) -> Principal:
    """The system client behind an api_key; 403 when it is missing, unknown or not a system's."""
    if key is None:
        raise _key_refused("api_key is required: a cityops system client's API key")
    principal = await principal_for(request, key)
    if principal is None:
        raise _key_refused("invalid api_key: unknown, revoked, or of a disabled account")
    try:
        require_system_client(principal, "Open311")
    except Forbidden as exc:
        raise _key_refused(exc.detail or "not a system client's API key") from exc
    return principal


async def _reader(request: Request, env: CaseEnv) -> tuple[CaseAccess, bool]:
    """Whose requests a GET shows: the key holder's own, or everyone's public fields."""
    key = _bearer(request)
    if key is not None:
        return CaseAccess.of(await _client(request, key)), True
    if not env.settings.open311_public_reads:
        raise _key_refused("this server shows requests only to API clients (Bearer api_key)")
    return CaseAccess(DataScope.of([env.settings.district_code])), False


async def _view(
    env: CaseEnv, session: AsyncSession, cases: list[CaseRecord], own: bool
) -> RequestView:
    ids = sorted({c.department_id for c in cases if c.department_id is not None})
    departments = await CaseRepository(session).departments(ids)
    return RequestView(await env.tree.current(), departments, own)


@router.get("/discovery.{fmt}", summary="Open311 service discovery", responses=_FORMATS_DOC)
async def discovery(fmt: str, request: Request) -> Response:
    """Where the GeoReport v2 endpoint is, which formats it speaks, how to get a key."""
    base = str(request.base_url).rstrip("/")
    body = {
        "changeset": CHANGESET,
        "contact": "区城市运行管理中心（城运中心）平台运维",
        "key_service": "API 密钥由区城运中心安全管理员为对接系统账号签发（一系统一账号）",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": f"{base}/open311/v2",
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render(body, _format(fmt), "discovery")


@router.get("/v2/services.{fmt}", summary="Open311 service list", responses=_FORMATS_DOC)
async def list_services(fmt: str) -> Response:
    """The case categories (部件 and 事件) as GeoReport services."""
    return render(services(), _format(fmt), "services")


@router.get(
    "/v2/services/{service_code}.{fmt}",
    summary="Open311 service definition",
    responses=_FORMATS_DOC,
)
async def service_definition(service_code: str, fmt: str, env: Env) -> Response:
    """A service's attributes (the component ID for 部件; none for 事件)."""
    fmt = _format(fmt)
    category = category_of(service_code)
    return render(definition(category, env.settings.district_code), fmt, "service_definition")


#: The form of POST requests for the OpenAPI document (the handler parses the body itself).
_REQUEST_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            FORM_TYPE: {
                "schema": {
                    "type": "object",
                    "required": ["api_key", "service_code"],
                    "properties": {
                        name: {"type": "string", "maxLength": limit}
                        for name, limit in LIMITS.items()
                    },
                    "additionalProperties": {"type": "string"},
                    "description": "GeoReport v2 fields; attribute[CODE]=value for attributes",
                }
            }
        },
    }
}


@router.post(
    "/v2/requests.{fmt}",
    summary="Open311: report a problem",
    status_code=201,
    responses={**_FORMATS_DOC, 201: _FORMATS_DOC[200]},
    openapi_extra=_REQUEST_FORM,
)
async def post_request(
    fmt: str, request: Request, env: Env, session: DbSession, tasks: BackgroundTasks
) -> Response:
    """Open a case from a form-encoded GeoReport request (201; 200 for a repeated key)."""
    fmt = _format(fmt)
    form = parse_form(await request.body(), request.headers.get("content-type", ""))
    principal = await _client(request, form.get("api_key") or _bearer(request))
    category = service_of(form)
    component = component_of(form, category, env.settings.district_code)
    place = await place_of(request, session, form)
    key = source_key(request, principal, form)
    opened = await open_case(
        session, env, principal, new_case(form, category, place, component, key), tasks
    )
    case = opened.result.case
    body = [
        {
            "service_request_id": str(case.id),
            "service_notice": notice(category),
            "account_id": form.get("account_id"),
        }
    ]
    return render(body, fmt, "service_requests", 201 if opened.result.created else 200)


@router.get("/v2/requests.{fmt}", summary="Open311 requests", responses=_FORMATS_DOC)
async def list_requests(
    fmt: str,
    request: Request,
    env: Env,
    session: DbSession,
    service_request_id: Annotated[str | None, Query(max_length=12_000)] = None,
    service_code: Annotated[str | None, Query(max_length=4_000)] = None,
    start_date: Text = None,
    end_date: Text = None,
    status: Text = None,
    jurisdiction_id: Text = None,
) -> Response:
    """Open311 requests, newest first, at most 1000 in a window of at most 90 days."""
    fmt = _format(fmt)
    access, own = await _reader(request, env)
    query = request_query(service_request_id, service_code, start_date, end_date, status, env.now())
    cases = list(await repository.find(session, access, query))
    view = await _view(env, session, cases, own)
    return render([request_of(c, view) for c in cases], fmt, "service_requests")


@router.get(
    "/v2/requests/{service_request_id}.{fmt}",
    summary="One Open311 request",
    responses=_FORMATS_DOC,
)
async def get_request(
    service_request_id: str, fmt: str, request: Request, env: Env, session: DbSession
) -> Response:
    """One request's status; 404 when it is not an Open311 request you may read."""
    fmt = _format(fmt)
    access, own = await _reader(request, env)
    ident = service_request_id
    if not is_id(ident):
        raise NotFound("service request", ident[:32])
    case = await repository.one(session, access, int(ident))
    if case is None:
        raise NotFound("service request", ident)
    view = await _view(env, session, [case], own)
    return render([request_of(case, view)], fmt, "service_requests")


@router.get("/v2/tokens/{token}.{fmt}", summary="Open311 tokens (not used)")
async def get_token(token: str, fmt: str) -> Response:
    """Every service is `realtime`: POST returns the service_request_id, no token is issued."""
    _format(fmt)
    raise NotFound("token", f"{token[:32]} (this server returns service_request_id at once)")


@router.api_route(
    "/{rest:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
async def unknown(rest: str) -> Response:
    """Anything else under /open311 is a GeoReport 404, not the platform's."""
    raise NotFound("Open311 resource", f"/open311/{rest[:64]}")

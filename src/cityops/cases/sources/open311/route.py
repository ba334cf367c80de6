"""A route class that answers every refusal of the Open311 facade in GeoReport's own shape.

GeoReport v2 asks for 404 when a resource does not exist, 403 for a missing or wrong api_key
and 400 for any other bad request, each with an error array. The platform's own problems
(422 validation, 401 unauthenticated) are mapped onto those statuses here, in both formats.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from cityops.cases.sources.open311.render import error_response
from cityops.kit.errors import ProblemError

#: Platform statuses that GeoReport spells differently.
STATUS_MAP = {422: 400, 401: 403}
_SLUGS = {400: "bad-request", 404: "not-found", 405: "method-not-allowed", 413: "body-too-large"}


def _validation(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {
            "loc": [str(part) for part in err.get("loc", ())],
            "msg": str(err.get("msg", "")),
            "type": str(err.get("type", "")),
        }
        for err in exc.errors()
    ]


class Open311Route(APIRoute):
    """An APIRoute whose errors are GeoReport arrays (or problem+json when asked for)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler so parameter, auth and domain errors are rendered here."""
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except ProblemError as exc:
                status = STATUS_MAP.get(exc.status, exc.status)
                return error_response(
                    request,
                    status,
                    exc.slug,
                    exc.detail or exc.slug,
                    exc.errors,
                    exc.extensions,
                )
            except RequestValidationError as exc:
                errors = _validation(exc)
                detail = f"{len(errors)} parameter(s) invalid"
                return error_response(request, 400, "validation", detail, errors)
            except StarletteHTTPException as exc:
                status = STATUS_MAP.get(exc.status_code, exc.status_code)
                detail = exc.detail if isinstance(exc.detail, str) else "bad request"
                return error_response(request, status, _SLUGS.get(status, "bad-request"), detail)

        return handler

"""RFC 9457 problem+json: one error shape for every API answer that is not a success."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"

#: Stable problem types: slug → (title, what it means). The slug is the `type` path.
PROBLEM_TYPES: dict[str, tuple[str, str]] = {
    "validation": ("Request is not valid", "One or more fields are missing or wrong; see errors."),
    "malformed-body": ("Request body is not valid JSON", "The body could not be parsed."),
    "body-too-large": ("Request body is too large", "The body exceeds the configured limit."),
    "unauthenticated": ("Authentication required", "Log in or send a valid bearer token."),
    "invalid-credentials": ("Wrong username or password", "The login was refused."),
    "login-locked": (
        "Sign-ins from your address are locked",
        "Too many failed sign-ins of this name from your address; wait (Retry-After).",
    ),
    "challenge-expired": (
        "Sign-in has expired",
        "The challenge of the password step is unknown, used or expired; start again.",
    ),
    "invalid-code": ("Wrong code", "The TOTP or recovery code is wrong, expired or used."),
    "totp-enrolment-required": (
        "Two-factor enrolment required",
        "Your role signs in with a TOTP code; enrol before anything else.",
    ),
    "address-not-allowed": (
        "Address not allowed",
        "This API key may not be used from the caller's address.",
    ),
    "password-change-required": (
        "Password must be changed",
        "The account's password must be changed before anything else.",
    ),
    "forbidden": ("Not allowed", "Your role does not permit this action."),
    "out-of-scope": ("Outside your data scope", "The object belongs to a unit you cannot see."),
    "not-found": ("Not found", "No such object."),
    "method-not-allowed": ("Method not allowed", "This path does not take that method."),
    "conflict": ("Conflict", "The request conflicts with the current state."),
    "unsupported-media-type": ("Unsupported media type", "Send application/json."),
    "bad-request": ("Bad request", "The request could not be understood."),
    "unavailable": ("Service unavailable", "The server is at capacity for this; retry later."),
    "internal": ("Internal error", "Something failed on our side; it was logged."),
}

_STATUS_SLUG = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "body-too-large",
    415: "unsupported-media-type",
    422: "validation",
}


def problem_type(slug: str) -> str:
    """The `type` URI of a problem slug, resolvable on the platform itself."""
    return f"/problems/{slug}"


class ProblemError(Exception):
    """Raise from anywhere to answer with a problem+json document."""

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str | None = None,
        *,
        errors: Sequence[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        keep_changes: bool = False,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or slug)
        # keep_changes: the request still commits (a failed login's audit row and lockout count).
        self.keep_changes = keep_changes
        self.status = status
        self.slug = slug
        self.detail = detail
        self.errors = list(errors) if errors else None
        self.headers = headers
        self.extensions = extensions


class NotFound(ProblemError):
    """The object does not exist (or the caller may not know that it does)."""

    def __init__(self, what: str, key: object) -> None:
        super().__init__(404, "not-found", f"{what} {key!s} does not exist", key=str(key))


class Forbidden(ProblemError):
    """The caller's role does not permit the action."""

    def __init__(self, detail: str) -> None:
        super().__init__(403, "forbidden", detail)


class OutOfScope(ProblemError):
    """The object exists but lies outside the caller's data scope."""

    def __init__(self, code: str) -> None:
        super().__init__(403, "out-of-scope", f"{code} is outside your data scope", code=code)


class Conflict(ProblemError):
    """The request conflicts with existing state."""

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(409, "conflict", detail, **extensions)


def problem_response(
    status: int,
    slug: str,
    detail: str | None = None,
    *,
    instance: str | None = None,
    errors: Sequence[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> Response:
    """Render one problem document."""
    title = PROBLEM_TYPES.get(slug, PROBLEM_TYPES["bad-request"])[0]
    body: dict[str, Any] = {"type": problem_type(slug), "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = list(errors)
    if extensions:
        body.update(extensions)
    return Response(
        orjson.dumps(body, default=str), status, headers=headers, media_type=PROBLEM_MEDIA_TYPE
    )


def _validation_errors(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    errors: list[dict[str, Any]] = []
    slug = "validation"
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            slug = "malformed-body"
        errors.append(
            {
                "loc": [str(part) for part in err.get("loc", ())],
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
        )
    return slug, errors


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_response(
        exc.status,
        exc.slug,
        exc.detail,
        instance=request.url.path,
        errors=exc.errors,
        headers=exc.headers,
        extensions=exc.extensions,
    )


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    slug, errors = _validation_errors(exc)
    status = 400 if slug == "malformed-body" else 422
    detail = "The body is not valid JSON." if status == 400 else f"{len(errors)} field(s) invalid."
    return problem_response(status, slug, detail, instance=request.url.path, errors=errors)


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    slug = _STATUS_SLUG.get(exc.status_code, "bad-request" if exc.status_code < 500 else "internal")
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem_response(
        exc.status_code, slug, detail, instance=request.url.path, headers=exc.headers
    )


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(500, "internal", None, instance=request.url.path)


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error of the app answer as problem+json."""
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        ProblemError: _on_problem,
        RequestValidationError: _on_validation,
        StarletteHTTPException: _on_http,
        Exception: _on_unexpected,
    }
    for exc_class, handler in handlers.items():
        app.add_exception_handler(exc_class, handler)


class BodySizeLimit:
    """ASGI middleware that refuses bodies over a limit before the app reads them."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, overrides: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = overrides or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check Content-Length up front and count streamed chunks as they arrive."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.overrides.get(scope["path"], self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(scope, receive, send, limit)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # An HTTPException, because FastAPI turns any other error raised while it
                    # reads the body into a 400; the problem handler maps 413 to body-too-large.
                    raise StarletteHTTPException(413, self._detail(limit))
            return message

        await self.app(scope, counting_receive, send)

    @staticmethod
    def _detail(limit: int) -> str:
        return f"The body exceeds {limit} bytes."

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problem_response(
            413, "body-too-large", self._detail(limit), instance=scope.get("path")
        )
        await response(scope, receive, send)

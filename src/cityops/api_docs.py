"""The API's reference: /docs (Swagger UI under a strict CSP) and the schemes in /openapi.json.

The OpenAPI document names the ways cityops really authenticates, so /docs shows an Authorize
button: a bearer token (a login's session token or a system client's API key) and the portal's
session cookie.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse

#: The docs page loads Swagger UI's own files and the spec from this origin, and nothing else;
#: no inline script runs, and no one may frame it (issue 20, finding 7).
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'; object-src 'none'"
)
DOCS_HEADERS = {
    "Content-Security-Policy": DOCS_CSP,
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
_VENDOR = "/static/vendor/swagger-ui"

SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "`access_token` from POST /api/v1/auth/login, or a system client's API "
        "key (issued by the security admin).",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "cityops_session",
        "description": "The portal's session cookie, set by the login. Requests that change "
        "something must then come from a page of this origin (Sec-Fetch-Site or Origin).",
    },
}
#: Operations anyone may call: no security requirement is listed for them.
_ANONYMOUS = frozenset({("post", "/api/v1/auth/login")})


def docs_page(title: str) -> HTMLResponse:
    """The Swagger UI page: bundled files only, started by a script file."""
    html = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{escape(title)}</title>
<link rel="stylesheet" href="{_VENDOR}/swagger-ui.css">
<link rel="icon" href="{_VENDOR}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-openapi="/openapi.json"></div>
<script src="{_VENDOR}/swagger-ui-bundle.js"></script>
<script src="/static/docs/swagger-init.js"></script>
</body>
</html>
"""
    return HTMLResponse(html, headers=DOCS_HEADERS)


def with_security(document: dict[str, Any]) -> dict[str, Any]:
    """The document with its security schemes, required by every /api operation but the login."""
    components = document.setdefault("components", {})
    components["securitySchemes"] = SECURITY_SCHEMES
    either: list[dict[str, list[str]]] = [{"bearer": []}, {"session": []}]
    for path, operations in document.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            if isinstance(operation, dict) and (method, path) not in _ANONYMOUS:
                operation.setdefault("security", either)
    return document


def openapi_of(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """`app.openapi`: FastAPI's document plus the security schemes, built once."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = with_security(document)
        return app.openapi_schema

    return build

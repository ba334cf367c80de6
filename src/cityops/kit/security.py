"""Response headers every answer carries, and the cross-site check of cookie-authenticated writes.

Two pure ASGI middlewares (no per-request objects beyond a header list): `SecurityHeaders` adds
the headers a route did not set itself, and marks cookies `Secure` when the request came over
HTTPS; `CrossSiteGuard` refuses an unsafe request authenticated by the session cookie unless
the browser says it came from this origin.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cityops.kit.errors import PROBLEM_TYPES

PROBLEM_TYPES.setdefault(
    "cross-site-request",
    (
        "Cross-site request refused",
        "A request that changes something and is authenticated by the session cookie must come "
        "from a page of this origin (Sec-Fetch-Site same-origin, or a matching Origin). Other "
        "clients send `Authorization: Bearer <token>` instead of the cookie.",
    ),
)

#: The strictest policy: an API answer or a plain page loads nothing, runs nothing, is never
#: framed. Pages that need more (the portal, the map, /docs) set their own.
STRICT_CSP = (
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; "
    "object-src 'none'"
)
#: Bundled files under /static/: a script there may be a map worker, whose own requests (tiles,
#: styles) this policy governs, and the map example page frames the map; all from this origin.
STATIC_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; worker-src 'self' blob:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; object-src 'none'"
)
HSTS = "max-age=31536000"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_SAME_ORIGIN = frozenset({"same-origin", "none"})  # "none": typed in, a bookmark


def _defaults(https: bool) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(self), geolocation=(self), microphone=(), payment=()"),
    ]
    if https:
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


def _secure_cookie(value: bytes) -> bytes:
    """A Set-Cookie value with the Secure attribute."""
    attributes = [part.strip().lower() for part in value.split(b";")[1:]]
    return value if b"secure" in attributes else value + b"; Secure"


def with_security_headers(
    headers: Iterable[tuple[bytes, bytes]],
    https: bool,
    secure_cookies: bool,
    policy: tuple[bytes, bytes] = (STRICT_CSP.encode(), b"DENY"),
) -> list[tuple[bytes, bytes]]:
    """The response's headers plus every default it lacks; cookies made Secure when asked.

    `policy` is the (CSP, X-Frame-Options) pair for a response that sets no CSP itself.
    """
    out = [
        (name, _secure_cookie(value) if secure_cookies and name.lower() == b"set-cookie" else value)
        for name, value in headers
    ]
    present = {name.lower() for name, _ in out}
    out.extend(h for h in _defaults(https) if h[0] not in present)
    if b"content-security-policy" not in present:
        out.append((b"content-security-policy", policy[0]))
        if b"x-frame-options" not in present:
            out.append((b"x-frame-options", policy[1]))
    return out


class SecurityHeaders:
    """Add the security headers to every HTTP response that does not set them itself.

    A route with its own Content-Security-Policy (a page that may be framed by named origins)
    keeps it and gets no X-Frame-Options; everything else gets the strict policy and DENY.
    Cookies are marked Secure when `cookie_secure` is set or the request came over HTTPS
    (`scope["scheme"]`, which uvicorn sets from X-Forwarded-Proto of a trusted proxy only).
    """

    def __init__(
        self,
        app: ASGIApp,
        cookie_secure: bool = False,
        prefixes: Mapping[str, tuple[str, str]] | None = None,
    ) -> None:
        self.app = app
        self.cookie_secure = cookie_secure
        # path prefix → (CSP, X-Frame-Options) for answers under it that set no CSP themselves
        self.prefixes = [(p, (c.encode(), x.encode())) for p, (c, x) in (prefixes or {}).items()]
        self.strict = (STRICT_CSP.encode(), b"DENY")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        secure = self.cookie_secure or https
        path: str = scope.get("path", "")
        policy = next((p for prefix, p in self.prefixes if path.startswith(prefix)), self.strict)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = with_security_headers(
                    message.get("headers", []), https, secure, policy
                )
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _has_cookie(scope: Scope, cookie: str) -> bool:
    raw = _header(scope, b"cookie")
    if not raw:
        return False
    return any(part.strip().startswith(f"{cookie}=") for part in raw.split(";"))


def _bearer(scope: Scope) -> bool:
    scheme, _, value = (_header(scope, b"authorization") or "").partition(" ")
    return scheme.lower() == "bearer" and bool(value.strip())


def same_origin(scope: Scope) -> bool | None:
    """Whether the browser says the request came from this origin; None when it says nothing.

    Sec-Fetch-Site is set by the browser and cannot be forged by a page; without it, the Origin
    (then the Referer) must name this host and port, as the Host header gives them.
    """
    site = _header(scope, b"sec-fetch-site")
    if site is not None:
        return site.strip().lower() in _SAME_ORIGIN
    host = (_header(scope, b"host") or "").strip().lower()
    for name in (b"origin", b"referer"):
        value = _header(scope, name)
        if value is not None:
            if value.strip().lower() == "null":
                return False
            return bool(host) and urlsplit(value.strip()).netloc.lower() == host
    return None


class CrossSiteGuard:
    """Refuse (403) an unsafe request authenticated by the session cookie from another origin.

    SameSite=Lax keeps the cookie off cross-site posts, but not off posts from another port or
    subdomain of the same site; this check closes that. A request with a bearer token is not
    cookie-authenticated and passes; so does one whose client sends no Sec-Fetch-Site, Origin
    or Referer at all (not a browser: a page cannot make a browser leave them all out).
    """

    def __init__(self, app: ASGIApp, cookie: str) -> None:
        self.app = app
        self.cookie = cookie

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in _SAFE_METHODS
            or _bearer(scope)
            or not _has_cookie(scope, self.cookie)
            or same_origin(scope) is not False
        ):
            await self.app(scope, receive, send)
            return
        await _refuse(scope, send)


async def _refuse(scope: Scope, send: Send) -> None:
    body = json.dumps(
        {
            "type": "/problems/cross-site-request",
            "title": PROBLEM_TYPES["cross-site-request"][0],
            "status": 403,
            "detail": "this request came from another origin; the session cookie is not "
            "accepted for it",
            "instance": scope.get("path", ""),
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

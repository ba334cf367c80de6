"""One-shot messages across a redirect (post/redirect/get): a short-lived cookie.

The cookie holds only what the next page shows (a kind and a sentence, at most a few hundred
characters); it is HttpOnly and SameSite=Lax, so another site can neither read nor plant it,
and the page escapes it like any other text.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from fastapi import Request
from starlette.responses import Response

FLASH_COOKIE = "cityops_flash"
MAX_TEXT = 600
KINDS = ("ok", "error", "warn")


@dataclass(frozen=True, slots=True)
class Flash:
    """A message for the next page: ok, error or warn."""

    kind: str
    text: str


def set_flash(response: Response, kind: str, text: str, *, secure: bool = False) -> None:
    """Leave a message for the page the response redirects to."""
    body = json.dumps({"k": kind, "t": text[:MAX_TEXT]}, ensure_ascii=False).encode()
    value = base64.urlsafe_b64encode(body).decode()
    response.set_cookie(
        FLASH_COOKIE, value, max_age=120, httponly=True, samesite="lax", secure=secure, path="/"
    )


def take_flash(request: Request) -> Flash | None:
    """The message left for this page, if any (clear it with `clear_flash`)."""
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw or len(raw) > 4096:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode()))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    kind, text = data.get("k"), data.get("t")
    if kind not in KINDS or not isinstance(text, str):
        return None
    return Flash(kind, text[:MAX_TEXT])


def clear_flash(request: Request, response: Response) -> None:
    """Remove the message once shown."""
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/")

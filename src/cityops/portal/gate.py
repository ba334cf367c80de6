"""What every portal page starts with: the tree snapshot, the settings and the login gate."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from cityops.auth.principal import Principal
from cityops.config import Settings
from cityops.org.tree import OrgTree, OrgTreeCache
from cityops.portal.session import portal_principal, safe_next


async def tree_of(request: Request) -> OrgTree:
    """The current org tree snapshot."""
    cache: OrgTreeCache = request.app.state.org_tree
    return await cache.current()


def settings_of(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def to_login(request: Request) -> RedirectResponse:
    """Redirect to the login form, coming back to this page afterwards when it is a portal page."""
    path = request.url.path
    target = "/login" if safe_next(path) == "/" else f"/login?next={quote(path, safe='/')}"
    return RedirectResponse(target, status_code=303)


async def gate(request: Request) -> Principal | Response:
    """The logged-in caller, or the redirect to log in (or to change the password first)."""
    principal = await portal_principal(request)
    if principal is None:
        return to_login(request)
    if principal.must_change_password:
        return RedirectResponse("/password", status_code=303)
    if principal.must_enrol_totp:
        return RedirectResponse("/totp", status_code=303)
    return principal

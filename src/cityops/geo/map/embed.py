"""The embeddable district map: `/map/embed`, a full-page MapLibre map a town portal can iframe.

The page loads only the platform's own files (the MapLibre bundle built from npm into
/static/build, the style, the tiles), so it works on a network without internet. Callers
authenticate with `?token=` (a session token or a system's API key) or the portal's session
cookie; a `?token=` is handed to the page's script, which sends it as `Authorization: Bearer`
on requests to this origin and to no other. Framing is allowed for this origin and the origins
in `Settings.map_frame_ancestors` (CSP `frame-ancestors`); the same list is the only set of
origins whose postMessage commands the page obeys. Its templates are geo's own (geo/map/templates/).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from cityops import __version__
from cityops.auth.deps import optional_principal, principal_for
from cityops.auth.roles import Perm
from cityops.config import Settings
from cityops.geo import crs as crs_module
from cityops.geo.layers import registry
from cityops.geo.map.state import chosen_layers, district_bounds, map_state
from cityops.geo.map.style import API, DRAWINGS
from cityops.kit.errors import ProblemError

router = APIRouter(include_in_schema=False)

TEMPLATE_DIR = Path(__file__).with_name("templates")
STATIC = "/static/build"
_ORIGIN = re.compile(r"https?://[a-z0-9.-]+(:[0-9]{1,5})?")
_env = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
ERRORS = {
    400: "地图参数有误",
    401: "地图令牌无效或已过期，请重新获取令牌或登录。",
    403: "该账号无权查看地图。",
}


def allowed_origins(request: Request) -> list[str]:
    """This platform's origin and the configured town portal origins (well-formed ones only)."""
    settings: Settings = request.app.state.settings
    own = str(request.base_url).rstrip("/")
    extra = [o.strip().rstrip("/").lower() for o in settings.map_frame_ancestors]
    return [own, *dict.fromkeys(o for o in extra if _ORIGIN.fullmatch(o) and o != own)]


def security_headers(origins: list[str]) -> dict[str, str]:
    """A strict CSP that lets only the allowed origins frame the page."""
    ancestors = " ".join(["'self'", *origins[1:]])
    csp = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "font-src 'self'; connect-src 'self'; worker-src 'self'; child-src 'self'; "
        f"frame-ancestors {ancestors}; form-action 'none'; base-uri 'none'; object-src 'none'"
    )
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


def _error(status: int, message: str, origins: list[str]) -> HTMLResponse:
    html = _env.get_template("error.html").render(status=status, message=message)
    return HTMLResponse(html, status_code=status, headers=security_headers(origins))


class BadParameter(ValueError):
    """A query parameter the page cannot use; the message is for the person looking at it."""


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if abs(value) < 1e8 else None  # also refuses nan and inf


def _center(text: str, crs: str) -> list[float]:
    """A `lon,lat` (in `crs`) as WGS84, or BadParameter."""
    parts = [_number(v) for v in text.split(",")]
    if len(parts) != 2 or parts[0] is None or parts[1] is None:
        raise BadParameter("中心点（center）应为“经度,纬度”两个数字，例如 121.2277,31.0322")
    try:
        x, y = crs_module.transform(parts[0], parts[1], crs, crs_module.CRS.WGS84)
    except ValueError as exc:
        raise BadParameter("中心点（center）无法换算到地图坐标") from exc
    if not (-180 <= x <= 180 and -85.06 <= y <= 85.06):
        raise BadParameter("中心点（center）不在地图范围内")
    return [round(x, 7), round(y, 7)]


def _zoom(text: str | None) -> float | None:
    """A zoom level 0–22, or BadParameter."""
    if text is None or not text.strip():
        return None
    value = _number(text)
    if value is None or not 0 <= value <= 22:
        raise BadParameter("缩放级别（zoom）应为 0 到 22 之间的数字")
    return value


def _layers(names: str | None, principal: Any) -> tuple[list[Any], bool]:
    """The chosen layers, or BadParameter naming the unknown ones and the known ones in Chinese."""
    try:
        return chosen_layers(names, principal)
    except ProblemError as exc:
        wanted = [n.strip() for n in (names or "").split(",") if n.strip()]
        unknown = [n[:32] for n in wanted if n != DRAWINGS and n not in registry]
        known = "、".join(f"{layer.name}（{layer.title}）" for layer in registry)
        raise BadParameter(
            f"没有名为 {'、'.join(unknown) or names} 的图层；可用图层：{known}、{DRAWINGS}（标绘）"
        ) from exc


def _crs(name: str) -> str:
    try:
        return crs_module.resolve_crs(name)
    except crs_module.CRSError as exc:
        raise BadParameter(
            f"不支持的坐标系（crs）：{name[:32]}；可用 wgs84、gcj02、bd09、cgcs2000 或 EPSG 代码"
        ) from exc


@router.get("/map/embed")
async def embed(
    request: Request,
    layers: Annotated[str | None, Query(max_length=500)] = None,
    center: Annotated[str | None, Query(max_length=100)] = None,
    zoom: Annotated[str | None, Query(max_length=32)] = None,
    crs: Annotated[str, Query(max_length=64)] = "wgs84",
    token: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    """A full-page map of the district with the platform's style, for an iframe."""
    origins = allowed_origins(request)
    principal = await (principal_for(request, token) if token else optional_principal(request))
    if principal is None:
        return _error(401, ERRORS[401], origins)
    if principal.must_change_password or principal.must_enrol_totp:
        return _error(403, ERRORS[403], origins)  # the session may only finish signing in
    if not principal.can(Perm.ORG_READ):
        return _error(403, ERRORS[403], origins)
    try:
        chosen, drawings = _layers(layers, principal)
        target = _crs(crs)
        start = _center(center, target) if center else None
        level = _zoom(zoom)
    except BadParameter as exc:  # said in Chinese, never the exception text of a parser
        return _error(400, f"{ERRORS[400]}：{exc}", origins)
    bounds = await district_bounds(map_state(request).context)
    config = _config(origins, token, chosen, drawings, start, level, target, bounds)
    html = _env.get_template("embed.html").render(
        config=config, static=STATIC, version=__version__, layers=config["layers"]
    )
    return HTMLResponse(html, headers=security_headers(origins))


def _config(
    origins: list[str],
    token: str | None,
    chosen: list[Any],
    drawings: bool,
    center: list[float] | None,
    zoom: float | None,
    crs: str,
    bounds: list[float] | None,
) -> dict[str, Any]:
    """What the page's script needs; the token only when it came as `?token=`."""
    own = origins[0]
    names = [layer.name for layer in chosen] + ([DRAWINGS] if drawings else [])
    return {
        "origin": own,
        "style": f"{own}{API}/style.json",
        "transform": f"{own}/api/v1/geo/transform",
        "workerUrl": f"{own}{STATIC}/maplibre-gl-worker.mjs?v={__version__}",
        "token": token,
        "allowedOrigins": origins,
        "layers": names,
        "center": center,
        "zoom": zoom,
        "crs": crs,
        "bounds": bounds,
    }

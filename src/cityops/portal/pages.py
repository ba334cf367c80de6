"""Portal pages of the org tree (the home page and unit pages), and mounting the portal."""

from __future__ import annotations

import re

from fastapi import APIRouter, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.org.models import OrgLevel
from cityops.org.schemas import CODE_PATTERN
from cityops.org.tree import OrgTree
from cityops.portal import (
    audit_pages,
    auth_pages,
    bus_page,
    citizen,
    iot_scenarios_page,
    mobile,
    overview_pages,
    photos,
    report,
    totp_pages,
    townpage_edit,
    townpage_pages,
    townpage_view,
    video_page,
    views,
    workbench,
)
from cityops.portal.gate import gate, settings_of, tree_of
from cityops.portal.render import STATIC_DIR, error_page, frame, install_html_errors, render

router = APIRouter(include_in_schema=False)

NOTICES = {"password-changed": "密码已修改。其他设备上的登录已失效。"}
_CODE = re.compile(CODE_PATTERN)


@router.get("/")
async def home(request: Request, notice: str = "") -> Response:
    """The home page: who is logged in and the district's units in the caller's scope."""
    principal = await gate(request)
    if not isinstance(principal, Principal):
        return principal
    tree = await tree_of(request)
    page = frame(request, tree, principal)
    root = tree.get(settings_of(request).district_code)
    can_read = principal.can(Perm.ORG_READ)
    rows = views.child_rows(tree, principal.scope, root.code) if root and can_read else []
    stats = views.scope_stats(tree, principal.scope) if can_read else []
    context = {
        "notice": NOTICES.get(notice),
        "can_read": can_read,
        "can_audit": principal.can(Perm.AUDIT_READ),
        "root": views.link(root) if root else None,
        "unit_path": _unit_path(tree, principal.org_code),
        "stats": stats,
        "rows": rows,
        "any_synthetic": any(s.synthetic and s.value for s in stats),
        "division_year": root.division_year if root else None,
    }
    return render("home.html", page, context)


def _division_year(request: Request, tree: OrgTree) -> int | None:
    root = tree.get(settings_of(request).district_code)
    return root.division_year if root else None


def _unit_path(tree: OrgTree, code: str) -> str:
    node = tree.get(code)
    if node is None:
        return code
    return " / ".join(n.name for n in [*tree.path(code), node])


@router.get("/org/{code}")
async def org_unit(request: Request, code: str) -> Response:
    """One unit: its path, children, 多格合一 units, and where each row's data comes from."""
    principal = await gate(request)
    if not isinstance(principal, Principal):
        return principal
    tree = await tree_of(request)
    page = frame(request, tree, principal)
    node = tree.get(code) if _CODE.fullmatch(code) else None
    if node is None:
        return error_page(page, 404, f"单位代码 {code[:32]} 不存在。")
    if not principal.can(Perm.ORG_READ):
        return error_page(page, 403, "您的角色无权查看组织架构。")
    if not views.visible(tree, principal.scope, code):
        return error_page(page, 403, f"{node.name}（{node.code}）不在您的数据范围内，无权查看。")
    scope = principal.scope
    if node.level == OrgLevel.MULTIGRID:
        rows = [views.unit_row(tree, scope, n) for n in views.multigrid_members(tree, scope, node)]
        overlay: list[views.UnitRow] = []
    else:
        rows = views.child_rows(tree, scope, code)
        overlay = views.multigrid_rows(tree, scope, code)
    own = views.unit_row(tree, scope, node)
    parent = tree.get(node.parent_code) if node.parent_code else None
    context = {
        "unit": own,
        "parent": views.link(parent)
        if parent and views.visible(tree, scope, parent.code)
        else None,
        "crumbs": views.breadcrumb(tree, node),
        "children_title": views.CHILD_NOUNS.get(node.level, "下级单位"),
        "count_label": views.COUNT_LABELS.get(node.level),
        "rows": rows,
        "overlay": overlay,
        "show_multigrid": any(r.multigrid for r in rows),
        "show_18": node.level == OrgLevel.DISTRICT,
        "any_synthetic": own.synthetic or any(r.synthetic for r in [*rows, *overlay]),
        "partial": len(rows) < tree.child_count(code) and node.level != OrgLevel.MULTIGRID,
        "division_year": _division_year(request, tree),
    }
    return render("org.html", page, context)


def mount_portal(app: FastAPI) -> None:
    """Add the portal's routes, its static files at /static and HTML error pages."""
    app.include_router(auth_pages.router)
    app.include_router(totp_pages.router)
    app.include_router(router)
    app.include_router(overview_pages.router)
    app.include_router(bus_page.router)  # the platform operator's view of the event bus
    app.include_router(iot_scenarios_page.router)  # IoT scenarios: templates, instances, alarms
    app.include_router(video_page.router)  # the video hub's devices and channels (R4)
    app.include_router(audit_pages.router)  # the audit admin's log (等保 2.0 security audit)
    for pages in (workbench, photos, mobile, report, citizen):  # the event workbench (R7)
        app.include_router(pages.router)
    for town in (townpage_pages, townpage_view, townpage_edit):  # town pages (R3.4, R3.5)
        app.include_router(town.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_html_errors(app)

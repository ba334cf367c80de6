"""The town page editor (/towns/{code}/page/edit): widgets on the grid, background, links.

The editor's script keeps the widget list in one form field as JSON; the form posts to a fixed
path (`/towns/page/save`) so the body-size middleware can give it room for one photo. Saving
goes through the same service as `PUT /api/v1/towns/{code}/page`: the same validation, the
same version check, the same audit entry.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import Response

from cityops.auth.principal import Principal
from cityops.config import Settings
from cityops.geo.layers import registry
from cityops.kit.db import unit_of_work
from cityops.kit.errors import ProblemError
from cityops.kit.web import client_ip, sessionmaker_of
from cityops.media.service import MediaService, Uploader, ref_of
from cityops.overview.labels import PART_TITLES, PartKey
from cityops.portal.case_texts import problem_text as case_problem_text
from cityops.portal.flash import set_flash
from cityops.portal.forms import photo_files, read_form, text
from cityops.portal.gate import gate, settings_of, tree_of
from cityops.portal.render import error_page, frame
from cityops.portal.session import CSRF_FIELD, csrf_valid
from cityops.portal.townpage_access import page_headers, viewer_of
from cityops.portal.townpage_pages import load_page
from cityops.portal.workbench import respond
from cityops.townpage.links import LinkRefused, LinkService
from cityops.townpage.schemas import APP_PREFIXES, COLUMNS, MAX_ROWS, LinkCreate, PageWrite
from cityops.townpage.service import WIDGET_PARTS, TownPageService, may_edit

router = APIRouter(include_in_schema=False)
SAVE_PATH = "/towns/page/save"
LINK_HOURS = [(24, "1 天"), (24 * 7, "7 天"), (24 * 30, "30 天"), (24 * 90, "90 天")]


def townpage_body_limits(settings: Settings) -> dict[str, int]:
    """Room for one background photo and the form's fields."""
    return {SAVE_PATH: settings.media_max_bytes + 256 * 1024}


async def _editor(request: Request, code: str) -> tuple[Principal, Any] | Response:
    """The caller and the town when the caller may edit its page, else the page saying why."""
    principal = await gate(request)
    if not isinstance(principal, Principal):
        return principal
    try:
        viewer = await viewer_of(request, code, None)
    except LinkRefused as exc:
        return error_page(
            frame(request, await tree_of(request), principal), exc.status, exc.message
        )
    if not may_edit(principal, code):
        message = "只有本街镇的操作员或区值班员可以编辑街镇页面。"
        return error_page(frame(request, await tree_of(request), principal), 403, message)
    return principal, viewer


async def _page(
    request: Request,
    viewer: Any,
    *,
    draft: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    issued: Any = None,
    status: int = 200,
) -> Response:
    page = await load_page(request, viewer)
    async with unit_of_work(sessionmaker_of(request)) as session:
        links = await LinkService(session).list(viewer.principal, viewer.node.code)
    values = draft or {
        "title": page.title,
        "background_kind": page.background_kind,
        "widgets": json.dumps([w.model_dump(exclude_none=True) for w in page.widgets]),
        "version": page.version,
        "background": page.background or "",
    }
    context = {
        "page": page,
        "values": values,
        "errors": errors or [],
        "links": links,
        "issued": issued,
        "hours": LINK_HOURS,
        "save_path": SAVE_PATH,
        "max_mb": settings_of(request).media_max_bytes / 1048576,
        "editor": {
            "parts": [{"key": k, "title": PART_TITLES[PartKey(k)]} for k in WIDGET_PARTS],
            "layers": registry.names(),
            "layerTitles": {layer.name: layer.title for layer in registry},
            "apps": list(APP_PREFIXES),
            "columns": COLUMNS,
            "rows": MAX_ROWS,
            "code": viewer.node.code,
        },
    }
    principal_frame = frame(request, await tree_of(request), viewer.principal)
    response = respond(request, "townpage/edit.html", principal_frame, context)
    response.status_code = status
    for name, value in page_headers(viewer, request).items():
        response.headers[name] = value
    return response


@router.get("/towns/{code}/page/edit")
async def edit_form(request: Request, code: str) -> Response:
    """The editor with the saved page (or the default one) loaded."""
    found = await _editor(request, code)
    if isinstance(found, Response):
        return found
    return await _page(request, found[1])


def _csrf_refused(request: Request, principal: Principal, tree: Any) -> Response:
    message = "表单已过期或来源不可信（CSRF 校验失败），请刷新页面后重试。"
    return error_page(frame(request, tree, principal), 403, message)


def _draft(form: FormData) -> dict[str, Any]:
    return {
        "title": text(form, "title", 60),
        "background_kind": text(form, "background_kind", 16),
        "widgets": text(form, "widgets", 20000),
        "version": text(form, "version", 12),
        "background": text(form, "background", 80),
    }


@router.post(SAVE_PATH)
async def save(request: Request) -> Response:
    """Save the page; on a mistake show the editor again with what was sent and why."""
    principal = await gate(request)
    if not isinstance(principal, Principal):
        return principal
    form = await read_form(request)
    found = await _editor(request, text(form, "code", 24))
    if isinstance(found, Response):
        return found
    viewer = found[1]
    if not csrf_valid(request, text(form, CSRF_FIELD, 200)):
        return _csrf_refused(request, principal, await tree_of(request))
    draft = _draft(form)
    try:
        await _store(request, principal, viewer, form, draft)
    except ProblemError as exc:
        status = 409 if exc.status == 409 else 422
        return await _page(request, viewer, draft=draft, errors=[problem_text(exc)], status=status)
    except (ValidationError, ValueError) as exc:
        return await _page(request, viewer, draft=draft, errors=[_invalid(exc)], status=422)
    response = RedirectResponse(f"/towns/{viewer.node.code}/page", status_code=303)
    set_flash(response, "ok", "页面已保存。", secure=settings_of(request).cookie_secure)
    return response


def problem_text(exc: ProblemError) -> str:
    """One Chinese sentence for a refused save."""
    if exc.status == 409:
        current = exc.extensions.get("current_version", "?")
        return f"页面已被他人修改（当前版本 {current}），请重新打开编辑器，再做一次修改后保存。"
    if exc.slug == "invalid-image" or exc.status == 413:
        return case_problem_text(exc)
    return f"页面内容有误：{exc.detail or exc.slug}"


def _invalid(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"页面内容有误（{where}）：{first['msg']}"
    return f"页面内容有误：{exc}"


async def _store(
    request: Request, principal: Principal, viewer: Any, form: FormData, draft: dict[str, Any]
) -> None:
    settings = settings_of(request)
    widgets = json.loads(draft["widgets"] or "[]")
    version = int(draft["version"] or "0")
    async with unit_of_work(sessionmaker_of(request)) as session:
        files = await photo_files(form, "background_file", settings.media_max_bytes)
        background = draft["background"] or None
        if files:
            uploader = Uploader(principal.account_id, principal.username, principal.org_code)
            row, _ = await MediaService(session, settings).upload(files[0].data, uploader)
            background = ref_of(row.sha256)
            draft["background"] = background
        body = PageWrite.model_validate(
            {
                "title": draft["title"],
                "background": background,
                "background_kind": draft["background_kind"] or "image",
                "widgets": widgets,
                "version": version,
            }
        )
        svc = TownPageService(session)
        await svc.save(principal, viewer.node, body, registry.names(), client_ip(request))


@router.post("/towns/{code}/page/links")
async def issue_link(request: Request, code: str) -> Response:
    """Issue a link and show its URL once."""
    found = await _editor(request, code)
    if isinstance(found, Response):
        return found
    principal, viewer = found
    form = await read_form(request)
    if not csrf_valid(request, text(form, CSRF_FIELD, 200)):
        return _csrf_refused(request, principal, await tree_of(request))
    try:
        body = LinkCreate(label=text(form, "label", 60), hours=int(text(form, "hours", 6) or 24))
        async with unit_of_work(sessionmaker_of(request)) as session:
            issued = await LinkService(session).issue(
                principal, code, body, str(request.base_url), client_ip(request)
            )
    except (ValidationError, ValueError) as exc:
        return await _page(request, viewer, errors=[_invalid(exc)], status=422)
    return await _page(request, viewer, issued=issued, status=201)


@router.post("/towns/{code}/page/links/{link_id}/revoke")
async def revoke_link(request: Request, code: str, link_id: int) -> Response:
    """Revoke a link at once."""
    found = await _editor(request, code)
    if isinstance(found, Response):
        return found
    principal, viewer = found
    form = await read_form(request)
    if not csrf_valid(request, text(form, CSRF_FIELD, 200)):
        return _csrf_refused(request, principal, await tree_of(request))
    try:
        async with unit_of_work(sessionmaker_of(request)) as session:
            await LinkService(session).revoke(principal, code, link_id, client_ip(request))
    except ProblemError as exc:
        return await _page(request, viewer, errors=[problem_text(exc)], status=exc.status)
    response = RedirectResponse(f"/towns/{code}/page/edit", status_code=303)
    set_flash(response, "ok", "链接已撤销。", secure=settings_of(request).cookie_secure)
    return response

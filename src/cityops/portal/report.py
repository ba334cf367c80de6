"""The phone report page for grid workers (/m/report): category, text, photos and location.

The location comes from the phone (the browser's geolocation, WGS84), from a tap on the map,
or, failing both, from the community chosen in a list. The report arrives as source `mobile`,
status `received`, for the dispatcher to register.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.cases import Actor, CaseAccess, category_name
from cityops.kit.errors import ProblemError
from cityops.media.service import Uploader
from cityops.portal.case_texts import problem_text
from cityops.portal.flash import set_flash
from cityops.portal.forms import MAX_FORM_PHOTOS, REPORT_PATH, photo_files, read_form, text
from cityops.portal.gate import settings_of, tree_of
from cityops.portal.render import error_page, frame
from cityops.portal.report_forms import (
    URGENCIES,
    ReportValues,
    category_groups,
    checked_report,
    common_categories,
    community_groups,
    open_report,
)
from cityops.portal.session import CSRF_FIELD, csrf_valid
from cityops.portal.workbench import case_reader, respond

router = APIRouter(include_in_schema=False)
PICK_MAP = "/map/embed?layers=units,communities,grids"


def new_submission() -> str:
    """A fresh id for one filled-in form: sending it twice opens one case."""
    return secrets.token_hex(16)


async def _page(
    request: Request, principal: Principal, values: ReportValues, status: int = 200
) -> Response:
    tree = await tree_of(request)
    district = settings_of(request).district_code
    context: dict[str, Any] = {
        "values": values,
        "common": common_categories(),
        "groups": category_groups(),
        "communities": community_groups(tree, principal.scope, district),
        "urgencies": URGENCIES,
        "max_photos": MAX_FORM_PHOTOS,
        "max_mb": settings_of(request).media_max_bytes / 1048576,
        "pick_map": PICK_MAP if principal.can(Perm.ORG_READ) else None,
    }
    response = respond(request, "m/report.html", frame(request, tree, principal), context)
    response.status_code = status
    return response


async def _reporter(request: Request) -> Principal | Response:
    principal = await case_reader(request)
    if isinstance(principal, Principal) and not principal.can(Perm.CASE_CREATE):
        page = frame(request, await tree_of(request), principal)
        return error_page(page, 403, "您的角色不能上报案件。")
    return principal


@router.get(REPORT_PATH)
async def report_form(request: Request) -> Response:
    """The empty report form."""
    principal = await _reporter(request)
    if not isinstance(principal, Principal):
        return principal
    return await _page(request, principal, ReportValues(submission=new_submission()))


@router.post(REPORT_PATH)
async def report_submit(request: Request) -> Response:
    """Open the reported case; on a mistake show the form again with what was typed."""
    principal = await _reporter(request)
    if not isinstance(principal, Principal):
        return principal
    form = await read_form(request)
    if not csrf_valid(request, text(form, CSRF_FIELD, 200)):
        page = frame(request, await tree_of(request), principal)
        return error_page(page, 403, "表单已过期或来源不可信（CSRF 校验失败），请刷新页面后重试。")
    values = ReportValues.of(form)
    if not values.submission.isalnum() or len(values.submission) != 32:
        values.submission = new_submission()
    uploader = Uploader(principal.account_id, principal.username, principal.org_code)
    try:
        body = checked_report(values, f"m-{values.submission}", citizen=False)
        files = await photo_files(form, "photos", settings_of(request).media_max_bytes)
        access = CaseAccess.of(principal)
        result = await open_report(request, Actor.of(principal), access, body, files, uploader)
    except ProblemError as exc:
        values.errors = [problem_text(exc)]
        return await _page(request, principal, values, 400 if exc.status < 400 else exc.status)
    case = result.case
    tree = await tree_of(request)
    owner = tree.get(case.owner_code)
    note = f"已上报：{category_name(case.category)}，案件编号 {case.id}，由{owner.name if owner else case.owner_code}受理。"
    visible = access.allows(case)
    response = RedirectResponse(f"/m/cases/{case.id}" if visible else "/m/", status_code=303)
    set_flash(response, "ok", note, secure=settings_of(request).cookie_secure)
    return response

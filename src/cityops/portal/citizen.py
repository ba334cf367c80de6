"""The public report page for citizens (/m/citizen): no account, but not an open door.

A citizen leaves a mobile phone number (encrypted at rest, masked in every read, so the duty
officer can call back), a category, a text, up to three photos and the place. What keeps it from
being a free-for-all:

* a per-IP and a per-phone sliding-window limit (`CITYOPS_CITIZEN_LIMIT_PER_IP` per hour,
  `CITYOPS_CITIZEN_LIMIT_PER_PHONE` per day), counted in this process (kit.ratelimit);
* the body limit of the photo forms, the photo limits of the media module, and short texts;
* a double-submit CSRF token (a random SameSite=Strict cookie repeated in the form), so another
  site cannot post reports from its visitors' browsers and addresses;
* the case arrives as `received`: nothing is dispatched until a duty officer registers it, and
  a false report is voided there (作废) with a reason.

`CITYOPS_CITIZEN_REPORT=false` turns the page off (404).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from cityops.cases import Actor, CaseAccess
from cityops.config import Settings
from cityops.kit.errors import ProblemError
from cityops.kit.ratelimit import redis_client, shared_salt, window_for
from cityops.kit.scope import DataScope
from cityops.kit.web import client_ip
from cityops.portal.case_texts import problem_text
from cityops.portal.flash import clear_flash, set_flash, take_flash
from cityops.portal.forms import CITIZEN_PATH, MAX_FORM_PHOTOS, photo_files, read_form, text
from cityops.portal.gate import settings_of, tree_of
from cityops.portal.render import error_page, frame, render
from cityops.portal.report import new_submission
from cityops.portal.report_forms import (
    ReportValues,
    checked_report,
    common_categories,
    community_groups,
    open_report,
)
from cityops.portal.session import FormCookie

router = APIRouter(include_in_schema=False)
CITIZEN_TOKEN = FormCookie("cityops_h5", CITIZEN_PATH, "h5_token")
MOBILE = re.compile(r"1[3-9][0-9]{9}")
MAX_TEXT = 1000
ACTOR_NAME = "市民（H5 上报）"
HOUR, DAY = 3600.0, 86400.0


class CitizenLimits:
    """The per-IP and per-phone windows of one app (in Redis, shared by every worker, when set)."""

    def __init__(self, settings: Settings) -> None:
        self._redis = redis_client(settings.redis_url) if settings.redis_url else None
        self._salt_name = f"{settings.bus_prefix}:rl:citizen-salt"
        self.ip = window_for(
            settings, self._redis, "citizen-ip", settings.citizen_limit_per_ip, HOUR
        )
        self.phone = window_for(
            settings, self._redis, "citizen-phone", settings.citizen_limit_per_phone, DAY
        )
        self._salt: bytes | None = None

    async def phone_key(self, phone: str) -> str:
        """A salted digest: the limiter never holds phone numbers themselves."""
        if self._salt is None:  # every worker salts alike, or one phone counts apart in each
            self._salt = await shared_salt(self._redis, self._salt_name)
        return hashlib.sha256(self._salt + phone.encode()).hexdigest()


def limits_of(request: Request) -> CitizenLimits:
    """The app's citizen limits, made on first use."""
    state = request.app.state
    if getattr(state, "citizen_limits", None) is None:
        state.citizen_limits = CitizenLimits(settings_of(request))
    found: CitizenLimits = state.citizen_limits
    return found


async def _page(request: Request, values: ReportValues, status: int = 200) -> Response:
    tree = await tree_of(request)
    settings = settings_of(request)
    token = CITIZEN_TOKEN.token(request)
    context: dict[str, Any] = {
        "values": values,
        "token": token,
        "common": common_categories(),
        "communities": community_groups(
            tree, DataScope.of([settings.district_code]), settings.district_code
        ),
        "max_photos": MAX_FORM_PHOTOS,
        "max_mb": settings.media_max_bytes / 1048576,
        "max_text": MAX_TEXT,
        "flash": take_flash(request),
    }
    response = render("m/citizen.html", frame(request, tree), context, status=status)
    clear_flash(request, response)
    CITIZEN_TOKEN.keep(response, settings, token)
    return response


@router.get(CITIZEN_PATH)
async def citizen_form(request: Request) -> Response:
    """The public report form."""
    if not settings_of(request).citizen_report:
        return error_page(frame(request, await tree_of(request)), 404)
    return await _page(request, ReportValues(submission=new_submission()))


def _wait_text(seconds: float) -> str:
    """How long to wait, in whole minutes rounded up (never "0 分钟")."""
    return f"请 {int(seconds // 60) + 1} 分钟后再试"


def _refuse(values: ReportValues, message: str) -> ProblemError:
    values.errors = message.split("；")
    return ProblemError(400, "bad-request", message)


async def _check(request: Request, values: ReportValues, limits: CitizenLimits) -> None:
    """The citizen-only rules: the limits (every attempt counts), a mobile number, a short text."""
    address = client_ip(request)
    wait = await limits.ip.wait(address)
    if wait:
        raise ProblemError(429, "too-many-requests", _wait_text(wait))
    await limits.ip.count(address)
    problems = []
    if not MOBILE.fullmatch(values.phone):
        problems.append("手机号码：请填写 11 位手机号码，以便工作人员回访核实")
    if len(values.text) > MAX_TEXT:
        problems.append(f"问题描述：不能超过 {MAX_TEXT} 个字")
    if problems:
        # Every field to fix at once, not one per try (each try counts against the limit).
        try:
            checked_report(values, "h5-check", citizen=True)
        except ProblemError as exc:
            problems.append(problem_text(exc))
        raise _refuse(values, "；".join(problems))
    wait = await limits.phone.wait(await limits.phone_key(values.phone))
    if wait:
        raise ProblemError(429, "too-many-requests", "该手机号今日提交次数已达上限，请明天再试")


@router.post(CITIZEN_PATH)
async def citizen_submit(request: Request) -> Response:
    """Check the limits and the form, open the case as `received`, then thank the citizen."""
    settings = settings_of(request)
    if not settings.citizen_report:
        return error_page(frame(request, await tree_of(request)), 404)
    limits = limits_of(request)
    wait = await limits.ip.wait(client_ip(request))
    if wait:  # before reading a large body for nothing; say how long, not just "later"
        message = f"提交过于频繁，{_wait_text(wait)}"
        values = ReportValues(submission=new_submission(), errors=[message])
        return await _page(request, values, 429)
    form = await read_form(request)
    if not CITIZEN_TOKEN.valid(request, text(form, CITIZEN_TOKEN.field, 64)):
        message = "表单已过期，请刷新页面后重新填写。"
        return error_page(frame(request, await tree_of(request)), 403, message)
    values = ReportValues.of(form)
    if not values.submission.isalnum() or len(values.submission) != 32:
        values.submission = new_submission()
    try:
        await _check(request, values, limits)
        body = checked_report(values, f"h5-{values.submission}", citizen=True)
        files = await photo_files(form, "photos", settings.media_max_bytes)
        actor = Actor.system(ACTOR_NAME, settings.district_code)
        result = await open_report(request, actor, CaseAccess.everything(), body, files, None)
    except ProblemError as exc:
        if not values.errors:
            values.errors = [
                problem_text(exc) if exc.status != 429 else f"提交过于频繁：{exc.detail}"
            ]
        return await _page(request, values, exc.status if exc.status >= 400 else 400)
    await limits.phone.count(await limits.phone_key(values.phone))
    response = RedirectResponse(CITIZEN_PATH, status_code=303)
    note = (
        f"已收到您的报告，编号 {result.case.id}。工作人员核实后将安排处置，"
        "必要时会通过您留下的电话联系您。"
    )
    set_flash(response, "ok", note, secure=settings.cookie_secure)
    return response

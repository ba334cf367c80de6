"""What the two report pages share: category and place choices, checking a report, opening it.

A report is checked by the API's own `CaseCreate` schema and opened by the same `intake` as
`POST /api/v1/cases`, with source `mobile` (staff's phones) or `citizen` (the H5 page); its
photos are cleaned and stored in the same transaction, so a refused report leaves no photo rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import FormData

from cityops.cases import (
    Actor,
    CaseAccess,
    CaseCreate,
    CaseRecord,
    Intake,
    Kind,
    UnknownCategoryError,
    category_code,
    env_of,
    find_category,
    new_case,
    open_case,
    shipped_catalog,
)
from cityops.kit.bus import publish_all
from cityops.kit.db import unit_of_work
from cityops.kit.errors import ProblemError
from cityops.kit.scope import DataScope
from cityops.kit.web import sessionmaker_of
from cityops.media.service import MediaService, Uploader, ref_of
from cityops.org.models import COMMUNITY_LEVELS, TOWN_LEVELS
from cityops.org.tree import OrgTree
from cityops.portal.forms import PhotoFile, text

#: What people report most often, shown first as large buttons (the rest in a list below).
COMMON_CATEGORIES = (
    "event:0102",  # 暴露垃圾
    "event:0117",  # 垃圾满溢
    "event:0514",  # 占道经营
    "event:0201",  # 非法小广告
    "event:0505",  # 机动车乱停放
    "event:0506",  # 非机动车乱停放
    "event:0507",  # 乱堆物堆料
    "event:0110",  # 道路破损
    "event:0406",  # 道路积水
    "component:0101",  # 上水井盖
    "component:0118",  # 路灯
    "event:0607",  # 电动自行车违规充电
)
KIND_LABELS = {Kind.EVENT: "事件", Kind.COMPONENT: "部件", Kind.HOTLINE: "其他诉求"}
URGENCIES = (("normal", "一般"), ("urgent", "紧急"), ("critical", "特急"))


@dataclass(frozen=True, slots=True)
class Choice:
    """One option of a picker."""

    value: str
    label: str


@dataclass(frozen=True, slots=True)
class Group:
    """Options under a heading."""

    label: str
    choices: list[Choice]


def common_categories() -> list[Choice]:
    """The frequent categories, in order."""
    return [Choice(code, find_category(code).name) for code in COMMON_CATEGORIES]


def category_groups(kinds: Sequence[Kind] = (Kind.EVENT, Kind.COMPONENT)) -> list[Group]:
    """Every category of the catalogues, one group per major class."""
    groups: list[Group] = []
    for kind in kinds:
        catalog = shipped_catalog(kind)
        for major in catalog.majors:
            choices = [Choice(category_code(c), c.name) for c in catalog.in_major(major.code)]
            groups.append(Group(f"{KIND_LABELS[kind]} · {major.name}", choices))
    return groups


def community_groups(tree: OrgTree, scope: DataScope, district: str) -> list[Group]:
    """Communities to choose when the phone gives no location, grouped by town."""
    groups: list[Group] = []
    for town in tree.children(district, scope):
        if town.level not in TOWN_LEVELS:
            continue
        members = [
            Choice(n.code, n.name)
            for n in tree.children(town.code, scope)
            if n.level in COMMUNITY_LEVELS and scope.allows(n.code)
        ]
        if members:
            groups.append(Group(town.name, members))
    return groups


@dataclass
class ReportValues:
    """What the person typed, kept to show the form again after an error."""

    submission: str = ""
    category: str = ""
    text: str = ""
    lon: str = ""
    lat: str = ""
    org_code: str = ""
    address: str = ""
    urgency: str = "normal"
    name: str = ""
    phone: str = ""
    errors: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, form: FormData) -> ReportValues:
        """The fields of a posted report form."""
        return cls(
            submission=text(form, "submission", 64),
            category=text(form, "category", 64) or text(form, "category_other", 64),
            text=text(form, "text", 4000),
            lon=text(form, "lon", 32).strip(),
            lat=text(form, "lat", 32).strip(),
            org_code=text(form, "org_code", 32).strip(),
            address=text(form, "address", 256),
            urgency=text(form, "urgency", 16) or "normal",
            name=text(form, "name", 64).strip(),
            phone=text(form, "phone", 32).strip(),
        )


def checked_report(values: ReportValues, source_key: str, *, citizen: bool) -> CaseCreate:
    """The report as the API's schema checks it; 422 naming each bad field.

    A citizen's report (the H5 page) carries the reporter's contact and its own source, so
    the duty officer can pick out the residents' reports; staff's phones report as `mobile`.
    """
    raw: dict[str, object] = {
        "source": "citizen" if citizen else "mobile",
        "source_key": source_key,
        "category": values.category or "-",
        "text": values.text,
        "address": values.address,
        "urgency": values.urgency,
    }
    if values.lon or values.lat:
        raw["location"] = {"lon": values.lon or "-", "lat": values.lat or "-", "crs": "wgs84"}
    elif values.org_code:
        raw["org_code"] = values.org_code
    if citizen:
        raw["reporter"] = {"name": values.name or None, "phone": values.phone or None}
    try:
        body = CaseCreate.model_validate(raw)
        find_category(body.category)
    except ValidationError as exc:
        errors = [
            {"loc": [str(p) for p in e["loc"]], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
        if not _known_category(values.category):  # named with the rest, not on the next try
            errors.append(UNKNOWN_CATEGORY)
        raise ProblemError(422, "validation", "the report is not valid", errors=errors) from exc
    except UnknownCategoryError as exc:
        raise ProblemError(422, "validation", str(exc), errors=[UNKNOWN_CATEGORY]) from exc
    return body


UNKNOWN_CATEGORY = {"loc": ["body", "category"], "msg": "unknown category", "type": "value_error"}


def _known_category(code: str) -> bool:
    try:
        find_category(code or "-")
    except UnknownCategoryError:
        return False
    return True


def place_of(case: CaseRecord) -> str:
    """The finest unit a case lies in: where its photos belong for the data scope."""
    return case.community_code or case.unit_code or case.owner_code


async def open_report(
    request: Request,
    actor: Actor,
    access: CaseAccess,
    body: CaseCreate,
    files: Sequence[PhotoFile],
    uploader: Uploader | None,
) -> Intake:
    """Clean the photos, open the case and store the photos, in one transaction.

    Without an uploader (the public page) the photos belong to the place of the case.
    """
    env = env_of(request)
    async with unit_of_work(sessionmaker_of(request)) as session:
        media = MediaService(session, env.settings)
        cleaned = [await media.clean(f.data, "photos") for f in files]
        data = new_case(
            body,
            source=body.source.value,
            category=body.category,
            source_key=body.source_key,
            photos=[ref_of(p.sha256) for p in cleaned],
        )
        opened = await open_case(session, env, access, actor, data)
        result = opened.result
        if result.created:
            owner = uploader or Uploader(None, actor.name, place_of(result.case))
            for photo in cleaned:
                await media.save(photo, owner)
    await publish_all(env.bus, opened.events)
    return result

"""Open311 services from the category catalogue: codes, groups, keywords and definitions.

service_code is the case category with `-` for `:` — `component-0101` (部件 上水井盖),
`event-0102` — so it is URL-safe and maps back without a table. The 12345 request types
(`hotline:*`) are not offered: they classify hotline calls, not located problems.
"""

from __future__ import annotations

from typing import Any

from cityops.cases.catalog.shipped import (
    Category,
    Kind,
    LimitUnit,
    TimeLimit,
    UnknownCategoryError,
    shipped_catalog,
)
from cityops.kit.errors import NotFound

#: The catalogues offered as services, in this order.
OFFERED = (Kind.COMPONENT, Kind.EVENT)
KIND_LABELS = {Kind.COMPONENT: "部件", Kind.EVENT: "事件", Kind.HOTLINE: "12345"}
#: The attribute a component service takes: the 16-digit component ID (部件标识码).
COMPONENT_ATTRIBUTE = "component_id"


def service_code(category: Category) -> str:
    """The Open311 code of a category: `component-0101`, `event-0102`."""
    return f"{category.kind.value}-{category.key}"


def category_of(code: str) -> Category:
    """The category behind a service code; 404 for anything else."""
    kind_text, sep, key = code.partition("-")
    try:
        kind = Kind(kind_text)
        if not sep or kind not in OFFERED:
            raise UnknownCategoryError(code)
        return shipped_catalog(kind).get(key)
    except (ValueError, UnknownCategoryError):
        raise NotFound("service_code", code) from None


def limit_text(limit: TimeLimit) -> str:
    """A time limit in Chinese: 4个工作小时, 15个工作日."""
    value = int(limit.value) if float(limit.value).is_integer() else limit.value
    unit = "个工作日" if limit.unit is LimitUnit.WORKING_DAYS else "个工作小时"
    return f"{value}{unit}"


def _group(category: Category) -> str:
    major = category.major.name if category.major else ""
    return f"{KIND_LABELS[category.kind]}·{major}" if major else KIND_LABELS[category.kind]


def _description(category: Category) -> str:
    text = f"立案条件：{category.registration}；处置时限{limit_text(category.handle)}"
    if category.synthetic:
        text += "（示意标准，分类与时限以本区实际规定为准）"
    return text


def service(category: Category) -> dict[str, Any]:
    """One entry of GET services."""
    return {
        "service_code": service_code(category),
        "service_name": category.name,
        "description": _description(category),
        "metadata": category.kind is Kind.COMPONENT,
        "type": "realtime",
        "keywords": ", ".join(category.aliases),
        "group": _group(category),
    }


def services() -> list[dict[str, Any]]:
    """Every offered category as a GeoReport service, components first."""
    return [service(c) for kind in OFFERED for c in shipped_catalog(kind)]


def attributes(category: Category, district: str) -> list[dict[str, Any]]:
    """The extra fields a service takes: the component ID for components, none for events."""
    if category.kind is not Kind.COMPONENT:
        return []
    example = f"{district}{category.key}000123"
    return [
        {
            "variable": True,
            "code": COMPONENT_ATTRIBUTE,
            "datatype": "string",
            "required": False,
            "datatype_description": "16位部件标识码：区县代码6位+大类2位+小类2位+流水号6位",
            "order": 1,
            "description": f"部件标识码（见部件上的标牌，如 {example}）；不知道可不填",
            "values": [],
        }
    ]


def definition(category: Category, district: str) -> dict[str, Any]:
    """GET services/{code}: the service definition with its attributes."""
    return {"service_code": service_code(category), "attributes": attributes(category, district)}


def notice(category: Category) -> str:
    """service_notice: what happens next and in how much time."""
    text = f"已受理，将按「{category.name}」类问题流转处置，处置时限{limit_text(category.handle)}"
    if category.defaults_synthetic:
        text += "（示意标准）"
    return text

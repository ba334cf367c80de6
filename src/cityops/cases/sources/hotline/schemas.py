"""API shapes of the 12345 adapter: the work order as the hotline sends it, and our answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cityops.cases.http.schemas import CATEGORY, Location, ReporterIn
from cityops.cases.intake.opening import Urgency
from cityops.kit.web import NO_NUL, AwareInstant

ORDER_NO = r"^[0-9A-Za-z][0-9A-Za-z_\-]{0,63}$"
#: How 12345 systems write urgency (紧急程度).
URGENCY_WORDS = {"一般": Urgency.NORMAL, "紧急": Urgency.URGENT, "特急": Urgency.CRITICAL}


class HotlineOrderIn(BaseModel):
    """A 12345 work order (工单); field names in English, meanings in the descriptions."""

    model_config = ConfigDict(extra="forbid")

    order_no: str = Field(
        pattern=ORDER_NO, description="工单编号: the hotline's order number (the source key)"
    )
    request_type: str = Field(
        min_length=1,
        max_length=16,
        pattern=NO_NUL,
        description="诉求类型: 咨询, 求助, 投诉, 举报, 建议, 表扬 (感谢), 其他 — or hotline:01 …",
    )
    category: str | None = Field(
        default=None,
        pattern=CATEGORY,
        description="部件/事件 category when the hotline classified it (component:0101, 上水井盖 …)",
    )
    content: str = Field(min_length=1, max_length=4000, pattern=NO_NUL, description="诉求内容")
    address: str = Field(min_length=1, max_length=256, pattern=NO_NUL, description="事发地址")
    location: Location | None = Field(
        default=None, description="The point, in any supported CRS; absent: the address is geocoded"
    )
    caller: ReporterIn | None = Field(
        default=None, description="来电人 name and phone (personal data)"
    )
    called_at: AwareInstant | None = Field(default=None, description="来电时间")
    deadline: AwareInstant | None = Field(default=None, description="The hotline's own 办理时限")
    urgency: Urgency = Field(
        default=Urgency.NORMAL, description="normal/一般, urgent/紧急, critical/特急"
    )
    callback_url: str | None = Field(
        default=None,
        max_length=512,
        description="Where this order's callbacks go (http/https, an allowed host); "
        "default: the system's configured URL",
    )

    @field_validator("urgency", mode="before")
    @classmethod
    def _urgency_words(cls, value: Any) -> Any:
        return URGENCY_WORDS.get(value, value) if isinstance(value, str) else value

    @field_validator("callback_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"not a URL: {exc}") from exc
        if parts.scheme not in ("http", "https"):
            raise ValueError("the callback URL must use http or https")
        if not parts.hostname:
            raise ValueError("the callback URL needs a host")
        if parts.username is not None or parts.password is not None:
            raise ValueError("the callback URL must not carry credentials")
        if port == 0 or any(c.isspace() or ord(c) < 32 for c in value):
            raise ValueError("the callback URL is malformed")
        return value


class HotlineOrderRead(BaseModel):
    """The case opened for an order, as the hotline sees it."""

    order_no: str
    case_id: int
    created: bool = Field(description="false when the order number was already received")
    status: str
    status_label: str
    category: str
    request_type: str | None
    loop_level: str
    owner_code: str
    deadline: datetime | None = Field(description="Our handling deadline (after extensions)")
    hotline_deadline: datetime | None
    called_at: datetime | None
    located_by: str | None = Field(description="point | geocoder")
    geocode_level: str | None
    geocode_confidence: float | None
    callbacks: bool = Field(description="whether this order's steps are called back")
    duplicate_candidates: list[int] = Field(default_factory=list)


class EvaluationIn(BaseModel):
    """The citizen's verdict collected by the hotline (回访)."""

    model_config = ConfigDict(extra="forbid")

    satisfaction: int = Field(ge=1, le=5, description="1 (very unsatisfied) to 5 (very satisfied)")
    comment: str = Field(default="", max_length=2000, pattern=NO_NUL)

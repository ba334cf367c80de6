"""Request and response bodies of scenario templates, instances and scene events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cityops.iot.scenarios.params import ParamSpec

Severity = Literal["info", "minor", "major", "critical"]
Kind = Literal["threshold", "rate", "no_data", "composite", "geofence"]
Status = Literal["active", "acknowledged", "cleared"]
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
OrgCode = Annotated[str, Field(pattern=r"^[0-9]{6,24}$")]
DeviceId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Text = Annotated[str, Field(max_length=2000, pattern=r"^[^\x00]*$")]
Name = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[^\x00-\x1f]*$")]
#: Chinese words for the severities, as the portal shows them.
SEVERITY_LABELS = {"info": "提示", "minor": "一般", "major": "严重", "critical": "紧急"}
STATUS_LABELS = {"active": "告警中", "acknowledged": "已确认", "cleared": "已解除"}


class TemplateBody(BaseModel):
    """What a district author sends for a template version (the code is in the path or body)."""

    model_config = ConfigDict(extra="forbid")

    title: Name
    kind: Kind
    params: dict[Code, ParamSpec] = Field(max_length=12)
    severities: list[Severity] = Field(min_length=1, max_length=10)
    opens_case: bool = False
    category: str | None = Field(default=None, max_length=32, pattern=r"^[a-z]+:[0-9]{2,4}$")
    description: Text = ""
    source: Text = ""
    synthetic: bool = True


class TemplateCreate(TemplateBody):
    """A new template (version 1)."""

    code: Code


class TemplateRead(TemplateBody):
    """One template version."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    version: int
    kind: str  # type: ignore[assignment]  # stored rows may carry a plug-in's kind
    owner_code: str
    created_by: str
    created_at: datetime


class InstanceCreate(BaseModel):
    """A town instantiates a template for its devices (by ids, or by profile)."""

    model_config = ConfigDict(extra="forbid")

    template_code: Code
    template_version: int | None = Field(default=None, ge=1, le=2**31 - 1)  # None: the latest
    owner_code: OrgCode
    name: Name
    device_ids: list[DeviceId] = Field(default_factory=list, max_length=1000)
    profile: Code | None = None
    overrides: dict[Code, Any] = Field(default_factory=dict, max_length=12)


class InstanceUpdate(BaseModel):
    """Change an instance's overrides, move it to another template version, or switch it."""

    model_config = ConfigDict(extra="forbid")

    overrides: dict[Code, Any] | None = Field(default=None, max_length=12)
    template_version: int | None = Field(default=None, ge=1, le=2**31 - 1)
    enabled: bool | None = None


class InstanceRead(BaseModel):
    """An instance with its pinned version, its params, and the engine's counters."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    owner_code: str
    name: str
    template_code: str
    template_version: int
    latest_version: int = 0
    device_ids: list[str]
    profile: str | None
    overrides: dict[str, Any]
    params: dict[str, Any]
    enabled: bool
    disabled_reason: str
    stats: dict[str, Any] = Field(default_factory=dict)


class SceneEventRead(BaseModel):
    """A scene event and where it is in its life cycle."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    instance_id: int
    template_code: str
    title: str
    device_id: str
    owner_code: str
    severity: str
    level: int
    status: str
    value: str
    detail: str
    fired_at: datetime
    acked_at: datetime | None
    acked_by: str | None
    cleared_at: datetime | None
    cleared_by: str | None
    case_key: str | None

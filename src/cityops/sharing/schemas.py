"""Request and response bodies of sharing: applications, decisions, grants, the access log."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from cityops.kit.web import AwareInstant

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def plain_text(value: str) -> str:
    """Trimmed text without control characters; blank is refused."""
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


KindName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,19}\.[a-z][a-z0-9_]{0,19}$")]
ResourceId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")]
DataKey = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_.\-]{0,63}$")]
Text = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(plain_text)]


class ApplicationCreate(BaseModel):
    """An application (共享申请): a kind × resources × keys × data window × purpose × expiry."""

    model_config = ConfigDict(extra="forbid")

    kind: KindName = Field(description="The resource kind, e.g. iot.device or iot.scenario")
    resource_ids: list[ResourceId] = Field(min_length=1, max_length=200)
    keys: list[DataKey] | None = Field(
        default=None, min_length=1, max_length=50, description="Data keys; omitted: every key"
    )
    data_from: AwareInstant | None = Field(default=None, description="Earliest data time")
    data_until: AwareInstant | None = Field(default=None, description="Latest data time")
    purpose: Text = Field(description="What the data is for (用途)")
    expires_at: AwareInstant = Field(description="When the grant ends (授权到期)")

    @model_validator(mode="after")
    def _window(self) -> ApplicationCreate:
        if self.data_from and self.data_until and self.data_from > self.data_until:
            raise ValueError("data_from must not be after data_until")
        return self


class Reason(BaseModel):
    """Why an application is rejected or a grant revoked."""

    model_config = ConfigDict(extra="forbid")

    reason: Text


class Approval(BaseModel):
    """An approval, with an optional comment for the record."""

    model_config = ConfigDict(extra="forbid")

    comment: Annotated[str, Field(max_length=500)] = ""


class ApplicationRead(BaseModel):
    """An application as its applicant or its owner side sees it."""

    id: int
    kind: str
    kind_label: str
    resource_ids: list[str]
    keys: list[str] | None
    data_from: datetime | None
    data_until: datetime | None
    purpose: str
    expires_at: datetime
    grantee_code: str
    owner_code: str
    status: str
    status_label: str
    applicant: str
    applied_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None
    actions: list[str] = Field(description="What the caller may do now")
    grant_ids: list[int]


class GrantRead(BaseModel):
    """A grant of one resource to a unit."""

    id: int
    application_id: int
    kind: str
    resource_id: str
    grantee_code: str
    owner_code: str
    keys: list[str] | None
    data_from: datetime | None
    data_until: datetime | None
    granted_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    live: bool


class AccessRead(BaseModel):
    """One access through a grant."""

    id: int
    grant_id: int
    actor: str
    action: str
    count: int
    at: datetime


class KindRead(BaseModel):
    """A kind of shareable resource."""

    name: str
    label: str
    keyed: bool


class CheckRead(BaseModel):
    """Whether the caller's unit holds a live grant for a resource (and key, and data time)."""

    allowed: bool
    grant_id: int | None = None
    expires_at: datetime | None = None

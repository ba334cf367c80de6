"""Request and response bodies of town pages and their link tokens."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: The grid every page is laid out on: 12 columns, rows of a fixed height.
COLUMNS = 12
MAX_ROWS = 48
MAX_WIDGETS = 24
#: Internal pages an app widget may show: same-origin portal pages, never another origin.
APP_PREFIXES = ("/cases", "/map/embed", "/overview/", "/org/", "/screen/")
_PATH_CHARS = re.compile(r"/[A-Za-z0-9/_\-.~%?=&,:+]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
PHOTO_REF = r"^photo:[0-9a-f]{64}$"

Title = Annotated[str, Field(min_length=1, max_length=60)]
WidgetTitle = Annotated[str, Field(max_length=30)]
LayerName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]


def plain_text(value: str) -> str:
    """Trimmed text without control characters (NUL and friends are refused)."""
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value.strip()


def internal_path(value: str) -> str:
    """A same-origin page path under the allowed prefixes; anything with an origin is refused."""
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or value.startswith("//") or "\\" in value:
        raise ValueError("must be a path on this platform, not another origin")
    if not _PATH_CHARS.fullmatch(value) or ".." in value:
        raise ValueError("must be a plain path such as /cases?unit=310117102")
    if not value.startswith(APP_PREFIXES):
        raise ValueError(f"must start with one of {', '.join(APP_PREFIXES)}")
    return value


class WidgetOptions(BaseModel):
    """How a widget is drawn over the background."""

    model_config = ConfigDict(extra="forbid")

    opacity: int = Field(90, ge=30, le=100, description="Card opacity in percent")


class Widget(BaseModel):
    """One widget: an overview part, a map of chosen layers or an internal page, on the grid."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["part", "map", "app"]
    part: str | None = Field(None, max_length=32, description="kind=part: an overview part key")
    layers: list[LayerName] | None = Field(None, max_length=8, description="kind=map")
    path: str | None = Field(None, max_length=300, description="kind=app: e.g. /cases?unit=…")
    title: WidgetTitle = ""
    x: int = Field(ge=0, lt=COLUMNS)
    y: int = Field(ge=0, lt=MAX_ROWS)
    w: int = Field(ge=1, le=COLUMNS)
    h: int = Field(ge=1, le=12)
    options: WidgetOptions = Field(default_factory=WidgetOptions)

    _title = field_validator("title")(plain_text)

    @field_validator("path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        return None if value is None else internal_path(value)

    @model_validator(mode="after")
    def _shape(self) -> Widget:
        if self.x + self.w > COLUMNS:
            raise ValueError(f"x + w must be at most {COLUMNS} (the grid has {COLUMNS} columns)")
        if self.y + self.h > MAX_ROWS:
            raise ValueError(f"y + h must be at most {MAX_ROWS}")
        wanted = {"part": self.part, "map": self.layers, "app": self.path}
        if not wanted[self.kind]:
            field = {"part": "part", "map": "layers", "app": "path"}[self.kind]
            raise ValueError(f"a {self.kind} widget needs {field}")
        extra = [k for k, v in wanted.items() if k != self.kind and v is not None]
        if extra:
            raise ValueError(f"a {self.kind} widget must not carry {', '.join(extra)}")
        return self


class PageWrite(BaseModel):
    """A page as the town saves it; `version` is the one read (0 when the town had none)."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    background: str | None = Field(None, pattern=PHOTO_REF, description="photo:<sha256>")
    background_kind: Literal["image", "panorama"] = "image"
    widgets: list[Widget] = Field(max_length=MAX_WIDGETS)
    version: int = Field(ge=0, le=2**31 - 1)

    _title = field_validator("title")(plain_text)


class PageRead(BaseModel):
    """A town's page (or the default one composed of its overview parts)."""

    code: str
    name: str
    title: str
    background: str | None
    background_kind: str
    background_url: str | None
    widgets: list[Widget]
    version: int
    is_default: bool
    updated_by: str | None
    updated_at: datetime | None


class LinkCreate(BaseModel):
    """A link token to issue: a label saying who it is for, and its lifetime."""

    model_config = ConfigDict(extra="forbid")

    label: Title
    hours: int = Field(24, ge=1, le=24 * 90, description="Lifetime (at most 90 days)")

    _label = field_validator("label")(plain_text)


class LinkRead(BaseModel):
    """A link token as listed (never the token itself)."""

    id: int
    code: str
    label: str
    issued_by: str
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None
    state: Literal["active", "expired", "revoked"]


class LinkIssued(LinkRead):
    """A freshly issued link: the only time its token and URLs are shown."""

    token: str
    page_url: str
    overview_url: str

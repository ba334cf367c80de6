"""API shapes of the media module."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class PhotoRead(BaseModel):
    """A stored photo: the reference to put into a case's `photos`, and where to get it."""

    ref: str = Field(description='"photo:<sha256>": give this in a case\'s photos')
    sha256: str
    content_type: str
    bytes: int
    width: int
    height: int
    url: str
    thumb_url: str
    created: bool = Field(description="False when you had uploaded the same photo before")
    created_at: datetime

"""Tables of the media module: one row per stored photo and uploader."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cityops.kit.db import Base, UTCDateTime, utcnow


class MediaPhoto(Base):
    """A photo someone uploaded (照片): its clean file's sha256, and whose it is.

    The file is stored once per content; each uploader of the same content gets its own row, so
    `org_code` (the data scope) and `uploader_id` say who may see it through the media API.
    """

    __tablename__ = "media_photo"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content_type: Mapped[str] = mapped_column(String(32))
    bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    thumb_bytes: Mapped[int] = mapped_column(Integer)
    uploader_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True
    )
    uploader: Mapped[str] = mapped_column(String(64))  # username, or the public page's name
    org_code: Mapped[str] = mapped_column(String(24), index=True)  # the data-scope code
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

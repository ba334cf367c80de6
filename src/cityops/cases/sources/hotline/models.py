"""What a 12345 work order brings beyond its case: the hotline's own fields and its callback."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cityops.kit.db import Base, UTCDateTime


class HotlineOrder(Base):
    """A 12345 work order (工单) and the case opened for it."""

    __tablename__ = "hotline_order"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_no: Mapped[str] = mapped_column(String(64), unique=True)  # 工单编号 = the source key
    case_id: Mapped[int] = mapped_column(
        ForeignKey("case_record.id", ondelete="CASCADE"), unique=True
    )
    request_type: Mapped[str] = mapped_column(String(32))  # hotline:01 … (咨询, 求助 …)
    system_account_id: Mapped[int | None] = mapped_column(Integer, index=True)
    system_name: Mapped[str] = mapped_column(String(64))  # the system client's username
    callback_url: Mapped[str | None] = mapped_column(Text)
    secret_ref: Mapped[str | None] = mapped_column(String(96))  # names the signing secret
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 来电时间
    hotline_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the hotline's 办理时限
    located_by: Mapped[str] = mapped_column(String(16))  # point | geocoder
    geocode_level: Mapped[str | None] = mapped_column(String(16))
    geocode_confidence: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

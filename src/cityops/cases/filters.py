"""The list filters of cases, as the API, the workbench and the phone pages pass them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class CaseFilter:
    """List filters of GET /api/v1/cases."""

    statuses: tuple[str, ...] = ()
    source: str | None = None
    category: str | None = None
    loop_level: str | None = None
    unit: str | None = None  # owner code prefix
    overdue: bool | None = None
    supervised: bool | None = None
    created_since: datetime | None = None
    created_until: datetime | None = None

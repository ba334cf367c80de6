"""The retention hook point: modules register what their data class keeps, and for how long.

The life-cycle job (cityops.lifecycle) runs every rule contributed to `RETENTION_RULES` on each
pass, one batch per transaction until a rule has nothing more due, and audits each batch. A
module with data of its own (the IoT hub's telemetry, say) contributes a rule in its manifest:

    contributes=(Contribution("lifecycle.retention", "cityops.iot.retention:TELEMETRY_RULE"),)

without importing the life-cycle module; the rule reads its period from the settings.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cityops.config import Settings
from cityops.kit.module import ExtensionPoint

#: One batch of due work at `now`: returns the ids (or keys) it anonymised or purged.
RetentionStep = Callable[[AsyncSession, Settings, datetime], Awaitable[list[str]]]


@dataclass(frozen=True, slots=True)
class RetentionRule:
    """What happens to one data class's rows when their retention is over."""

    name: str  # stable, e.g. "case.content"; the audit action is `retention.<name>`
    data_class: str  # personal | case | telemetry | audit (docs/lifecycle.md)
    what: str  # for people: 清除已办结超期案件的描述、地址、位置与照片
    step: RetentionStep


RETENTION_RULES: ExtensionPoint[RetentionRule] = ExtensionPoint("lifecycle.retention")

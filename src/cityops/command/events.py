"""Events command and dispatch (指挥体系, R9) publishes: the contract its consumers build on."""

from __future__ import annotations

from pydantic import Field

from cityops.kit.events import PointReport


class IncidentDeclared(PointReport):
    """The command centre declared an incident at a place; the event flow follows it as a case.

    `key` is the incident number (the case's source key); `owner_code` the org unit in
    command; `level` the response level of the contingency plan (I–IV, 1 the highest).
    """

    name = "command.incident_declared"
    level: int = Field(default=4, ge=1, le=4)

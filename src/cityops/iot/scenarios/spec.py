"""What the engine runs for one instance: its template version resolved, its params checked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One instance as the engine runs it (built from the instance and its pinned template)."""

    instance_id: int
    owner_code: str
    name: str
    template_code: str
    template_version: int
    title: str
    kind: str
    params: dict[str, Any]
    severities: tuple[str, ...]
    opens_case: bool
    category: str | None
    device_ids: frozenset[str]  # empty: every device of `profile` the owner has
    profile: str | None
    enabled: bool

    def severity(self, level: int) -> str:
        """The severity of a firing at a level (the last one for levels beyond the list)."""
        return self.severities[min(level, len(self.severities) - 1)] if self.severities else "minor"

    def selects(self, device_id: str, owner_code: str, profile: str | None) -> bool:
        """Whether a device of an owner and profile is one this instance watches."""
        if owner_code != self.owner_code:
            return False
        if self.device_ids:
            return device_id in self.device_ids
        return self.profile is None or profile == self.profile

    @property
    def fingerprint(self) -> tuple[Any, ...]:
        """What, when it changes, makes the engine start the instance afresh."""
        return (
            self.template_version,
            repr(sorted(self.params.items())),
            self.enabled,
            tuple(sorted(self.device_ids)),
            self.profile,
            self.opens_case,
            self.category,
        )

"""Which devices a caller may see: every device read path of the hub asks this one file.

Today: a device is visible when its owner code is inside the caller's data scope (kit/scope).
The sharing module (分层共享) adds granted devices here, so the API, tiles, exports and
subscriptions all follow one rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select

from cityops.auth.principal import Principal
from cityops.iot.models import Device
from cityops.kit.scope import DataScope, scoped

S = TypeVar("S", bound=Select[*tuple[Any, ...]])


@dataclass(frozen=True, slots=True)
class DeviceAccess:
    """The devices (and their readings, dead letters) a caller may read."""

    scope: DataScope

    @classmethod
    def of(cls, principal: Principal) -> DeviceAccess:
        """The access of a request's caller."""
        return cls(principal.scope)

    @classmethod
    def everything(cls) -> DeviceAccess:
        """Every device (the platform's own tasks)."""
        return cls(DataScope.everything())

    def clause(self) -> ColumnElement[bool]:
        """The SQL condition over iot_device that keeps the visible devices."""
        return self.scope.clause(Device.owner_code)

    def apply(self, stmt: S) -> S:
        """Restrict a SELECT over iot_device to the visible devices."""
        return scoped(stmt, Device.owner_code, self.scope)

    def allows(self, owner_code: str) -> bool:
        """Whether a device owned by `owner_code` is visible."""
        return self.scope.allows(owner_code)

    def key(self) -> str:
        """A cache key: two callers with the same key see the same devices."""
        return ",".join(sorted(self.scope.prefixes)) or "-"


def may_manage(principal: Principal, owner_code: str) -> bool:
    """Whether a caller may register or change devices of `owner_code` (its own units only)."""
    return principal.scope.allows(owner_code)

"""Which devices a caller may see: every device read path of the hub asks this one file.

A device is visible when its owner code is inside the caller's data scope (kit/scope), or when
the caller's unit holds a live sharing grant for it (分层共享: cityops.sharing). A granted device
shows only the granted keys, and only readings inside the granted data window; every read
through a grant is logged. Grants are read from the database with the request, so a revocation
is refused by every worker on its next request. Management (tokens, registration) stays with
the owner's scope alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, or_, true
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth.principal import Principal
from cityops.iot.models import Device, Telemetry
from cityops.kit.scope import DataScope, scoped
from cityops.sharing import Grant, grants_by_resource, log_access

S = TypeVar("S", bound=Select[*tuple[Any, ...]])

#: The sharing kind of a device (registered by iot/sharing_kind.py).
DEVICE_KIND = "iot.device"


@dataclass(frozen=True, slots=True)
class DeviceAccess:
    """The devices (and their readings, dead letters) a caller may read."""

    scope: DataScope
    #: Live grants of devices outside the scope, by device id.
    grants: Mapping[str, tuple[Grant, ...]] = field(default_factory=dict)
    principal: Principal | None = None

    @classmethod
    def of(cls, principal: Principal) -> DeviceAccess:
        """The caller's own scope only (management: registering, tokens)."""
        return cls(principal.scope)

    @classmethod
    async def load(
        cls, session: AsyncSession, principal: Principal, now: datetime | None = None
    ) -> DeviceAccess:
        """The caller's scope and the live grants its unit holds (read paths)."""
        found = await grants_by_resource(session, principal, DEVICE_KIND, now)
        return cls(principal.scope, {k: tuple(v) for k, v in found.items()}, principal)

    @classmethod
    def everything(cls) -> DeviceAccess:
        """Every device (the platform's own tasks)."""
        return cls(DataScope.everything())

    def clause(self) -> ColumnElement[bool]:
        """The SQL condition over iot_device that keeps the visible devices."""
        own = self.scope.clause(Device.owner_code)
        if not self.grants:
            return own
        return or_(own, Device.id.in_(sorted(self.grants)))

    def apply(self, stmt: S) -> S:
        """Restrict a SELECT over iot_device to the visible devices."""
        if not self.grants:
            return scoped(stmt, Device.owner_code, self.scope)
        return stmt.where(self.clause())

    def allows(self, owner_code: str) -> bool:
        """Whether a device owned by `owner_code` is in the caller's own scope."""
        return self.scope.allows(owner_code)

    def granted(self, device: Device) -> tuple[Grant, ...]:
        """The grants through which the caller sees a device (none: its own, or unseen)."""
        if self.scope.allows(device.owner_code):
            return ()
        return self.grants.get(device.id, ())

    def may_read(self, device: Device, key: str, at: datetime | None = None) -> bool:
        """Whether the caller may read `key` of the device (at data time `at`)."""
        if self.scope.allows(device.owner_code):
            return True
        return any(g.permits(key, at) for g in self.grants.get(device.id, ()))

    def window(self, device: Device, key: str) -> ColumnElement[bool]:
        """The SQL condition over iot_telemetry.ts of the granted windows for a key."""
        if self.scope.allows(device.owner_code):
            return true()
        parts = [_window(g) for g in self.grants.get(device.id, ()) if g.covers_key(key)]
        return or_(*parts) if parts else Telemetry.ts.is_(None)

    def log(self, session: AsyncSession, device: Device, action: str, count: int = 1) -> None:
        """Log one read of a device through its grants (nothing when it is the caller's own)."""
        grants = self.granted(device)
        if grants and self.principal is not None:
            log_access(session, self.principal, grants, action, count)

    def key(self) -> str:
        """A cache key: two callers with the same key see the same devices."""
        own = ",".join(sorted(self.scope.prefixes)) or "-"
        if not self.grants:
            return own
        ids = ",".join(str(g.id) for gs in self.grants.values() for g in gs)
        return f"{own}|{ids}"


def _window(grant: Grant) -> ColumnElement[bool]:
    bounds = []
    if grant.data_from is not None:
        bounds.append(Telemetry.ts >= grant.data_from)
    if grant.data_until is not None:
        bounds.append(Telemetry.ts <= grant.data_until)
    return and_(true(), *bounds)


def may_manage(principal: Principal, owner_code: str) -> bool:
    """Whether a caller may register or change devices of `owner_code` (its own units only)."""
    return principal.scope.allows(owner_code)

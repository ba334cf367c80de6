"""Sharing (分层共享): units apply for other owners' resources; approval creates revocable grants.

The public face other modules use: register a `ResourceKind` at `KINDS`, and on every read path
ask `active_grants` / `grants_by_resource` / `granting` / `allows`, then `log_access`.
"""

from cityops.sharing.access import (
    Grant,
    active_grants,
    allows,
    granting,
    grants_by_resource,
    grants_state,
    log_access,
    units_above,
)
from cityops.sharing.kinds import KINDS, KindRegistry, ResourceKind

__all__ = [
    "KINDS",
    "Grant",
    "KindRegistry",
    "ResourceKind",
    "active_grants",
    "allows",
    "granting",
    "grants_by_resource",
    "grants_state",
    "log_access",
    "units_above",
]

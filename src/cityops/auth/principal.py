"""The authenticated caller of a request: who, with which role, seeing which data."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from cityops.auth.roles import Perm, permissions_of
from cityops.kit.scope import DataScope


@dataclass(frozen=True, slots=True)
class Principal:
    """A verified account behind a token, with its permissions and data scope."""

    account_id: int
    username: str
    display_name: str
    role: str
    org_code: str
    department_id: int | None
    scope: DataScope
    must_change_password: bool
    token_id: int
    token_kind: str
    must_enrol_totp: bool = False  # a role that needs two factors, not yet enrolled
    allowed_networks: tuple[str, ...] = ()  # an API key's allow-list (CIDR); empty: anywhere
    sources: frozenset[str] = frozenset()  # a system client's granted case sources

    def may_submit_for(self, source: str) -> bool:
        """Whether the security admin granted this (system client) account the source."""
        return source in self.sources

    @property
    def permissions(self) -> frozenset[Perm]:
        """What the role may do."""
        return permissions_of(self.role)

    def can(self, permission: Perm) -> bool:
        """Whether the role holds a permission."""
        return permission in self.permissions

    def may_call_from(self, client_ip: str) -> bool:
        """Whether a request from this address may use the token (an API key's allow-list)."""
        if not self.allowed_networks:
            return True
        try:
            address = ipaddress.ip_address(client_ip)
        except ValueError:
            return False  # no address, no admission
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in ipaddress.ip_network(net) for net in self.allowed_networks)

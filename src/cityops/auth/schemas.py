"""API shapes of authentication, accounts and the audit log."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    computed_field,
)

from cityops.auth.roles import Role
from cityops.kit.web import MAX_INT, NO_NUL

USERNAME = r"^[A-Za-z0-9_.@-]{2,64}$"


def _network(text: str) -> str:
    """An address or CIDR network in its normal form (10.1.2.3 → 10.1.2.3/32)."""
    try:
        return str(ipaddress.ip_network(text.strip(), strict=False))
    except ValueError:
        raise ValueError("not an IP address or CIDR network") from None


Network = Annotated[str, StringConstraints(max_length=64), AfterValidator(_network)]
Networks = Annotated[list[Network], Field(max_length=32)]
ORG_CODE = r"^[0-9]{6}[0-9A-Z]{0,18}$"


class LoginRequest(BaseModel):
    """Credentials for a login."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64, pattern=NO_NUL)
    password: str = Field(min_length=1, max_length=256)


class LoginCode(BaseModel):
    """Step 2 of a two-factor login: the challenge of step 1 and a TOTP or recovery code."""

    model_config = ConfigDict(extra="forbid")

    challenge: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    code: str = Field(min_length=1, max_length=64, pattern=NO_NUL)


class CodeRequired(BaseModel):
    """The password was right; send a code with this challenge to /api/v1/auth/login/code."""

    code_required: bool = True
    challenge: str
    expires_in: int


class TotpStatus(BaseModel):
    """Whether the caller signs in with two factors, and must."""

    enrolled: bool
    required: bool
    recovery_codes_left: int


class TotpEnrolment(BaseModel):
    """A new secret, shown this once: as text, as an otpauth:// URI and as a QR code (SVG)."""

    secret: str
    otpauth_uri: str
    qr_svg: str


class TotpCode(BaseModel):
    """A code from the authenticator app (or, where said, a recovery code)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, pattern=NO_NUL)


class RecoveryCodes(BaseModel):
    """One-time recovery codes, shown this once; each signs in once in place of a TOTP code."""

    recovery_codes: list[str]


class SignInLock(BaseModel):
    """An address the account's name is locked from (the sign-in throttle), and until when."""

    client_ip: str
    locked_until: datetime


class AccountRead(BaseModel):
    """An account as admins and its owner see it (never the password hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: Role
    org_code: str
    department_id: int | None
    extra_scope: list[str]
    source_grants: list[str] = Field(
        default_factory=list, description="System clients: the case sources it may submit for"
    )
    active: bool
    must_change_password: bool
    sign_in_locks: list[SignInLock] = Field(
        default_factory=list,
        description="Addresses locked out after failed sign-ins now (per name and address)",
    )
    last_login_at: datetime | None
    created_at: datetime


class LoginResponse(BaseModel):
    """A successful login: the bearer token (also set as the portal's cookie)."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int
    must_change_password: bool
    account: AccountRead


class MeRead(BaseModel):
    """Who the caller is, what they may do and which data they see."""

    account: AccountRead
    permissions: list[str]
    scope: list[str] = Field(description="Org-code prefixes the caller may see")
    token_kind: str


class PasswordChange(BaseModel):
    """Change one's own password."""

    model_config = ConfigDict(extra="forbid")

    old_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class AccountCreate(BaseModel):
    """Open an account; without a password a one-time password is generated."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=USERNAME)
    role: Role
    org_code: str = Field(pattern=ORG_CODE)
    display_name: str = Field(default="", max_length=128, pattern=NO_NUL)
    department_id: int | None = Field(default=None, ge=1, le=MAX_INT)
    password: str | None = Field(default=None, min_length=1, max_length=256)


class AccountCreated(BaseModel):
    """The new account and, once, its one-time password."""

    account: AccountRead
    one_time_password: str | None


class AccountUpdate(BaseModel):
    """Fields to change; absent fields stay."""

    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, max_length=128, pattern=NO_NUL)
    role: Role | None = None
    org_code: str | None = Field(default=None, pattern=ORG_CODE)
    department_id: int | None = Field(default=None, ge=1, le=MAX_INT)
    active: bool | None = None
    extra_scope: list[Annotated[str, StringConstraints(pattern=ORG_CODE)]] | None = Field(
        default=None, max_length=50
    )


class SourceGrants(BaseModel):
    """The case sources a system client may submit for (replaces the list)."""

    model_config = ConfigDict(extra="forbid")

    sources: list[Annotated[str, StringConstraints(max_length=32, pattern=NO_NUL)]] = Field(
        max_length=16,
        description="hotline_12345, grid, town_system or upper_platform; empty: none",
    )


class AccountPage(BaseModel):
    """A page of accounts."""

    items: list[AccountRead]
    total: int
    limit: int
    offset: int


class PasswordReset(BaseModel):
    """A one-time password, shown once."""

    one_time_password: str


class ApiKeyCreate(BaseModel):
    """Name a new API key."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128, pattern=NO_NUL)
    allowed_networks: Networks = Field(
        default_factory=list,
        description="Addresses or CIDR networks the key may be used from; empty: anywhere.",
    )


class ApiKeyNetworks(BaseModel):
    """Replace an API key's allow-list."""

    model_config = ConfigDict(extra="forbid")

    allowed_networks: Networks


class ApiKeyRead(BaseModel):
    """An API key without its secret."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    allowed_networks: list[str]
    created_at: datetime
    last_seen_at: datetime | None
    revoked_at: datetime | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def unrestricted(self) -> bool:
        """No allow-list: usable from any address (未限制来源); set one (PUT …/networks)."""
        return not self.allowed_networks


class AccountKeyRead(ApiKeyRead):
    """An API key with the system client it belongs to (the security admin's list)."""

    account_id: int
    username: str


class ApiKeyCreated(BaseModel):
    """A new key; the secret is shown this once."""

    key: ApiKeyRead
    secret: str


class AuditRead(BaseModel):
    """One audit entry."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    actor_org: str
    action: str
    target: str
    result: str
    client_ip: str
    detail: dict[str, Any]


class AuditPage(BaseModel):
    """A page of audit entries, newest first."""

    items: list[AuditRead]
    total: int
    limit: int
    offset: int

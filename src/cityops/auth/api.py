"""HTTP endpoints of authentication (/api/v1/auth) and accounts; the audit log's are in audit_api."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from cityops.auth import accounts as account_service
from cityops.auth import service
from cityops.auth import sources as source_grants
from cityops.auth.deps import SESSION_COOKIE, CurrentPrincipal, PrincipalCache, require
from cityops.auth.models import Account
from cityops.auth.principal import Principal
from cityops.auth.repository import AccountRepository
from cityops.auth.roles import Perm, Role
from cityops.auth.schemas import (
    AccountCreate,
    AccountCreated,
    AccountKeyRead,
    AccountPage,
    AccountRead,
    AccountUpdate,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyNetworks,
    ApiKeyRead,
    CodeRequired,
    LoginRequest,
    LoginResponse,
    MeRead,
    PasswordChange,
    PasswordReset,
    SignInLock,
    SourceGrants,
)
from cityops.auth.signin import mfa, throttle
from cityops.auth.signin.replies import now_of, refusal, session_reply
from cityops.config import Settings
from cityops.kit.errors import NotFound, ProblemError
from cityops.kit.web import MAX_INT, NO_NUL, ClientIp, DbSession

auth_router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
accounts_router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"])

AccountReader = Annotated[Principal, Depends(require(Perm.ACCOUNT_READ))]
AccountWriter = Annotated[Principal, Depends(require(Perm.ACCOUNT_WRITE, Perm.ACCOUNT_GRANT))]
Granter = Annotated[Principal, Depends(require(Perm.ACCOUNT_GRANT))]
AccountId = Annotated[int, Path(ge=1, le=MAX_INT)]
KeyId = Annotated[int, Path(ge=1, le=MAX_INT)]
Offset = Annotated[int, Query(ge=0, le=MAX_INT)]


async def _reads(
    session: DbSession, request: Request, accounts: Sequence[Account]
) -> list[AccountRead]:
    """Accounts as read, each with the addresses its name is locked from now (the throttle)."""
    locks = await throttle.locks_of(session, [a.username for a in accounts], now_of(request))
    return [
        AccountRead.model_validate(account).model_copy(
            update={
                "sign_in_locks": [
                    SignInLock(client_ip=ip, locked_until=until)
                    for ip, until in locks.get(account.username, [])
                ]
            }
        )
        for account in accounts
    ]


async def _read(session: DbSession, request: Request, account: Account) -> AccountRead:
    return (await _reads(session, request, [account]))[0]


def _cache(request: Request) -> PrincipalCache:
    cache: PrincipalCache = request.app.state.principal_cache
    return cache


@auth_router.post(
    "/login",
    response_model=LoginResponse | CodeRequired,
    summary="Log in",
    responses={401: {"description": "Wrong credentials"}, 429: {"description": "Locked"}},
)
async def login(
    body: LoginRequest, request: Request, response: Response, session: DbSession, ip: ClientIp
) -> LoginResponse | CodeRequired:
    """Exchange username and password for a bearer token, or for a challenge when a code is due."""
    settings: Settings = request.app.state.settings
    result = await service.login(
        session, settings, body.username, body.password, ip, now_of(request)
    )
    if result.outcome is service.LoginOutcome.CODE_REQUIRED:
        assert result.token is not None
        return CodeRequired(challenge=result.token, expires_in=result.expires_in)
    if result.outcome is not service.LoginOutcome.OK:
        raise refusal(result, settings)
    return session_reply(response, result, settings)


@auth_router.post("/logout", status_code=204, summary="Log out")
async def logout(
    principal: CurrentPrincipal, request: Request, session: DbSession, ip: ClientIp
) -> Response:
    """Revoke the token used for this request and clear the portal cookie."""
    await service.logout(session, principal, ip)
    _cache(request).forget_account(principal.account_id)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@auth_router.get("/me", response_model=MeRead, summary="Who am I")
async def me(principal: CurrentPrincipal, session: DbSession, request: Request) -> MeRead:
    """The caller's account, permissions and data scope."""
    account = await AccountRepository(session).get_unscoped(principal.account_id)
    if account is None:
        raise NotFound("account", principal.account_id)
    return MeRead(
        account=await _read(session, request, account),
        permissions=sorted(p.value for p in principal.permissions),
        scope=sorted(principal.scope.prefixes),
        token_kind=principal.token_kind,
    )


@auth_router.post("/password", status_code=204, summary="Change my password")
async def change_password(
    body: PasswordChange,
    principal: CurrentPrincipal,
    request: Request,
    session: DbSession,
    ip: ClientIp,
) -> Response:
    """Change one's own password; other sessions of the account end."""
    if principal.token_kind != "session":
        raise ProblemError(403, "forbidden", "API keys have no password")
    await service.change_password(session, principal, body.old_password, body.new_password, ip)
    _cache(request).forget_account(principal.account_id)
    return Response(status_code=204)


@accounts_router.get("", response_model=AccountPage, summary="List accounts")
async def list_accounts(
    principal: AccountReader,
    session: DbSession,
    request: Request,
    role: Role | None = None,
    q: Annotated[str, Query(max_length=64, pattern=NO_NUL)] = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> AccountPage:
    """Accounts inside your data scope."""
    rows, total = await account_service.list_accounts(
        session, principal, role=role, q=q, limit=limit, offset=offset
    )
    items = await _reads(session, request, rows)
    return AccountPage(items=items, total=total, limit=limit, offset=offset)


@accounts_router.get(
    "/api-keys", response_model=list[AccountKeyRead], summary="API keys of every system"
)
async def list_all_api_keys(
    principal: Granter,
    session: DbSession,
    unrestricted: Annotated[bool, Query(description="Only keys with no allow-list")] = False,
) -> list[AccountKeyRead]:
    """Unrevoked API keys in your scope; `unrestricted=true`: those usable from anywhere."""
    rows = await AccountRepository(session).live_api_keys(
        principal.scope, unrestricted=unrestricted
    )
    return [
        AccountKeyRead.model_validate(
            {
                **ApiKeyRead.model_validate(key).model_dump(exclude={"unrestricted"}),
                "account_id": account.id,
                "username": account.username,
            }
        )
        for account, key in rows
    ]


@accounts_router.post("", response_model=AccountCreated, status_code=201, summary="Open account")
async def create_account(
    body: AccountCreate, principal: AccountWriter, session: DbSession, ip: ClientIp
) -> AccountCreated:
    """Open an account in your scope; privileged roles need the security admin."""
    account, one_time = await account_service.create_account(
        session,
        principal,
        account_service.NewAccount(
            username=body.username,
            role=body.role,
            org_code=body.org_code,
            display_name=body.display_name,
            department_id=body.department_id,
            password=body.password,
        ),
        ip,
    )
    return AccountCreated(account=AccountRead.model_validate(account), one_time_password=one_time)


@accounts_router.get("/{account_id}", response_model=AccountRead, summary="One account")
async def get_account(
    account_id: AccountId, principal: AccountReader, session: DbSession, request: Request
) -> AccountRead:
    """One account inside your scope, with the addresses its name is locked from now."""
    return await _read(
        session, request, await account_service.get_account(session, principal, account_id)
    )


@accounts_router.patch("/{account_id}", response_model=AccountRead, summary="Change account")
async def update_account(
    account_id: AccountId,
    body: AccountUpdate,
    principal: AccountWriter,
    request: Request,
    session: DbSession,
    ip: ClientIp,
) -> AccountRead:
    """Change an account's name, unit, role, scope or whether it is active."""
    changes = account_service.AccountChanges(**body.model_dump(exclude_unset=True))
    account = await account_service.update_account(session, principal, account_id, changes, ip)
    _cache(request).forget_account(account_id)
    return await _read(session, request, account)


@accounts_router.put(
    "/{account_id}/sources", response_model=AccountRead, summary="Set a system's sources"
)
async def set_sources(
    account_id: AccountId,
    body: SourceGrants,
    principal: Granter,
    request: Request,
    session: DbSession,
    ip: ClientIp,
) -> AccountRead:
    """Replace the case sources (channels) a system client may submit for; security admin only."""
    account = await account_service.get_account(session, principal, account_id)
    await source_grants.set_source_grants(session, principal, account, body.sources, ip)
    _cache(request).forget_account(account_id)
    return await _read(session, request, account)


@accounts_router.post(
    "/{account_id}/reset-password", response_model=PasswordReset, summary="Reset password"
)
async def reset_password(
    account_id: AccountId,
    principal: AccountWriter,
    request: Request,
    session: DbSession,
    ip: ClientIp,
) -> PasswordReset:
    """Give the account a one-time password that must be changed at next login."""
    password = await account_service.reset_password(session, principal, account_id, ip)
    _cache(request).forget_account(account_id)
    return PasswordReset(one_time_password=password)


@accounts_router.get("/{account_id}/api-keys", response_model=list[ApiKeyRead], summary="API keys")
async def list_api_keys(
    account_id: AccountId, principal: Granter, session: DbSession
) -> list[ApiKeyRead]:
    """A system client's API keys, without secrets."""
    account = await account_service.get_account(session, principal, account_id)
    keys = await AccountRepository(session).tokens_of(account.id, "api_key")
    return [ApiKeyRead.model_validate(k) for k in keys]


@accounts_router.post(
    "/{account_id}/api-keys", response_model=ApiKeyCreated, status_code=201, summary="New API key"
)
async def create_api_key(
    account_id: AccountId, body: ApiKeyCreate, principal: Granter, session: DbSession, ip: ClientIp
) -> ApiKeyCreated:
    """Issue an API key to a system client; the secret is shown once."""
    token, secret = await account_service.create_api_key(
        session, principal, account_id, body.name, ip, body.allowed_networks
    )
    return ApiKeyCreated(key=ApiKeyRead.model_validate(token), secret=secret)


@accounts_router.put(
    "/{account_id}/api-keys/{key_id}/networks",
    response_model=ApiKeyRead,
    summary="Set a key's allowed networks",
)
async def set_api_key_networks(
    account_id: AccountId,
    key_id: KeyId,
    body: ApiKeyNetworks,
    principal: Granter,
    request: Request,
    session: DbSession,
    ip: ClientIp,
) -> ApiKeyRead:
    """Replace the addresses or CIDR networks an API key may be used from (empty: anywhere)."""
    token = await account_service.set_api_key_networks(
        session, principal, account_id, key_id, body.allowed_networks, ip
    )
    _cache(request).forget_account(account_id)
    return ApiKeyRead.model_validate(token)


@accounts_router.delete("/{account_id}/totp", status_code=204, summary="Reset two factors")
async def reset_totp(
    account_id: AccountId, principal: Granter, request: Request, session: DbSession, ip: ClientIp
) -> Response:
    """Forget an account's TOTP and recovery codes (lost phone); it enrols again at next login."""
    await mfa.reset_for(session, principal, account_id, ip)
    _cache(request).forget_account(account_id)
    return Response(status_code=204)


@accounts_router.delete("/{account_id}/api-keys/{key_id}", status_code=204, summary="Revoke key")
async def revoke_api_key(
    account_id: AccountId,
    key_id: KeyId,
    principal: Granter,
    request: Request,
    session: DbSession,
    ip: ClientIp,
) -> Response:
    """Revoke one API key."""
    await account_service.revoke_api_key(session, principal, account_id, key_id, ip)
    _cache(request).forget_account(account_id)
    return Response(status_code=204)

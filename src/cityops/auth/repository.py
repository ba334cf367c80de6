"""Every query of accounts, tokens and the audit log."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth.models import Account, AuditEntry, AuthToken
from cityops.kit.scope import DataScope, scoped


class AccountRepository:
    """Accounts and their tokens."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_username(self, username: str) -> Account | None:
        """One account by username, unscoped (login needs it before any scope exists)."""
        return await self.session.scalar(select(Account).where(Account.username == username))

    async def display_names(self, usernames: Collection[str]) -> dict[str, str]:
        """Display names of these accounts by username (for pages that show who did what)."""
        if not usernames:
            return {}
        stmt = select(Account.username, Account.display_name).where(
            Account.username.in_(sorted(usernames))
        )
        return {name: shown for name, shown in (await self.session.execute(stmt)).all() if shown}

    async def get(self, account_id: int, scope: DataScope) -> Account | None:
        """One account inside a scope."""
        stmt = scoped(select(Account).where(Account.id == account_id), Account.org_code, scope)
        return await self.session.scalar(stmt)

    async def live_api_keys(
        self, scope: DataScope, *, unrestricted: bool
    ) -> list[tuple[Account, AuthToken]]:
        """Unrevoked API keys of the accounts in a scope (only those with no allow-list, if so)."""
        stmt = scoped(
            select(Account, AuthToken).join(AuthToken, AuthToken.account_id == Account.id),
            Account.org_code,
            scope,
        ).where(AuthToken.kind == "api_key", AuthToken.revoked_at.is_(None))
        rows = [
            (account, key)
            for account, key in await self.session.execute(
                stmt.order_by(Account.username, AuthToken.id)
            )
        ]
        # The allow-list is JSON: "empty" is tested here, the same on SQLite and PostgreSQL.
        return [(a, k) for a, k in rows if not unrestricted or not k.allowed_networks]

    async def get_unscoped(self, account_id: int) -> Account | None:
        """One account by id for token resolution, where the token itself is the authority."""
        return await self.session.get(Account, account_id)

    async def list(
        self, scope: DataScope, *, role: str | None, q: str, limit: int, offset: int
    ) -> tuple[Sequence[Account], int]:
        """A page of accounts inside a scope, and the total."""
        stmt = scoped(select(Account), Account.org_code, scope)
        if role:
            stmt = stmt.where(Account.role == role)
        if q:
            stmt = stmt.where(Account.username.contains(q, autoescape=True))
        total = await self.session.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = await self.session.scalars(stmt.order_by(Account.id).limit(limit).offset(offset))
        return rows.all(), int(total or 0)

    async def add(self, account: Account) -> Account:
        """Insert an account and give it an id."""
        self.session.add(account)
        await self.session.flush()
        return account

    async def add_token(self, token: AuthToken) -> AuthToken:
        """Insert a token."""
        self.session.add(token)
        await self.session.flush()
        return token

    async def token_by_hash(self, token_hash: str) -> AuthToken | None:
        """A token by the hash of its secret."""
        return await self.session.scalar(
            select(AuthToken).where(AuthToken.token_hash == token_hash)
        )

    async def revoke_tokens(
        self, account_id: int, now: datetime, kind: str | None = None, keep_id: int | None = None
    ) -> None:
        """Revoke every live token of an account (optionally of one kind, sparing one)."""
        stmt = (
            update(AuthToken)
            .where(AuthToken.account_id == account_id, AuthToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        if kind is not None:
            stmt = stmt.where(AuthToken.kind == kind)
        if keep_id is not None:
            stmt = stmt.where(AuthToken.id != keep_id)
        await self.session.execute(stmt)

    async def has_session_from(self, account_id: int, client_ip: str, since: datetime) -> bool:
        """Whether the account opened a session from this address since a time (familiar)."""
        found = await self.session.scalar(
            select(AuthToken.id)
            .where(
                AuthToken.account_id == account_id,
                AuthToken.kind == "session",
                AuthToken.client_ip == client_ip,
                AuthToken.created_at >= since,
            )
            .limit(1)
        )
        return found is not None

    async def tokens_of(self, account_id: int, kind: str) -> Sequence[AuthToken]:
        """The tokens of one kind that an account holds."""
        stmt = select(AuthToken).where(AuthToken.account_id == account_id, AuthToken.kind == kind)
        return (await self.session.scalars(stmt.order_by(AuthToken.id))).all()


class AuditRepository:
    """Reads of the append-only audit log (appends go through auth.audit_chain)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def query(
        self,
        scope: DataScope,
        *,
        actor: str | None,
        action: str | None,
        result: str | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        offset: int,
    ) -> tuple[Sequence[AuditEntry], int]:
        """A page of entries, newest first, inside the scope of the actors' units."""
        stmt = scoped(select(AuditEntry), AuditEntry.actor_org, scope)
        if actor:
            stmt = stmt.where(AuditEntry.actor == actor)
        if action:
            stmt = stmt.where(AuditEntry.action.startswith(action, autoescape=True))
        if result:
            stmt = stmt.where(AuditEntry.result == result)
        if since:
            stmt = stmt.where(AuditEntry.at >= since)
        if until:
            stmt = stmt.where(AuditEntry.at < until)
        total = await self.session.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = await self.session.scalars(
            stmt.order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
        )
        return rows.all(), int(total or 0)

"""Sign-in throttle: failures counted per (username, address), with a slower global back-off.

Why per pair and not per account: a lock on the account lets anyone who knows a username keep
its owner out for ever. A lock on the pair stops guessing from one address while the owner,
elsewhere, signs in as usual. Against guessing spread over many addresses a global count per
username adds a back-off: past `login_global_failures` within the window, an address that has
never held a session of the account gets one try per lockout period; familiar addresses keep
the usual allowance, so no stranger can lock the owner out. The name is counted as typed,
whether or not such an account exists: a locked account and an unknown name answer alike.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth.models import LoginThrottle
from cityops.config import Settings


def throttle_key(username: str) -> str:
    """The name a throttle row counts: as typed, trimmed and folded, so case games do not help."""
    return username.strip().lower()[:64]


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one more failure did: tries left before the lock, or how long the lock lasts."""

    attempts_left: int
    locked_for: timedelta | None = None


async def locked_for(
    session: AsyncSession, username: str, client_ip: str, now: datetime
) -> timedelta | None:
    """How long the pair stays locked, or None when it may try."""
    row = await _row(session, throttle_key(username), client_ip)
    if row is None or row.locked_until is None or row.locked_until <= now:
        return None
    return row.locked_until - now


async def fail(
    session: AsyncSession,
    settings: Settings,
    username: str,
    client_ip: str,
    now: datetime,
    *,
    familiar: bool,
) -> Verdict:
    """Count one failed try of the pair; lock it when the allowance is used up."""
    key = throttle_key(username)
    lockout = timedelta(minutes=settings.login_lockout_minutes)
    await _prune(session, settings, now)
    row = await _ensure_row(session, key, client_ip, now)
    if (row.locked_until is not None and row.locked_until <= now) or (
        now - row.window_start > lockout
    ):
        row.failures, row.window_start, row.locked_until = 0, now, None  # a fresh window
    row.failures += 1
    row.last_failure_at = now
    await session.flush()
    allowance = settings.login_max_failures
    if not familiar and await _global_failures(session, settings, key, now) > (
        settings.login_global_failures
    ):
        allowance = 1  # many addresses are guessing this name: strangers get one try
    if row.failures >= allowance:
        row.locked_until = now + lockout
        return Verdict(0, lockout)
    return Verdict(allowance - row.failures)


async def clear(session: AsyncSession, username: str, client_ip: str) -> None:
    """Forget the pair's failures (after a complete sign-in from there)."""
    await session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.username == throttle_key(username), LoginThrottle.client_ip == client_ip
        )
    )


async def clear_all(session: AsyncSession, username: str) -> None:
    """Forget every address's failures for a name (the security admin's unlock)."""
    await session.execute(
        delete(LoginThrottle).where(LoginThrottle.username == throttle_key(username))
    )


async def _row(session: AsyncSession, key: str, client_ip: str) -> LoginThrottle | None:
    return await session.scalar(
        select(LoginThrottle).where(
            LoginThrottle.username == key, LoginThrottle.client_ip == client_ip
        )
    )


async def _ensure_row(
    session: AsyncSession, key: str, client_ip: str, now: datetime
) -> LoginThrottle:
    # INSERT … ON CONFLICT DO NOTHING: two failures of a new pair at once must not 500.
    values = {
        "username": key,
        "client_ip": client_ip,
        "failures": 0,
        "window_start": now,
        "last_failure_at": now,
    }
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(insert(LoginThrottle).values(**values).on_conflict_do_nothing())
    row = await _row(session, key, client_ip)
    assert row is not None
    await session.refresh(row, with_for_update=dialect == "postgresql")
    return row


async def _global_failures(
    session: AsyncSession, settings: Settings, key: str, now: datetime
) -> int:
    since = now - timedelta(minutes=settings.login_global_window_minutes)
    total = await session.scalar(
        select(func.coalesce(func.sum(LoginThrottle.failures), 0)).where(
            LoginThrottle.username == key, LoginThrottle.last_failure_at > since
        )
    )
    return int(total or 0)


async def _prune(session: AsyncSession, settings: Settings, now: datetime) -> None:
    # Rows of names nobody tries any more go, so a spray of invented names cannot grow the table.
    keep = max(settings.login_global_window_minutes, settings.login_lockout_minutes)
    await session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.last_failure_at < now - timedelta(minutes=keep),
            (LoginThrottle.locked_until.is_(None)) | (LoginThrottle.locked_until < now),
        )
    )


async def locks_of(
    session: AsyncSession, usernames: Collection[str], now: datetime
) -> dict[str, list[tuple[str, datetime]]]:
    """The addresses each name is locked from now, and until when (by the name as given)."""
    keys = {throttle_key(name): name for name in usernames}
    if not keys:
        return {}
    rows = await session.scalars(
        select(LoginThrottle)
        .where(LoginThrottle.username.in_(keys), LoginThrottle.locked_until > now)
        .order_by(LoginThrottle.username, LoginThrottle.client_ip)
    )
    found: dict[str, list[tuple[str, datetime]]] = {}
    for row in rows:
        if row.locked_until is not None:
            found.setdefault(keys[row.username], []).append((row.client_ip, row.locked_until))
    return found

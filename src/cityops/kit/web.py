"""Request-boundary helpers: the unit of work per request and the caller's address."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import Depends, Request
from pydantic import AfterValidator, AwareDatetime
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cityops.kit.errors import ProblemError

#: The largest id or offset the API takes: a signed 32-bit integer, which every backend stores.
MAX_INT = 2**31 - 1
#: A pattern for free text that reaches the database: PostgreSQL text cannot hold NUL.
NO_NUL = r"^[^\x00]*$"
#: The instants the API takes, in UTC: beyond them a time zone shift or a day added overflows
#: Python's datetime (year 1 at +14:00, year 9999 at -12:00), and no case lies outside them.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


def in_range(value: datetime) -> datetime:
    """Refuse an instant outside EARLIEST..LATEST (a ValueError: 422 at the boundary)."""
    try:
        utc = value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    except OverflowError:
        raise ValueError(f"{value.isoformat()} is out of range") from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError(f"give a time between {EARLIEST.year} and {LATEST.year - 1}")
    return value


def day_in_range(value: date) -> bool:
    """Whether a calendar day lies inside the range the API takes."""
    return EARLIEST.date() <= value < LATEST.date()


#: A datetime query or body field (naive ones are refused where they must be aware).
Instant = Annotated[datetime, AfterValidator(in_range)]
#: A datetime body field that must carry its time zone.
AwareInstant = Annotated[AwareDatetime, AfterValidator(in_range)]


def sessionmaker_of(request: Request) -> async_sessionmaker[AsyncSession]:
    """The app's session factory."""
    factory: async_sessionmaker[AsyncSession] = request.app.state.sessions
    return factory


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    # The request is the unit of work: commit once, before the response goes out. A refusal
    # that must leave a trace (ProblemError(keep_changes=True)) commits what it recorded.
    async with sessionmaker_of(request)() as session:
        try:
            yield session
        except ProblemError as exc:
            await (session.commit() if exc.keep_changes else session.rollback())
            raise
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


#: Inject a session whose commit happens before the response is sent (scope="function").
DbSession = Annotated[AsyncSession, Depends(_request_session, scope="function")]


def client_ip(request: Request) -> str:
    """The caller's address as the server saw it (a proxy sets X-Forwarded-For via uvicorn)."""
    return request.client.host if request.client else ""


ClientIp = Annotated[str, Depends(client_ip)]

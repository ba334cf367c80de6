"""The GET requests query of GeoReport v2: ids, service codes, a window of at most 90 days, status.

`service_request_id` (comma list) overrides every other argument. Without dates the window is
the most recent 90 days; with one date it reaches 90 days from it; it may never span more.
Dates need a time zone (`Z` or `+08:00`), as the spec's W3C format does.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from cityops.cases.catalog.codes import category_code
from cityops.cases.flow.table import Status
from cityops.cases.sources.open311.form import is_id
from cityops.cases.sources.open311.repository import MAX_REQUESTS, RequestQuery
from cityops.cases.sources.open311.requests import CLOSED
from cityops.cases.sources.open311.services import category_of
from cityops.kit.errors import NotFound, ProblemError
from cityops.kit.web import in_range

MAX_SPAN = timedelta(days=90)
OPEN = tuple(sorted(s.value for s in Status if s not in CLOSED))
CLOSED_VALUES = tuple(sorted(s.value for s in CLOSED))


def bad_query(name: str, message: str) -> ProblemError:
    """400 naming one query parameter."""
    error = {"loc": ["query", name], "msg": message, "type": "value_error"}
    return ProblemError(400, "validation", f"{name}: {message}", errors=[error])


def _items(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_ids(text: str) -> tuple[int, ...]:
    """service_request_id=1,2,3 → (1, 2, 3)."""
    items = _items(text)
    if len(items) > MAX_REQUESTS:
        raise bad_query("service_request_id", f"at most {MAX_REQUESTS} ids at once")
    ids: list[int] = []
    for item in items:
        if not is_id(item):
            raise bad_query("service_request_id", f"{item[:32]!r} is not a service_request_id")
        ids.append(int(item))
    return tuple(ids)


def parse_codes(text: str) -> tuple[str, ...]:
    """service_code=component-0101,event-0102 → the case categories they stand for."""
    codes: list[str] = []
    for item in _items(text)[:200]:
        try:
            codes.append(category_code(category_of(item)))
        except NotFound:
            raise bad_query("service_code", f"unknown service_code {item[:64]!r}") from None
    return tuple(codes)


def parse_statuses(text: str) -> tuple[str, ...]:
    """status=open,closed → the case states they cover."""
    states: set[str] = set()
    for item in _items(text):
        if item == "open":
            states.update(OPEN)
        elif item == "closed":
            states.update(CLOSED_VALUES)
        else:
            raise bad_query("status", f"{item[:32]!r} is neither open nor closed")
    return tuple(sorted(states))


def parse_time(text: str, name: str) -> datetime:
    """A W3C date-time with a time zone."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise bad_query(name, f"{text[:40]!r} is not a W3C date-time") from None
    if value.tzinfo is None:
        raise bad_query(name, "give a time zone, e.g. 2026-03-01T00:00:00+08:00 or …Z")
    try:
        return in_range(value)
    except ValueError as exc:
        raise bad_query(name, str(exc)) from None


def window(start: str | None, end: str | None, now: datetime) -> tuple[datetime, datetime]:
    """The requested-datetime window: default the last 90 days, never longer."""
    since = parse_time(start, "start_date") if start else None
    until = parse_time(end, "end_date") if end else None
    if since is None and until is None:
        return now - MAX_SPAN, now
    if since is None:
        assert until is not None
        return until - MAX_SPAN, until
    if until is None:
        return since, since + MAX_SPAN
    if until < since:
        raise bad_query("end_date", "is before start_date")
    if until - since > MAX_SPAN:
        raise bad_query("end_date", "the window may span at most 90 days")
    return since, until


def request_query(
    ids: str | None,
    codes: str | None,
    start: str | None,
    end: str | None,
    status: str | None,
    now: datetime,
) -> RequestQuery:
    """The repository query of a GET requests call."""
    if ids:
        return RequestQuery(ids=parse_ids(ids))
    since, until = window(start, end, now)
    return RequestQuery(
        categories=parse_codes(codes or ""),
        since=since,
        until=until,
        statuses=parse_statuses(status or ""),
    )

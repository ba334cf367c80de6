"""Working time for SLA deadlines: office hours, public holidays and make-up working days (调休).

A `WorkCalendar` is built from one data file per year (`cityops/data/calendar/<year>.json`,
taken from the State Council General Office's yearly holiday notice) and the office hours.
Inputs and outputs are timezone-aware datetimes; results are returned in UTC, arithmetic is
done in local time (Asia/Shanghai by default). A year without a data file is never guessed:
asking about it raises `MissingYearError`, so operators know to add next year's file.

Working time is measured on one monotone axis: each working day contributes the length of its
office hours, every other instant sits at the boundary. Deadlines are found by index arithmetic
on a sorted list of working days, so whole days are skipped in O(1) after an O(log n) lookup.
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
_DAY_US = 86_400_000_000
_US = 1_000_000


class CalendarError(ValueError):
    """Base class of every work-calendar error."""


class CalendarDataError(CalendarError):
    """A calendar file or office-hours setting is malformed; the message names the problem."""


class MissingYearError(CalendarError, LookupError):
    """The calendar has no data for a year that a computation needs."""

    def __init__(self, year: int, loaded: Sequence[int]) -> None:
        have = ", ".join(str(y) for y in loaded) or "none"
        super().__init__(
            f"no work-calendar data for {year} (loaded: {have}); add calendar/{year}.json "
            "from the State Council holiday notice"
        )
        self.year = year


@dataclass(frozen=True, slots=True)
class NamedDay:
    """A dated entry of a calendar file: a holiday or a make-up working day."""

    day: date
    name: str


@dataclass(frozen=True, slots=True)
class CalendarSource:
    """Where a year's dates come from: the notice's title, number and publication date."""

    title: str
    document: str
    published: date
    verified_from: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class YearCalendar:
    """One year's public holidays and make-up working days, validated."""

    year: int
    source: CalendarSource
    holidays: tuple[NamedDay, ...]
    makeup_workdays: tuple[NamedDay, ...]

    def is_working_day(self, day: date) -> bool:
        """Whether `day` (in this year) is a working day."""
        if any(entry.day == day for entry in self.makeup_workdays):
            return True
        if any(entry.day == day for entry in self.holidays):
            return False
        return day.weekday() < 5

    def working_days(self) -> list[date]:
        """Every working day of the year, in order."""
        off = {entry.day for entry in self.holidays}
        extra = {entry.day for entry in self.makeup_workdays}
        first, last = date(self.year, 1, 1), date(self.year, 12, 31)
        days = (first + timedelta(n) for n in range((last - first).days + 1))
        return [d for d in days if d in extra or (d.weekday() < 5 and d not in off)]


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CalendarDataError(f"{where}: expected a non-empty string, got {value!r}")
    return value.strip()


def _iso_date(value: Any, where: str) -> date:
    try:
        return date.fromisoformat(_text(value, where))
    except ValueError:
        raise CalendarDataError(f"{where}: {value!r} is not a YYYY-MM-DD date") from None


def _named_days(data: Mapping[str, Any], key: str, year: int, origin: str) -> list[NamedDay]:
    rows = data.get(key)
    if not isinstance(rows, list):
        raise CalendarDataError(f"{origin}: '{key}' must be a list")
    entries: list[NamedDay] = []
    seen: set[date] = set()
    for i, row in enumerate(rows):
        where = f"{origin}: {key}[{i}]"
        if not isinstance(row, Mapping):
            raise CalendarDataError(f"{where}: expected an object with date and name")
        day = _iso_date(row.get("date"), f"{where}.date")
        if day.year != year:
            raise CalendarDataError(f"{where}: {day} is not in {year}")
        if day in seen:
            raise CalendarDataError(f"{where}: {day} is listed twice")
        seen.add(day)
        entries.append(NamedDay(day, _text(row.get("name"), f"{where}.name")))
    return sorted(entries, key=lambda entry: entry.day)


def _source(value: Any, origin: str) -> CalendarSource:
    if not isinstance(value, Mapping):
        raise CalendarDataError(
            f"{origin}: 'source' must be an object (title, document, published)"
        )
    urls = value.get("verified_from", [])
    if not isinstance(urls, list):
        raise CalendarDataError(f"{origin}: source.verified_from must be a list")
    return CalendarSource(
        title=_text(value.get("title"), f"{origin}: source.title"),
        document=_text(value.get("document"), f"{origin}: source.document"),
        published=_iso_date(value.get("published"), f"{origin}: source.published"),
        verified_from=tuple(_text(url, f"{origin}: source.verified_from") for url in urls),
    )


def parse_year(data: Any, origin: str = "calendar") -> YearCalendar:
    """Validate one year's calendar document (the shipped JSON format) and build it."""
    if not isinstance(data, Mapping):
        raise CalendarDataError(f"{origin}: expected a JSON object")
    year = data.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 1900 < year < 2200:
        raise CalendarDataError(f"{origin}: 'year' must be a four-digit integer, got {year!r}")
    holidays = _named_days(data, "holidays", year, origin)
    makeup = _named_days(data, "makeup_workdays", year, origin)
    both = sorted({e.day for e in holidays} & {e.day for e in makeup})
    if both:
        listed = ", ".join(str(d) for d in both)
        raise CalendarDataError(f"{origin}: {listed} listed both as holiday and make-up day")
    for entry in makeup:
        if entry.day.weekday() < 5:
            raise CalendarDataError(
                f"{origin}: make-up working day {entry.day} is a {entry.day:%A}, not a weekend"
            )
    return YearCalendar(year, _source(data.get("source"), origin), tuple(holidays), tuple(makeup))


def load_year_file(path: Path | str) -> YearCalendar:
    """Read and validate a calendar file from any path (e.g. next year's, added by a district)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError as exc:
        raise CalendarDataError(
            f"{path.name}: not valid JSON ({exc.msg}, line {exc.lineno})"
        ) from None
    calendar = parse_year(data, path.name)
    if path.stem.isdigit() and int(path.stem) != calendar.year:
        raise CalendarDataError(
            f"{path.name}: file name says {path.stem}, content says {calendar.year}"
        )
    return calendar


def shipped_years() -> list[int]:
    """The years for which cityops ships a calendar file."""
    folder = resources.files("cityops.data").joinpath("calendar")
    return sorted(int(f.name[:-5]) for f in folder.iterdir() if f.name[:-5].isdigit())


def shipped_year(year: int) -> YearCalendar:
    """Load the calendar file shipped for `year`."""
    entry = resources.files("cityops.data").joinpath("calendar", f"{year}.json")
    if not entry.is_file():
        raise MissingYearError(year, shipped_years())
    return parse_year(json.loads(entry.read_text("utf-8")), f"{year}.json")


@dataclass(frozen=True, slots=True)
class OfficeHours:
    """Daily working periods in local time, e.g. 09:00–12:00 and 13:00–17:00."""

    periods: tuple[tuple[time, time], ...]

    def __post_init__(self) -> None:
        if not self.periods:
            raise CalendarDataError("office hours need at least one period")
        previous_end: time | None = None
        for start, end in self.periods:
            if start.tzinfo is not None or end.tzinfo is not None:
                raise CalendarDataError("office hours are local wall-clock times, without tzinfo")
            if not start < end:
                raise CalendarDataError(
                    f"office period {start:%H:%M}-{end:%H:%M} ends before it starts"
                )
            if previous_end is not None and start < previous_end:
                raise CalendarDataError(
                    f"office period starting {start:%H:%M} overlaps the previous"
                )
            previous_end = end

    @classmethod
    def parse(cls, *spans: str) -> OfficeHours:
        """Build from strings such as "09:00-12:00", "13:00-17:00"."""
        periods: list[tuple[time, time]] = []
        for span in spans:
            start, sep, end = span.partition("-")
            try:
                if not sep:
                    raise ValueError(span)
                periods.append((time.fromisoformat(start.strip()), time.fromisoformat(end.strip())))
            except ValueError:
                raise CalendarDataError(f"office period {span!r} is not HH:MM-HH:MM") from None
        return cls(tuple(periods))

    @property
    def closing(self) -> time:
        """The end of the last period of the day."""
        return self.periods[-1][1]

    def spans_us(self) -> tuple[tuple[int, int], ...]:
        """The periods as microseconds since local midnight."""
        return tuple((_time_us(start), _time_us(end)) for start, end in self.periods)


def _time_us(value: time | datetime) -> int:
    """Microseconds since midnight of a wall-clock time (or of a datetime's own clock)."""
    return ((value.hour * 60 + value.minute) * 60 + value.second) * _US + value.microsecond


#: Default office hours: 09:00–12:00 and 13:00–17:00. Offices differ; pass your own.
DEFAULT_OFFICE_HOURS = OfficeHours.parse("09:00-12:00", "13:00-17:00")


def _aware(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} is a naive datetime; pass a timezone-aware one")
    return value


class WorkCalendar:
    """Working-day and working-hour arithmetic over the loaded years, in one timezone."""

    def __init__(
        self,
        years: Iterable[YearCalendar],
        hours: OfficeHours = DEFAULT_OFFICE_HOURS,
        tz: tzinfo = SHANGHAI,
    ) -> None:
        by_year: dict[int, YearCalendar] = {}
        for year in years:
            if year.year in by_year:
                raise CalendarDataError(f"calendar data for {year.year} given twice")
            by_year[year.year] = year
        if not by_year:
            raise CalendarDataError("a work calendar needs at least one year of data")
        self._years = dict(sorted(by_year.items()))
        self._hours = hours
        self._tz = tz
        self._spans = hours.spans_us()
        self._day_us = sum(end - start for start, end in self._spans)
        self._ordinals = [d.toordinal() for y in self._years.values() for d in y.working_days()]
        self._working = frozenset(self._ordinals)

    @classmethod
    def shipped(
        cls,
        hours: OfficeHours = DEFAULT_OFFICE_HOURS,
        extra_files: Iterable[Path | str] = (),
        tz: tzinfo = SHANGHAI,
    ) -> WorkCalendar:
        """The shipped years plus any district files; a district file replaces a shipped year."""
        years = {year: shipped_year(year) for year in shipped_years()}
        for path in extra_files:
            extra = load_year_file(path)
            years[extra.year] = extra
        return cls(years.values(), hours, tz)

    @property
    def years(self) -> list[int]:
        """The years this calendar has data for."""
        return list(self._years)

    @property
    def hours(self) -> OfficeHours:
        """The office hours in use."""
        return self._hours

    @property
    def timezone(self) -> tzinfo:
        """The timezone in which days and office hours are reckoned."""
        return self._tz

    def year(self, year: int) -> YearCalendar:
        """The data of one year, or `MissingYearError`."""
        self._require(year)
        return self._years[year]

    def working_hours_per_day(self) -> float:
        """Length of a working day in hours (7.0 with the default office hours)."""
        return self._day_us / (3600 * _US)

    def is_working_day(self, day: date) -> bool:
        """Whether a date is a working day; an aware datetime is judged by its local date."""
        if isinstance(day, datetime):
            day = _aware(day, "day").astimezone(self._tz).date()
        self._require(day.year)
        return day.toordinal() in self._working

    def is_working_time(self, at: datetime) -> bool:
        """Whether an instant falls inside office hours on a working day."""
        local = _aware(at, "at").astimezone(self._tz)
        if not self.is_working_day(local.date()):
            return False
        tod = _time_us(local.time())
        return any(start <= tod < end for start, end in self._spans)

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The instant (UTC) when `hours` of working time have elapsed after `start`.

        A deadline that lands exactly on the end of a period is the end of that period
        (e.g. 17:00), not the start of the next one.
        """
        if hours < 0:
            raise ValueError("hours must not be negative")
        return self.add_working_seconds(start, hours * 3600)

    def add_working_seconds(self, start: datetime, seconds: float) -> datetime:
        """The instant (UTC) when `seconds` of working time have elapsed after `start`."""
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        start = _aware(start, "start")
        amount = round(seconds * _US)
        if amount == 0:
            self._axis(start)
            return start.astimezone(UTC)
        return self._instant(self._axis(start) + amount, start)

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """Closing time (UTC) of the `days`-th working day after the local date of `start`.

        The day of `start` is not counted, whatever the hour (期间开始之日不计入): a case
        received on Friday with 1 working day is due at closing time on the next working day.
        """
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise ValueError("days must be a positive integer")
        local = _aware(start, "start").astimezone(self._tz).date()
        self._require(local.year)
        index = bisect_right(self._ordinals, local.toordinal()) + days - 1
        due = self._working_day_at(index, local.year)
        closing = datetime.combine(due, self._hours.closing, self._tz)
        return closing.astimezone(UTC)

    def working_seconds_between(self, a: datetime, b: datetime) -> float:
        """Working seconds from `a` to `b`; negative when `b` is before `a`."""
        a, b = _aware(a, "a"), _aware(b, "b")
        self._require_between(a, b)
        return (self._axis(b) - self._axis(a)) / _US

    def share_instant(self, a: datetime, b: datetime, share: float) -> datetime:
        """The instant (UTC) when `share` (0–1) of the working time from `a` to `b` has passed.

        One pass over both ends (a 临期 warning at 80 % of a deadline's span is computed at
        every dispatch); `b` at or before `a` gives `b`.
        """
        if not 0 <= share <= 1:
            raise ValueError("share must lie between 0 and 1")
        a, b = _aware(a, "a"), _aware(b, "b")
        self._require_between(a, b)
        start, end = self._axis(a), self._axis(b)
        if end <= start:
            return b.astimezone(UTC)
        amount = round((end - start) * share)
        return self._instant(start + amount, a) if amount else a.astimezone(UTC)

    def working_hours_between(self, a: datetime, b: datetime) -> float:
        """Working hours from `a` to `b`; negative when `b` is before `a`."""
        return self.working_seconds_between(a, b) / 3600

    def _require_between(self, a: datetime, b: datetime) -> None:
        """Every year from `a` to `b` (either order) is loaded, or `MissingYearError`."""
        first, last = sorted((a.astimezone(self._tz).year, b.astimezone(self._tz).year))
        for year in range(first, last + 1):
            self._require(year)

    def _require(self, year: int) -> None:
        if year not in self._years:
            raise MissingYearError(year, self.years)

    def _axis(self, at: datetime) -> int:
        """Working microseconds from the first loaded working day to `at`."""
        local = at.astimezone(self._tz)
        day = local.date()
        self._require(day.year)
        ordinal = day.toordinal()
        before = bisect_left(self._ordinals, ordinal) * self._day_us
        if ordinal not in self._working:
            return before
        tod = _time_us(local)
        for start, end in self._spans:  # a loop, not sum(): this runs on every deadline
            if tod <= start:
                break
            before += min(tod, end) - start
        return before

    def _working_day_at(self, index: int, from_year: int) -> date:
        """The working day at `index`, checking every year between is loaded."""
        if index >= len(self._ordinals):
            raise MissingYearError(max(self._years) + 1, self.years)
        due = date.fromordinal(self._ordinals[index])
        for year in range(from_year, due.year + 1):
            self._require(year)
        return due

    def _instant(self, target: int, start: datetime) -> datetime:
        """The earliest instant whose axis position reaches `target` (> position of start)."""
        index, rest = divmod(target, self._day_us)
        from_year = start.astimezone(self._tz).year
        if rest == 0:
            index, rest = index - 1, self._day_us
        day = self._working_day_at(index, from_year)
        for begin, end in self._spans:
            if rest <= end - begin:
                local = datetime.combine(day, time(), self._tz) + timedelta(
                    microseconds=begin + rest
                )
                return local.astimezone(UTC)
            rest -= end - begin
        raise AssertionError("unreachable: rest exceeds the working day")  # pragma: no cover


@lru_cache(maxsize=1)
def default_calendar() -> WorkCalendar:
    """The shipped years with the default office hours (cached; build your own to configure)."""
    return WorkCalendar.shipped()

"""The work calendar: shipped holiday data, working-time arithmetic, missing and malformed years."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from cityops.kit.workcal import (
    SHANGHAI,
    CalendarDataError,
    MissingYearError,
    OfficeHours,
    WorkCalendar,
    default_calendar,
    load_year_file,
    parse_year,
    shipped_year,
    shipped_years,
)


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Shanghai wall-clock instant."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def local(value: datetime) -> datetime:
    return value.astimezone(SHANGHAI)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return default_calendar()


# --- shipped data -------------------------------------------------------------------------


def test_shipped_years_and_sources() -> None:
    assert shipped_years() == [2024, 2025, 2026]
    documents = {y: shipped_year(y).source.document for y in shipped_years()}
    assert documents == {
        2024: "国办发明电〔2023〕7号",
        2025: "国办发明电〔2024〕12号",
        2026: "国办发明电〔2025〕7号",
    }
    for year in shipped_years():
        source = shipped_year(year).source
        assert source.title == f"国务院办公厅关于{year}年部分节假日安排的通知"
        assert source.published.year == year - 1
        assert source.verified_from


@pytest.mark.parametrize(
    ("year", "name", "days"),
    [
        (2024, "春节", 8),
        (2024, "国庆节", 7),
        (2025, "春节", 8),  # one day more from 2025: 除夕 became a public holiday
        (2025, "劳动节", 5),
        (2025, "国庆节、中秋节", 8),
        (2026, "春节", 9),
        (2026, "元旦", 3),
    ],
)
def test_holiday_lengths_match_the_notices(year: int, name: str, days: int) -> None:
    assert sum(1 for h in shipped_year(year).holidays if h.name == name) == days


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 9, 28), True),  # Sunday, 调休 working day before 国庆
        (date(2025, 10, 1), False),
        (date(2025, 10, 8), False),  # last day of the 8-day 国庆/中秋 break
        (date(2025, 10, 9), True),
        (date(2025, 10, 11), True),  # Saturday, 调休
        (date(2025, 10, 12), False),
        (date(2025, 1, 26), True),  # Sunday before 春节
        (date(2025, 1, 28), False),  # 除夕
        (date(2025, 3, 8), False),  # ordinary Saturday
        (date(2025, 3, 10), True),  # ordinary Monday
        (date(2024, 2, 18), True),  # Sunday, 调休
        (date(2024, 6, 10), False),  # 端午
        (date(2026, 2, 14), True),  # Saturday, 调休
        (date(2026, 2, 23), False),
        (date(2026, 1, 4), True),  # Sunday, 调休 after 元旦
    ],
)
def test_is_working_day(cal: WorkCalendar, day: date, working: bool) -> None:
    assert cal.is_working_day(day) is working


def test_is_working_day_uses_the_local_date_of_an_instant(cal: WorkCalendar) -> None:
    # 2025-09-27 16:30 UTC is Sunday 2025-09-28 00:30 in Shanghai: a 调休 working day,
    # although its UTC date is a Saturday.
    at = datetime(2025, 9, 27, 16, 30, tzinfo=UTC)
    assert cal.is_working_day(at)
    assert not cal.is_working_day(at.date())


def test_is_working_time(cal: WorkCalendar) -> None:
    assert cal.is_working_time(sh(2025, 3, 10, 9, 0))
    assert not cal.is_working_time(sh(2025, 3, 10, 12, 30))
    assert not cal.is_working_time(sh(2025, 3, 10, 17, 0))
    assert not cal.is_working_time(sh(2025, 10, 3, 10, 0))
    assert cal.is_working_time(sh(2025, 9, 28, 10, 0))


# --- add_working_hours ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        # inside one day, period ends are the deadline (12:00 not 13:00, 17:00 not next 09:00)
        (sh(2025, 3, 10, 9, 0), 3, sh(2025, 3, 10, 12, 0)),
        (sh(2025, 3, 10, 9, 0), 7, sh(2025, 3, 10, 17, 0)),
        (sh(2025, 3, 10, 11, 0), 2, sh(2025, 3, 10, 14, 0)),
        (sh(2025, 3, 10, 16, 0), 1, sh(2025, 3, 10, 17, 0)),
        (sh(2025, 3, 10, 10, 0), 0.5, sh(2025, 3, 10, 10, 30)),
        # across an ordinary weekend
        (sh(2025, 3, 7, 16, 0), 2, sh(2025, 3, 10, 10, 0)),
        (sh(2025, 3, 7, 16, 0), 8, sh(2025, 3, 10, 17, 0)),
        # across 国庆/中秋 2025 (10-01..10-08 off)
        (sh(2025, 9, 30, 16, 0), 2, sh(2025, 10, 9, 10, 0)),
        # onto the 调休 Sunday 2025-09-28
        (sh(2025, 9, 26, 16, 0), 2, sh(2025, 9, 28, 10, 0)),
        (sh(2025, 9, 26, 16, 0), 1 + 7 + 7 + 7 + 1, sh(2025, 10, 9, 10, 0)),
        # across 春节 2026 (02-15..02-23 off, 02-14 Saturday worked)
        (sh(2026, 2, 13, 16, 0), 2, sh(2026, 2, 14, 10, 0)),
        (sh(2026, 2, 14, 16, 0), 2, sh(2026, 2, 24, 10, 0)),
        # across the turn of the year
        (sh(2025, 12, 31, 16, 0), 2, sh(2026, 1, 4, 10, 0)),  # 01-01..03 off, Sunday 01-04 worked
        (sh(2024, 12, 31, 16, 0), 2, sh(2025, 1, 2, 10, 0)),
    ],
)
def test_add_working_hours(cal: WorkCalendar, start: datetime, hours: float, due: datetime) -> None:
    result = cal.add_working_hours(start, hours)
    assert result == due
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    ("start", "due"),
    [
        (sh(2025, 3, 10, 20, 0), sh(2025, 3, 11, 10, 0)),  # evening
        (sh(2025, 3, 11, 0, 0), sh(2025, 3, 11, 10, 0)),  # midnight
        (sh(2025, 3, 11, 7, 30), sh(2025, 3, 11, 10, 0)),  # before opening
        (sh(2025, 3, 11, 12, 0), sh(2025, 3, 11, 14, 0)),  # lunch starts
        (sh(2025, 3, 11, 12, 30), sh(2025, 3, 11, 14, 0)),  # lunch break
        (sh(2025, 3, 8, 10, 0), sh(2025, 3, 10, 10, 0)),  # Saturday
        (sh(2025, 10, 3, 10, 0), sh(2025, 10, 9, 10, 0)),  # public holiday
        (sh(2025, 9, 27, 22, 0), sh(2025, 9, 28, 10, 0)),  # Saturday night before a 调休 Sunday
    ],
)
def test_start_outside_working_time(cal: WorkCalendar, start: datetime, due: datetime) -> None:
    assert cal.add_working_hours(start, 1) == due


def test_utc_inputs_at_day_boundaries(cal: WorkCalendar) -> None:
    # 2025-03-09 16:00 UTC is Monday 00:00 in Shanghai.
    monday_midnight = datetime(2025, 3, 9, 16, 0, tzinfo=UTC)
    assert cal.add_working_hours(monday_midnight, 1) == datetime(2025, 3, 10, 2, 0, tzinfo=UTC)
    # One microsecond earlier is still Sunday: the same deadline.
    sunday_late = monday_midnight - timedelta(microseconds=1)
    assert cal.add_working_hours(sunday_late, 1) == datetime(2025, 3, 10, 2, 0, tzinfo=UTC)
    # 2025-03-10 09:00 UTC is Monday 17:00 local: closing time, next hour is Tuesday 09-10.
    closing = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
    assert cal.add_working_hours(closing, 1) == datetime(2025, 3, 11, 2, 0, tzinfo=UTC)
    # Another offset gives the same instant.
    tokyo = closing.astimezone(timezone(timedelta(hours=9)))
    assert cal.add_working_hours(tokyo, 1) == datetime(2025, 3, 11, 2, 0, tzinfo=UTC)


def test_zero_hours_returns_the_start_in_utc(cal: WorkCalendar) -> None:
    start = sh(2025, 3, 8, 10, 0)  # a Saturday: not moved
    assert cal.add_working_hours(start, 0) == start
    assert cal.add_working_hours(start, 0).tzinfo is UTC


def test_negative_hours_and_naive_datetimes_are_refused(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="negative"):
        cal.add_working_hours(sh(2025, 3, 10, 10, 0), -1)
    with pytest.raises(ValueError, match="naive"):
        cal.add_working_hours(datetime(2025, 3, 10, 10, 0), 1)
    with pytest.raises(ValueError, match="naive"):
        cal.working_seconds_between(datetime(2025, 3, 10), sh(2025, 3, 11))
    with pytest.raises(ValueError, match="naive"):
        cal.is_working_day(datetime(2025, 3, 10, 10, 0))


# --- working_seconds_between ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "hours"),
    [
        (sh(2025, 3, 10, 9, 0), sh(2025, 3, 10, 17, 0), 7),
        (sh(2025, 3, 10, 11, 0), sh(2025, 3, 10, 14, 0), 2),
        (sh(2025, 3, 10, 12, 10), sh(2025, 3, 10, 12, 50), 0),  # inside lunch
        (sh(2025, 3, 7, 16, 0), sh(2025, 3, 10, 10, 0), 2),  # over a weekend
        (sh(2025, 10, 2, 10, 0), sh(2025, 10, 5, 10, 0), 0),  # inside 国庆
        (sh(2025, 9, 26, 9, 0), sh(2025, 10, 10, 9, 0), 4 * 7 + 7),  # 26,28,29,30 + 09
        (sh(2025, 3, 10, 17, 0), sh(2025, 3, 10, 9, 0), -7),  # reversed: negative
    ],
)
def test_working_seconds_between(cal: WorkCalendar, a: datetime, b: datetime, hours: float) -> None:
    assert cal.working_seconds_between(a, b) == hours * 3600
    assert cal.working_hours_between(a, b) == hours


def _starts() -> list[datetime]:
    """Every 37 minutes from mid-September to mid-October 2025: nights, lunches, holidays."""
    first = sh(2025, 9, 20, 0, 0)
    return [first + timedelta(minutes=37 * n) for n in range(0, 24 * 60 * 26 // 37)]


@pytest.mark.parametrize("hours", [0.25, 1, 3, 4.5, 7, 8, 16, 24, 40, 100.75])
def test_between_is_the_inverse_of_add(cal: WorkCalendar, hours: float) -> None:
    for start in _starts():
        due = cal.add_working_hours(start, hours)
        assert cal.working_seconds_between(start, due) == hours * 3600, start
        assert due > start


def test_add_is_the_inverse_of_between_inside_working_time(cal: WorkCalendar) -> None:
    start = sh(2025, 9, 22, 10, 15)
    for end in _starts():
        if end > start and cal.is_working_time(end):
            assert cal.add_working_hours(start, cal.working_hours_between(start, end)) == end


# --- add_working_days -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        (sh(2025, 3, 10, 10, 0), 1, sh(2025, 3, 11, 17, 0)),  # the start day is not counted
        (sh(2025, 3, 10, 23, 0), 1, sh(2025, 3, 11, 17, 0)),
        (sh(2025, 3, 7, 10, 0), 1, sh(2025, 3, 10, 17, 0)),  # Friday → Monday
        (sh(2025, 3, 8, 10, 0), 1, sh(2025, 3, 10, 17, 0)),  # received on Saturday
        (sh(2025, 3, 7, 10, 0), 5, sh(2025, 3, 14, 17, 0)),
        (sh(2025, 9, 26, 10, 0), 1, sh(2025, 9, 28, 17, 0)),  # onto the 调休 Sunday
        (sh(2025, 9, 30, 10, 0), 1, sh(2025, 10, 9, 17, 0)),  # over 国庆/中秋
        (sh(2025, 9, 30, 10, 0), 3, sh(2025, 10, 11, 17, 0)),  # 09, 10, 11 (调休 Saturday)
        (sh(2025, 12, 31, 10, 0), 1, sh(2026, 1, 4, 17, 0)),  # into 2026, 01-04 is worked
    ],
)
def test_add_working_days(cal: WorkCalendar, start: datetime, days: int, due: datetime) -> None:
    result = cal.add_working_days(start, days)
    assert result == due
    assert result.tzinfo is UTC


def test_add_working_days_uses_the_local_date(cal: WorkCalendar) -> None:
    # Friday 2025-03-07 20:00 UTC is Saturday 04:00 in Shanghai.
    start = datetime(2025, 3, 7, 20, 0, tzinfo=UTC)
    assert local(cal.add_working_days(start, 1)) == sh(2025, 3, 10, 17, 0)


@pytest.mark.parametrize("days", [0, -1])
def test_add_working_days_needs_a_positive_count(cal: WorkCalendar, days: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        cal.add_working_days(sh(2025, 3, 10, 10, 0), days)


# --- missing years --------------------------------------------------------------------------


def test_a_missing_year_raises(cal: WorkCalendar) -> None:
    with pytest.raises(MissingYearError, match=r"2027\.json") as info:
        cal.is_working_day(date(2027, 1, 4))
    assert info.value.year == 2027
    with pytest.raises(MissingYearError):
        cal.is_working_day(date(2023, 12, 29))
    with pytest.raises(MissingYearError):
        cal.add_working_hours(sh(2027, 3, 1, 10, 0), 1)


def test_running_past_the_last_year_raises(cal: WorkCalendar) -> None:
    with pytest.raises(MissingYearError) as info:
        cal.add_working_hours(sh(2026, 12, 31, 16, 0), 2)
    assert info.value.year == 2027
    with pytest.raises(MissingYearError):
        cal.add_working_days(sh(2026, 12, 30, 10, 0), 3)
    with pytest.raises(MissingYearError):
        cal.working_seconds_between(sh(2026, 12, 31, 10, 0), sh(2027, 1, 4, 10, 0))


def test_a_gap_between_loaded_years_raises() -> None:
    gapped = WorkCalendar([shipped_year(2024), shipped_year(2026)])
    assert gapped.is_working_day(date(2026, 1, 5))
    with pytest.raises(MissingYearError) as info:
        gapped.working_seconds_between(sh(2024, 12, 30, 10, 0), sh(2026, 1, 5, 10, 0))
    assert info.value.year == 2025
    with pytest.raises(MissingYearError):
        gapped.add_working_days(sh(2024, 12, 31, 10, 0), 1)
    with pytest.raises(MissingYearError):
        gapped.add_working_hours(sh(2024, 12, 31, 16, 0), 2)


def test_share_instant_finds_the_warning_point_in_working_time(cal: WorkCalendar) -> None:
    # Friday 2026-11-20 15:00 to the following Monday 15:00 is 7 working hours (Fri 15–17,
    # Mon 9–12 and 13–15 with the default office hours): half of it falls on Monday 10:30.
    friday, monday = sh(2026, 11, 20, 15, 0), sh(2026, 11, 23, 15, 0)
    assert cal.working_hours_between(friday, monday) == pytest.approx(7.0)
    assert local(cal.share_instant(friday, monday, 0.5)) == sh(2026, 11, 23, 10, 30)
    assert cal.share_instant(friday, monday, 0.0) == friday.astimezone(UTC)
    assert local(cal.share_instant(friday, monday, 1.0)) == monday
    assert cal.share_instant(monday, friday, 0.8) == friday.astimezone(UTC)  # no span
    with pytest.raises(ValueError, match="share"):
        cal.share_instant(friday, monday, 1.5)


def test_share_instant_agrees_with_between_and_add(cal: WorkCalendar) -> None:
    for start in _starts()[:400]:
        due = cal.add_working_hours(start, 16)
        total = cal.working_seconds_between(start, due)
        expected = cal.add_working_seconds(start, total * 0.8)
        assert abs((cal.share_instant(start, due, 0.8) - expected).total_seconds()) < 1e-5


def test_share_instant_needs_every_year_between() -> None:
    gapped = WorkCalendar([shipped_year(2024), shipped_year(2026)])
    with pytest.raises(MissingYearError):
        gapped.share_instant(sh(2024, 12, 30, 10, 0), sh(2026, 1, 5, 10, 0), 0.8)


# --- district files and validation ----------------------------------------------------------

#: A made-up year for tests only: not the real 2027 arrangement.
FAKE_2027: dict[str, Any] = {
    "year": 2027,
    "source": {"title": "test data", "document": "none", "published": "2026-11-01"},
    "holidays": [{"date": "2027-01-01", "name": "元旦"}],
    "makeup_workdays": [{"date": "2027-01-02", "name": "测试调休"}],
}


def _write(tmp_path: Path, data: Any, name: str = "2027.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return path


def test_a_district_file_extends_the_calendar(tmp_path: Path) -> None:
    extended = WorkCalendar.shipped(extra_files=[_write(tmp_path, FAKE_2027)])
    assert extended.years == [2024, 2025, 2026, 2027]
    assert not extended.is_working_day(date(2027, 1, 1))
    assert extended.is_working_day(date(2027, 1, 2))
    assert extended.add_working_hours(sh(2026, 12, 31, 16, 0), 2) == sh(2027, 1, 2, 10, 0)


def _mutate(**changes: Any) -> dict[str, Any]:
    return {**FAKE_2027, **changes}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_mutate(holidays=[{"date": "2026-12-31", "name": "x"}]), "not in 2027"),
        (_mutate(holidays=[{"date": "2027-01-02", "name": "x"}]), "both as holiday and make-up"),
        (_mutate(makeup_workdays=[{"date": "2027-01-04", "name": "x"}]), "Monday, not a weekend"),
        (_mutate(holidays=[{"date": "2027-02-30", "name": "x"}]), "not a YYYY-MM-DD date"),
        (_mutate(holidays=[{"date": "2027-01-01"}]), "holidays[0].name"),
        (_mutate(holidays=[{"date": "2027-01-01", "name": "a"}] * 2), "listed twice"),
        (_mutate(holidays="2027-01-01"), "'holidays' must be a list"),
        (_mutate(source=None), "'source' must be an object"),
        (_mutate(source={"title": "t", "document": "d"}), "source.published"),
        (_mutate(year="2027"), "'year' must be"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_a_malformed_file_is_refused(tmp_path: Path, data: Any, message: str) -> None:
    with pytest.raises(CalendarDataError, match=message.replace("[", r"\[").replace("(", r"\(")):
        load_year_file(_write(tmp_path, data))


def test_invalid_json_and_a_misnamed_file_are_refused(tmp_path: Path) -> None:
    broken = tmp_path / "2027.json"
    broken.write_text("{not json", "utf-8")
    with pytest.raises(CalendarDataError, match="not valid JSON"):
        load_year_file(broken)
    with pytest.raises(CalendarDataError, match="file name says 2028"):
        load_year_file(_write(tmp_path, FAKE_2027, "2028.json"))


def test_a_year_given_twice_is_refused() -> None:
    with pytest.raises(CalendarDataError, match="twice"):
        WorkCalendar([shipped_year(2025), parse_year(json.loads(json.dumps(_2025_doc())))])


def _2025_doc() -> dict[str, Any]:
    year = shipped_year(2025)
    return {
        "year": 2025,
        "source": {"title": "t", "document": "d", "published": "2024-11-12"},
        "holidays": [{"date": h.day.isoformat(), "name": h.name} for h in year.holidays],
        "makeup_workdays": [],
    }


# --- office hours ---------------------------------------------------------------------------


def test_configurable_office_hours() -> None:
    hours = OfficeHours.parse("08:30-11:30", "13:30-17:30")
    custom = WorkCalendar.shipped(hours=hours)
    assert custom.working_hours_per_day() == 7.0
    assert custom.add_working_hours(sh(2025, 3, 10, 11, 0), 1) == sh(2025, 3, 10, 14, 0)
    assert custom.add_working_days(sh(2025, 3, 10, 11, 0), 1) == sh(2025, 3, 11, 17, 30)


@pytest.mark.parametrize(
    "spans",
    [("09:00-12:00", "11:00-17:00"), ("12:00-09:00",), ("9h-12h",), ()],
)
def test_bad_office_hours_are_refused(spans: tuple[str, ...]) -> None:
    with pytest.raises(CalendarDataError):
        OfficeHours.parse(*spans)

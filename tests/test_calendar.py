"""Working-day deadlines on the real Chinese calendar (chinesecalendar, no mocks)."""
from __future__ import annotations

import os
import time
from datetime import date, datetime, timedelta, timezone

import chinese_calendar
import pytest

from bot.core import clock
from bot.dispatch.calendar import Due, WorkingCalendar, end_of_day, load_calendar, start_of_day
from models.operations import Holiday

SH = clock.SHANGHAI
UTC = timezone.utc


def sh(y, m, d, hh=10, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def end(y, m, d) -> datetime:
    return datetime(y, m, d, 23, 59, 59, 999999, tzinfo=SH)


@pytest.fixture
def cal() -> WorkingCalendar:
    return WorkingCalendar()


def test_package_facts_the_tables_rely_on():
    """What the package says about 2026 (checked, not guessed), and that it stops at 2026."""
    off = [date(2026, 10, d) for d in range(1, 8)] + [date(2026, 9, d) for d in (25, 26, 27)]
    off += [date(2026, 2, d) for d in range(15, 24)]
    assert not any(chinese_calendar.is_workday(d) for d in off)
    # make-up working days (调休上班): Sunday 2026-09-20, Saturdays 2026-10-10, 02-14 and 02-28
    for d in (date(2026, 9, 20), date(2026, 10, 10), date(2026, 2, 14), date(2026, 2, 28)):
        assert d.weekday() >= 5 and chinese_calendar.is_workday(d)
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 1, 4))


# (receipt, working days, deadline day, provisional)
WORKING_DAY_CASES = [
    pytest.param(sh(2026, 9, 30), 7, date(2026, 10, 15), False, id="national-day-with-makeup-saturday"),
    pytest.param(sh(2026, 10, 9), 1, date(2026, 10, 10), False, id="makeup-saturday-2026-10-10-counts"),
    pytest.param(sh(2026, 9, 18), 1, date(2026, 9, 20), False, id="makeup-sunday-2026-09-20-counts"),
    pytest.param(sh(2026, 9, 18), 7, date(2026, 9, 29), False, id="makeup-sunday-and-mid-autumn"),
    pytest.param(sh(2026, 2, 13), 7, date(2026, 3, 2), False, id="spring-festival-2026"),
    pytest.param(sh(2026, 2, 14), 1, date(2026, 2, 24), False, id="spring-festival-receipt-on-makeup-day"),
    pytest.param(sh(2026, 3, 12), 3, date(2026, 3, 17), False, id="weekend"),
    pytest.param(sh(2026, 3, 13, 17), 1, date(2026, 3, 16), False, id="friday-evening-triage"),
    pytest.param(sh(2026, 3, 15, 23, 30), 1, date(2026, 3, 16), False, id="receipt-on-sunday"),
    pytest.param(sh(2026, 3, 16, 0, 1), 1, date(2026, 3, 17), False, id="receipt-day-never-counts"),
    pytest.param(sh(2026, 9, 15), 45, date(2026, 11, 23), False, id="mediation-45-working-days"),
    pytest.param(sh(2026, 12, 30), 1, date(2026, 12, 31), False, id="last-packaged-day-not-provisional"),
    pytest.param(sh(2026, 12, 30), 7, date(2027, 1, 11), True, id="into-2027-provisional"),
    pytest.param(sh(2026, 12, 31), 1, date(2027, 1, 4), True, id="2027-jan-1-and-weekend-skipped"),
    pytest.param(sh(2028, 4, 28), 1, date(2028, 5, 3), True, id="2028-may-1-2-fallback"),
    pytest.param(sh(2028, 9, 29), 1, date(2028, 10, 4), True, id="2028-oct-1-3-fallback"),
    pytest.param(sh(2003, 12, 30), 1, date(2003, 12, 31), True, id="before-the-package"),
    pytest.param(sh(2026, 3, 12), 0, date(2026, 3, 12), False, id="zero-days-is-end-of-receipt-day"),
]


@pytest.mark.parametrize("receipt, days, due_day, provisional", WORKING_DAY_CASES)
def test_add_working_days(cal, receipt, days, due_day, provisional):
    due = cal.add_working_days(receipt, days)
    assert due == Due(end(due_day.year, due_day.month, due_day.day), provisional)
    assert due.day == due_day
    assert due.at.utcoffset() == timedelta(hours=8)


def test_receipt_date_is_the_shanghai_date():
    cal = WorkingCalendar()
    # Sunday 20:00 UTC is Monday 04:00 in Shanghai: Monday is the receipt day
    assert cal.add_working_days(datetime(2026, 3, 15, 20, 0, tzinfo=UTC), 1).day == date(2026, 3, 17)
    # Friday 16:30 UTC is Saturday 00:30 in Shanghai
    assert cal.add_working_days(datetime(2026, 3, 13, 16, 30, tzinfo=UTC), 1).day == date(2026, 3, 16)
    # 2026-09-30 17:00 UTC is 2026-10-01 01:00 in Shanghai: still counts from Oct 2
    assert cal.add_working_days(datetime(2026, 9, 30, 17, 0, tzinfo=UTC), 1).day == date(2026, 10, 8)


def test_deadline_convention_is_last_microsecond_of_the_day(cal):
    due = cal.add_working_days(sh(2026, 9, 30), 7)
    assert due.at == end_of_day(date(2026, 10, 15))
    assert due.at + timedelta(microseconds=1) == start_of_day(date(2026, 10, 16))
    assert due.at.astimezone(UTC) == datetime(2026, 10, 15, 15, 59, 59, 999999, tzinfo=UTC)


# (receipt, days, deadline day)
CALENDAR_DAY_CASES = [
    pytest.param(sh(2026, 9, 30), 5, date(2026, 10, 5), id="merchant-answer-ends-inside-national-day"),
    pytest.param(sh(2026, 9, 29), 3, date(2026, 10, 2), id="payment-crosses-into-holiday"),
    pytest.param(sh(2026, 2, 13), 5, date(2026, 2, 18), id="spring-festival-counts"),
    pytest.param(datetime(2026, 9, 30, 17, 0, tzinfo=UTC), 5, date(2026, 10, 6), id="utc-evening-is-next-shanghai-day"),
    pytest.param(sh(2026, 12, 30), 3, date(2027, 1, 2), id="into-2027-still-certain"),
]


@pytest.mark.parametrize("receipt, days, due_day", CALENDAR_DAY_CASES)
def test_add_calendar_days(cal, receipt, days, due_day):
    due = cal.add_calendar_days(receipt, days)
    assert due == Due(end_of_day(due_day), False)
    assert due.at.tzinfo is SH


def test_admin_holiday_in_2027_counts_and_covers_the_year():
    base = WorkingCalendar()
    assert base.add_working_days(sh(2026, 12, 30), 5) == Due(end(2027, 1, 7), True)
    cal = WorkingCalendar({date(2027, 1, 4): False})
    assert cal.day_status(date(2027, 1, 4)) == (False, False)
    assert cal.day_status(date(2027, 1, 1)) == (False, False)  # fixed-date holiday, year now covered
    assert cal.day_status(date(2027, 6, 15)) == (True, False)
    assert cal.add_working_days(sh(2026, 12, 30), 5) == Due(end(2027, 1, 8), False)
    assert cal.day_status(date(2028, 6, 15)) == (True, True)  # 2028 is still uncovered


def test_admin_makeup_saturday_in_2027_is_a_working_day():
    friday = sh(2027, 1, 8)
    assert WorkingCalendar().add_working_days(friday, 1) == Due(end(2027, 1, 11), True)
    cal = WorkingCalendar({date(2027, 1, 9): True})
    assert cal.is_workday(date(2027, 1, 9))
    assert cal.add_working_days(friday, 1) == Due(end(2027, 1, 9), False)
    assert cal.add_working_days(friday, 2) == Due(end(2027, 1, 11), False)


def test_overrides_beat_the_package():
    cal = WorkingCalendar({date(2026, 10, 12): False, date(2026, 10, 7): True})
    assert cal.day_status(date(2026, 10, 12)) == (False, False)
    assert cal.day_status(date(2026, 10, 7)) == (True, False)
    assert cal.add_working_days(sh(2026, 9, 30), 1) == Due(end(2026, 10, 7), False)
    assert cal.add_working_days(sh(2026, 10, 9), 2) == Due(end(2026, 10, 13), False)


def test_unknown_years_never_raise(cal):
    for day, expected in [(date(1999, 1, 1), False), (date(1999, 1, 4), True), (date(2100, 10, 2), False),
                          (date(2100, 10, 4), True), (date(2100, 10, 9), False)]:
        assert cal.day_status(day) == (expected, True)
    assert cal.day_status(date(2026, 10, 10)) == (True, False)
    # Fri 12-25, Mon-Thu 12-28..31, (Jan 1 fixed holiday, weekend), Mon-Fri 1-4..8
    assert cal.working_days_between(sh(2099, 12, 24), sh(2100, 1, 8)) == 10
    assert cal.warning_time(end(2100, 1, 3)) == start_of_day(date(2099, 12, 31))


def test_uncovered_years():
    assert WorkingCalendar().uncovered_years(date(2025, 12, 1), date(2028, 2, 1)) == [2027, 2028]
    assert WorkingCalendar({date(2027, 1, 1): False}).uncovered_years(date(2025, 1, 1), date(2028, 1, 1)) == [2028]
    assert WorkingCalendar().uncovered_years(date(2026, 1, 1), date(2026, 12, 31)) == []
    assert WorkingCalendar().uncovered_years(date(2003, 6, 1), date(2004, 6, 1)) == [2003]


# (start, end, working days between)
BETWEEN_CASES = [
    pytest.param(sh(2026, 9, 30), sh(2026, 10, 7, 18), 0, id="whole-holiday-is-zero"),
    pytest.param(sh(2026, 9, 30), sh(2026, 10, 8, 9), 1, id="first-day-after-national-day"),
    pytest.param(sh(2026, 9, 30), sh(2026, 10, 12, 9), 4, id="includes-makeup-saturday"),
    pytest.param(end(2026, 9, 29), sh(2026, 10, 9), 3, id="three-working-days-late"),
    pytest.param(end(2026, 9, 29), sh(2026, 10, 8), 2, id="two-working-days-late"),
    pytest.param(sh(2026, 2, 13), sh(2026, 2, 24), 2, id="spring-festival"),
    pytest.param(sh(2026, 3, 16, 9), sh(2026, 3, 16, 18), 0, id="same-day"),
    pytest.param(sh(2026, 10, 12), sh(2026, 9, 30), 0, id="end-before-start"),
    pytest.param(sh(2026, 10, 12), sh(2026, 10, 12), 0, id="end-equals-start"),
]


@pytest.mark.parametrize("start, stop, expected", BETWEEN_CASES)
def test_working_days_between(cal, start, stop, expected):
    assert cal.working_days_between(start, stop) == expected


@pytest.mark.parametrize("receipt", [sh(2026, 9, 18), sh(2026, 9, 30, 23, 59), sh(2026, 2, 13), sh(2026, 12, 1),
                                     datetime(2026, 3, 15, 20, 0, tzinfo=UTC)])
@pytest.mark.parametrize("days", [1, 7, 45])
def test_between_inverts_add(cal, receipt, days):
    due = cal.add_working_days(receipt, days)
    assert cal.working_days_between(receipt, due.at) == days
    assert cal.working_days_between(receipt, due.at - timedelta(days=1)) == days - 1


# (deadline, warning moment)
WARNING_CASES = [
    pytest.param(end(2026, 10, 15), start_of_day(date(2026, 10, 15)), id="working-day-deadline"),
    pytest.param(end(2026, 10, 12), start_of_day(date(2026, 10, 12)), id="monday-after-holiday"),
    pytest.param(end(2026, 10, 5), start_of_day(date(2026, 9, 30)), id="natural-deadline-in-holiday"),
    pytest.param(end(2026, 10, 11), start_of_day(date(2026, 10, 10)), id="sunday-deadline-makeup-saturday"),
    pytest.param(end(2026, 2, 22), start_of_day(date(2026, 2, 14)), id="spring-festival"),
    pytest.param(start_of_day(date(2026, 10, 16)), start_of_day(date(2026, 10, 15)), id="midnight-is-previous-day"),
    pytest.param(datetime(2026, 10, 15, 15, 59, 59, 999999, tzinfo=UTC), start_of_day(date(2026, 10, 15)),
                 id="utc-input"),
]


@pytest.mark.parametrize("due, expected", WARNING_CASES)
def test_warning_time(cal, due, expected):
    warning = cal.warning_time(due)
    assert warning == expected
    assert warning.tzinfo is SH and warning.hour == 0 and warning <= due


def test_warning_for_a_computed_deadline(cal):
    due = cal.add_working_days(sh(2026, 9, 30), 7)
    assert cal.warning_time(due.at) == sh(2026, 10, 15, 0)
    # the end's date counts from its first instant: at the warning the 7th day has begun
    assert cal.working_days_between(sh(2026, 9, 30), cal.warning_time(due.at)) == 7
    assert cal.working_days_between(sh(2026, 9, 30), cal.warning_time(due.at) - timedelta(microseconds=1)) == 6


def test_rejects_naive_and_negative(cal):
    with pytest.raises(ValueError):
        cal.add_working_days(datetime(2026, 3, 12, 10), 1)
    with pytest.raises(ValueError):
        cal.add_calendar_days(datetime(2026, 3, 12, 10), 1)
    with pytest.raises(ValueError):
        cal.working_days_between(sh(2026, 3, 12), datetime(2026, 3, 20))
    with pytest.raises(ValueError):
        cal.add_working_days(sh(2026, 3, 12), -1)


@pytest.fixture
def foreign_machine_tz():
    """Pretend the machine runs in a zone far from Shanghai (UTC-10), then restore."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "Pacific/Honolulu"
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


def test_machine_time_zone_does_not_matter(foreign_machine_tz):
    assert time.localtime(0).tm_hour == 14  # 1970-01-01 00:00 UTC is 14:00 the day before in Honolulu
    cal = WorkingCalendar()
    # 2026-10-09 16:30 UTC: Oct 9 in Honolulu, Oct 10 (make-up Saturday) 00:30 in Shanghai
    receipt = datetime(2026, 10, 9, 16, 30, tzinfo=UTC)
    assert cal.add_working_days(receipt, 1) == Due(end(2026, 10, 12), False)
    assert cal.add_calendar_days(receipt, 1) == Due(end(2026, 10, 11), False)
    assert cal.working_days_between(receipt, sh(2026, 10, 12, 0, 1)) == 1
    assert cal.warning_time(end(2026, 10, 11)) == start_of_day(date(2026, 10, 10))
    for case in WORKING_DAY_CASES:
        receipt, days, due_day, provisional = case.values
        assert cal.add_working_days(receipt, days) == Due(end_of_day(due_day), provisional)


def test_load_calendar_reads_holiday_rows(db):
    with db.session() as session:
        assert load_calendar(session).uncovered_years(date(2027, 1, 1), date(2027, 12, 31)) == [2027]
        session.add(Holiday(day=date(2027, 1, 4), workday=False, name="测试假日"))
        session.add(Holiday(day=date(2027, 1, 9), workday=True, name="调休上班"))
        session.add(Holiday(day=date(2026, 10, 12), workday=False, name="覆盖包数据"))
    with db.session() as session:
        cal = load_calendar(session)
    assert cal.day_status(date(2027, 1, 4)) == (False, False)
    assert cal.day_status(date(2027, 1, 9)) == (True, False)
    assert cal.day_status(date(2026, 10, 12)) == (False, False)
    assert cal.uncovered_years(date(2026, 1, 1), date(2028, 1, 1)) == [2028]
    # Dec 31 (1), Jan 1 fixed holiday, weekend, Jan 4 admin holiday, Jan 5-8 (2-5)
    assert cal.add_working_days(sh(2026, 12, 30), 5) == Due(end(2027, 1, 8), False)
    assert cal.add_working_days(sh(2027, 1, 8), 1) == Due(end(2027, 1, 9), False)

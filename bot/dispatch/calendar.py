"""Working days on the Chinese calendar, for the legal clocks of a complaint.

The SAMR complaint measures count in working days ("accept within 7 working
days", "mediate within 45 working days", "triage within 1 working day");
other limits count natural days ("the merchant answers within 5 days").

Where a day's status comes from, first match wins:

1. the admin-maintained `Holiday` table (`overrides`): any date, any year;
2. the `chinesecalendar` package: statutory holidays and make-up working days
   (调休上班) for the years it ships (2004-2026 in 1.11);
3. the base rules: Saturdays and Sundays off, plus the fixed-date statutory
   holidays (Jan 1; May 1-2; Oct 1-3). A day decided here is *provisional*
   unless the admin table covers its year (holds at least one row for it):
   then the admin has published that year and the base rules only fill the
   ordinary weekdays and weekends between the rows.

Deadline convention: a limit ends at the END of its last day, represented as
that Shanghai day's 23:59:59.999999 (`end_of_day`). So `due.at.date()` is the
last day, and a ticket is late when `now > due.at`. Everything is computed on
Asia/Shanghai dates whatever the machine's time zone; inputs must be aware
datetimes and outputs are aware Shanghai datetimes.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Mapping

import chinese_calendar
from sqlmodel import Session, select

from bot.core import clock
from models.operations import Holiday

# Statutory holidays with a fixed Gregorian date (全国年节及纪念日放假办法, as
# amended 2024). The lunar ones (Spring Festival, Qingming, Dragon Boat,
# Mid-autumn) and the State Council's bridging days are not guessable.
FIXED_HOLIDAYS: frozenset[tuple[int, int]] = frozenset({(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)})

DAY_END = time(23, 59, 59, 999999)
_ONE_DAY = timedelta(days=1)
_EPSILON = timedelta(microseconds=1)


@dataclass(frozen=True)
class Due:
    """A deadline, and whether it rests on guessed (fallback) calendar days."""

    at: datetime          # aware, Shanghai; the last instant of the last day (see end_of_day)
    provisional: bool     # some day in the span came from the fallback rules

    @property
    def day(self) -> date:
        """The last day of the limit (Shanghai)."""
        return self.at.date()


def start_of_day(day: date) -> datetime:
    """00:00 Shanghai of `day`: the moment a day's work (and its warnings) begin."""
    return datetime.combine(day, time(0), tzinfo=clock.SHANGHAI)


def end_of_day(day: date) -> datetime:
    """23:59:59.999999 Shanghai of `day`: the deadline convention of this module."""
    return datetime.combine(day, DAY_END, tzinfo=clock.SHANGHAI)


def _shanghai(moment: datetime, name: str) -> datetime:
    # clock.local() would read a naive value as UTC; a naive value here is far
    # more likely a Shanghai wall-clock time, and 8 hours can move the date.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (use bot.core.clock.now())")
    return clock.local(moment)


def _check_days(days: int) -> None:
    if days < 0:
        raise ValueError(f"days must be >= 0, got {days}")


@functools.lru_cache(maxsize=None)
def package_covers(year: int) -> bool:
    """Whether the chinesecalendar package has data for `year` (it raises otherwise)."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def _package_is_workday(day: date) -> bool | None:
    """The package's answer, or None for a year it does not know."""
    if not package_covers(day.year):
        return None
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # defensive: never let the package's "unknown year" escape
        return None


def _base_is_workday(day: date) -> bool:
    return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS


class WorkingCalendar:
    """Which days are working days, and deadline arithmetic over them.

    Build one per unit of work with `load_calendar(session)` so admin edits to
    the Holiday table take effect; the object itself is immutable and cheap.
    """

    def __init__(self, overrides: Mapping[date, bool] | None = None) -> None:
        """`overrides` maps a date to is_workday (the Holiday table); it beats the package."""
        self._overrides: dict[date, bool] = {}
        for day, workday in (overrides or {}).items():
            if isinstance(day, datetime):
                day = day.date()
            self._overrides[day] = bool(workday)
        self._admin_years = frozenset(day.year for day in self._overrides)

    # -- single days -------------------------------------------------------

    def covers_year(self, year: int) -> bool:
        """Whether `year` is known (package or admin table), i.e. not provisional."""
        return year in self._admin_years or package_covers(year)

    def day_status(self, day: date) -> tuple[bool, bool]:
        """(is_workday, provisional) for one Shanghai date; never raises for unknown years."""
        if isinstance(day, datetime):
            day = day.date()
        override = self._overrides.get(day)
        if override is not None:
            return override, False
        packaged = _package_is_workday(day)
        if packaged is not None:
            return packaged, False
        return _base_is_workday(day), day.year not in self._admin_years

    def is_workday(self, day: date) -> bool:
        """Whether staff are expected to work on `day` (make-up Saturdays count)."""
        return self.day_status(day)[0]

    def uncovered_years(self, start: date, end: date) -> list[int]:
        """Years in start..end (inclusive) decided by fallback rules, for the console's warning."""
        if isinstance(start, datetime):
            start = start.date()
        if isinstance(end, datetime):
            end = end.date()
        return [year for year in range(start.year, end.year + 1) if not self.covers_year(year)]

    # -- deadlines ---------------------------------------------------------

    def add_working_days(self, start: datetime, days: int) -> Due:
        """The deadline of "within `days` working days of `start`".

        The day of `start` never counts (even if it is a working day and the
        complaint came in at 00:01): counting begins with the next Shanghai
        date, and the deadline is the end of the `days`-th working day.
        `days == 0` gives the end of `start`'s own day. Provisional when any
        day after `start`'s date up to the deadline day came from the fallback.
        """
        _check_days(days)
        day = _shanghai(start, "start").date()
        provisional = False
        remaining = days
        while remaining:
            day += _ONE_DAY
            workday, guessed = self.day_status(day)
            provisional = provisional or guessed
            if workday:
                remaining -= 1
        return Due(end_of_day(day), provisional)

    def add_calendar_days(self, start: datetime, days: int) -> Due:
        """The deadline of "within `days` days of `start`": end of (Shanghai date of start) + days.

        Holidays and weekends count like any day, so the result never depends
        on the holiday calendar and is never provisional.
        """
        _check_days(days)
        return Due(end_of_day(_shanghai(start, "start").date() + timedelta(days=days)), False)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Working days after `start`'s date up to and including `end`'s date; 0 if end <= start.

        `end`'s day counts from its first instant (00:00), so at 00:00 of the
        3rd working day after a deadline the answer is already 3.
        For escalation: with start = a deadline, this is how many working days
        late a ticket is (`>= 3` means "3 working days past the deadline").
        Inverse of add_working_days: working_days_between(t, add_working_days(t, n).at) == n.
        """
        first = _shanghai(start, "start")
        last = _shanghai(end, "end")
        if last <= first:
            return 0
        count = 0
        day = first.date() + _ONE_DAY
        while day <= last.date():
            if self.is_workday(day):
                count += 1
            day += _ONE_DAY
        return count

    def warning_time(self, due: datetime) -> datetime:
        """When the "one working day left" warning goes out for a deadline at `due`.

        The start (00:00 Shanghai) of the last working day on or before the
        deadline's day. For a working-day deadline (end of working day X)
        that is 00:00 of X: exactly one working day remains. For a natural-day
        deadline that falls on a holiday or weekend it is the start of the
        working day before it, the last day staff can act. A `due` at exactly
        midnight is read as the end of the previous day (next-midnight style).
        """
        day = (_shanghai(due, "due") - _EPSILON).date()
        while not self.is_workday(day):
            day -= _ONE_DAY
        return start_of_day(day)


def load_calendar(session: Session) -> WorkingCalendar:
    """A calendar with the admin Holiday table applied; read fresh so edits apply at once."""
    rows = session.exec(select(Holiday)).all()
    return WorkingCalendar({row.day: row.workday for row in rows})

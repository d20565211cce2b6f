"""The plan's figures over tickets: targets, breakdowns, speed and hotspots.

Plain functions over a session. Every aggregate is computed by the database
(COUNT/SUM/AVG with GROUP BY); Python only names and orders the handful of
rows that come back, so the figures cost the same few queries on a dozen
tickets or on a million.

Each function takes
- `where`: an optional SQL condition on `Ticket` (e.g. `bot.dispatch.access.visible_filter(staff)`),
- `period`: an optional `DateRange` of Shanghai calendar days on the ticket's submission time,
and the time-relative ones (weeks, hotspots) an explicit `now` (default: `clock.now()`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from sqlalchemy import Float, case, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, select

from bot.core import clock
from models import Bureau, Merchant, Sector, Ticket, TicketStatus, Town

OPEN = tuple(TicketStatus.open_states())
HANDLED = (TicketStatus.ACCEPTED, TicketStatus.RESOLVED, TicketStatus.CLOSED, TicketStatus.REJECTED,
           TicketStatus.WITHDRAWN)
RESOLVED = (TicketStatus.RESOLVED, TicketStatus.CLOSED)
SATISFIED, UNSATISFIED = "satisfied", "unsatisfied"

HANDLING_TARGET = 1.0        # 纠纷处理率 100%
SATISFACTION_TARGET = 0.85   # 满意率 85%
HOTSPOT_DAYS = 7
HOTSPOT_MERCHANT_COUNT = 3   # a merchant with this many tickets in the last 7 days
HOTSPOT_SECTOR_MIN = 3       # a sector with at least this many, and at least double the 7 days before
WEEKS = 12

NO_SECTOR = "待分拣"
NO_TOWN = "未填镇街"
NO_BUREAU = "商家直接和解"   # direct settlement: the merchant, not a bureau, holds the ticket


# -- shapes ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DateRange:
    """Shanghai calendar days, both ends included; either end may be left open."""

    start: date | None = None
    end: date | None = None

    @property
    def start_at(self) -> datetime | None:
        return datetime.combine(self.start, time(), clock.SHANGHAI) if self.start else None

    @property
    def end_before(self) -> datetime | None:
        """The first instant after the range (midnight after `end`, Shanghai)."""
        return datetime.combine(self.end + timedelta(days=1), time(), clock.SHANGHAI) if self.end else None

    def conditions(self, column=Ticket.created_at) -> list:
        conditions = []
        if self.start:
            conditions.append(column >= self.start_at)
        if self.end:
            conditions.append(column < self.end_before)
        return conditions

    def __bool__(self) -> bool:
        return bool(self.start or self.end)


class Ratio(NamedTuple):
    """numerator / denominator against a target; `rate` is None when there is nothing to divide."""

    numerator: int
    denominator: int
    target: float | None = None

    @property
    def rate(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    @property
    def below_target(self) -> bool:
        return self.target is not None and self.rate is not None and self.rate < self.target


class Count(NamedTuple):
    key: object          # sector key, bureau id, town code, merchant name (None: not set)
    name: str
    count: int


class BureauRate(NamedTuple):
    bureau_id: int
    name: str
    overdue: int
    open: int

    @property
    def rate(self) -> float:
        return self.overdue / self.open if self.open else 0.0


class WeekCount(NamedTuple):
    week: str            # ISO week, "2026-W48"
    start: date          # its Monday
    count: int


class Average(NamedTuple):
    days: float | None   # None when nothing was resolved
    tickets: int


class SectorSurge(NamedTuple):
    key: str
    name: str
    count: int           # last 7 days
    before: int          # the 7 days before


# -- SQL helpers -----------------------------------------------------------------------------------
class days_between(FunctionElement):
    """(later - earlier) in days, as a float, on SQLite and PostgreSQL."""

    type = Float()
    name = "days_between"
    inherit_cache = True


@compiles(days_between)
def _days_between_default(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400.0)"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"(julianday({later}) - julianday({earlier}))"


def _scope(where=None, period: DateRange | None = None) -> list:
    conditions = [] if where is None else [where]
    if period:
        conditions.extend(period.conditions())
    return conditions


def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _ordered(rows: list[Count]) -> list[Count]:
    return sorted(rows, key=lambda r: (-r.count, r.name))


# -- the plan's targets ----------------------------------------------------------------------------
def handling_rate(session: Session, where=None, period: DateRange | None = None) -> Ratio:
    """纠纷处理率: tickets accepted, resolved, closed, rejected or withdrawn, over all tickets (target 100%)."""
    total, handled = session.exec(select(func.count(Ticket.id), _count_if(Ticket.status.in_(HANDLED)))
                                  .where(*_scope(where, period))).one()
    return Ratio(int(handled or 0), int(total or 0), HANDLING_TARGET)


def satisfaction(session: Session, where=None, period: DateRange | None = None) -> Ratio:
    """满意率: satisfied over rated (satisfied or unsatisfied; "no rating" does not count) (target 85%)."""
    satisfied, rated = session.exec(select(_count_if(Ticket.rating == SATISFIED),
                                           _count_if(Ticket.rating.in_((SATISFIED, UNSATISFIED))))
                                    .where(*_scope(where, period))).one()
    return Ratio(int(satisfied or 0), int(rated or 0), SATISFACTION_TARGET)


def overdue_rate(session: Session, where=None, period: DateRange | None = None) -> Ratio:
    """Open tickets that are overdue, over open tickets."""
    total, overdue = session.exec(select(func.count(Ticket.id), _count_if(Ticket.overdue == True))  # noqa: E712
                                  .where(Ticket.status.in_(OPEN), *_scope(where, period))).one()
    return Ratio(int(overdue or 0), int(total or 0))


# -- breakdowns ------------------------------------------------------------------------------------
def _breakdown(session: Session, column, name_columns, missing: str, where, period) -> list[Count]:
    """Tickets grouped by one column (grouped on the key alone; the few names are looked up after)."""
    rows = session.exec(select(column, func.count(Ticket.id)).where(*_scope(where, period)).group_by(column)).all()
    names = dict(session.exec(select(*name_columns)).all()) if rows else {}
    return _ordered([Count(key, names.get(key) or missing, int(n)) for key, n in rows])


def tickets_by_sector(session: Session, where=None, period: DateRange | None = None) -> list[Count]:
    return _breakdown(session, Ticket.sector_key, (Sector.key, Sector.name), NO_SECTOR, where, period)


def tickets_by_bureau(session: Session, where=None, period: DateRange | None = None) -> list[Count]:
    """By the bureau currently handling the ticket."""
    return _breakdown(session, Ticket.handler_bureau_id, (Bureau.id, Bureau.name), NO_BUREAU, where, period)


def tickets_by_town(session: Session, where=None, period: DateRange | None = None) -> list[Count]:
    return _breakdown(session, Ticket.town_code, (Town.code, Town.name), NO_TOWN, where, period)


def week_starts(now: datetime, weeks: int = WEEKS) -> list[date]:
    """The Mondays (Shanghai) of the `weeks` ISO weeks ending with the one containing `now`, oldest first."""
    today = clock.local(now).date()
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=i) for i in range(weeks - 1, -1, -1)]


def tickets_by_week(session: Session, where=None, period: DateRange | None = None, now: datetime | None = None,
                    weeks: int = WEEKS) -> list[WeekCount]:
    """Tickets per ISO week (Monday to Sunday, Shanghai) for the last `weeks` weeks up to `now`, zeros included."""
    now = now or clock.now()
    starts = week_starts(now, weeks)
    bounds = [datetime.combine(day, time(), clock.SHANGHAI) for day in starts]
    after = bounds[-1] + timedelta(weeks=1)
    # a CASE over the week boundaries: portable, and it keeps the range scan on created_at
    index = case(*[(Ticket.created_at >= bounds[i], i) for i in range(weeks - 1, -1, -1)], else_=-1)
    bucketed = (select(index.label("week")).where(Ticket.created_at >= bounds[0], Ticket.created_at < after,
                                                  *_scope(where, period)).subquery())
    counts = dict(session.exec(select(bucketed.c.week, func.count()).group_by(bucketed.c.week)).all())
    result = []
    for i, start in enumerate(starts):
        year, week, _ = start.isocalendar()
        result.append(WeekCount(f"{year}-W{week:02d}", start, int(counts.get(i, 0))))
    return result


def overdue_by_bureau(session: Session, where=None, period: DateRange | None = None) -> list[BureauRate]:
    """Per handling bureau: open tickets that are overdue, over its open tickets (highest rate first)."""
    rows = session.exec(select(Bureau.id, Bureau.name, _count_if(Ticket.overdue == True),  # noqa: E712
                               func.count(Ticket.id))
                        .select_from(Ticket).join(Bureau, Bureau.id == Ticket.handler_bureau_id)
                        .where(Ticket.status.in_(OPEN), *_scope(where, period))
                        .group_by(Bureau.id, Bureau.name)).all()
    rates = [BureauRate(bureau_id, name, int(overdue), int(total)) for bureau_id, name, overdue, total in rows]
    return sorted(rates, key=lambda r: (-r.rate, -r.overdue, -r.open, r.name))


def average_days_to_resolve(session: Session, where=None, period: DateRange | None = None) -> Average:
    """Mean days from submission to the (latest) outcome, over resolved and closed tickets that had one."""
    days, n = session.exec(select(func.avg(days_between(Ticket.resolved_at, Ticket.created_at)), func.count(Ticket.id))
                           .where(Ticket.status.in_(RESOLVED), Ticket.resolved_at.is_not(None),
                                  *_scope(where, period))).one()
    return Average(float(days) if days is not None else None, int(n or 0))


# -- hotspots (relative to `now`, not to a period) -------------------------------------------------
def new_tickets(session: Session, where=None, now: datetime | None = None, days: int = HOTSPOT_DAYS) -> int:
    now = now or clock.now()
    return int(session.exec(select(func.count(Ticket.id)).where(
        Ticket.created_at >= now - timedelta(days=days), Ticket.created_at < now, *_scope(where))).one() or 0)


def hotspot_merchants(session: Session, where=None, now: datetime | None = None, days: int = HOTSPOT_DAYS,
                      minimum: int = HOTSPOT_MERCHANT_COUNT) -> list[Count]:
    """Merchants with at least `minimum` tickets in the `days` before `now` (the registry's name, or the consumer's)."""
    now = now or clock.now()
    name = func.coalesce(Merchant.name, Ticket.merchant_name)
    rows = session.exec(select(name, func.count(Ticket.id)).select_from(Ticket)
                        .outerjoin(Merchant, Merchant.id == Ticket.merchant_id)
                        .where(Ticket.created_at >= now - timedelta(days=days), Ticket.created_at < now,
                               name.is_not(None), *_scope(where))
                        .group_by(name).having(func.count(Ticket.id) >= minimum)).all()
    return _ordered([Count(merchant, merchant, n) for merchant, n in rows])


def hotspot_sectors(session: Session, where=None, now: datetime | None = None, days: int = HOTSPOT_DAYS,
                    minimum: int = HOTSPOT_SECTOR_MIN) -> list[SectorSurge]:
    """Sectors with at least `minimum` tickets in the last `days`, and at least twice the `days` before."""
    now = now or clock.now()
    recent_from, before_from = now - timedelta(days=days), now - timedelta(days=2 * days)
    recent = _count_if(Ticket.created_at >= recent_from)
    before = _count_if(Ticket.created_at < recent_from)
    rows = session.exec(select(Ticket.sector_key, Sector.name, recent, before)
                        .join(Sector, Sector.key == Ticket.sector_key)
                        .where(Ticket.created_at >= before_from, Ticket.created_at < now, *_scope(where))
                        .group_by(Ticket.sector_key, Sector.name)
                        .having(recent >= minimum, recent >= 2 * before)).all()
    surges = [SectorSurge(key, name, int(n), int(b)) for key, name, n, b in rows]
    return sorted(surges, key=lambda s: (-s.count, s.name))


# -- the weekly city digest's figures --------------------------------------------------------------
def city_figures(session: Session, now: datetime) -> dict:
    """Handling rate, overdue per bureau, satisfaction, hotspots: the plan's targets, city-wide."""
    handling = handling_rate(session)
    rated = satisfaction(session)
    overdue = sorted((r for r in overdue_by_bureau(session) if r.overdue), key=lambda r: (-r.overdue, r.name))
    return {
        "total": handling.denominator, "handled": handling.numerator,
        "handling_rate": round(handling.rate, 4) if handling.denominator else 1.0,
        "satisfaction": round(rated.rate, 4) if rated.denominator else None,
        "rated": rated.denominator,
        "overdue_by_bureau": [(r.name, r.overdue) for r in overdue],
        "hotspot_merchants": [(m.name, m.count) for m in hotspot_merchants(session, now=now)],
        "hotspot_sectors": [(s.name, s.count, s.before) for s in hotspot_sectors(session, now=now)],
        "this_week": new_tickets(session, now=now),
    }

"""Deadline watch: warnings, 督办 escalation, the merchant and compensation timers, unrated tickets.

Every step is recorded on the deadline row (warned_at, level) under its row
lock, and every message has a dedup key, so a scan run twice for the same
moment, or by two processes, sends nothing twice; a scan that was missed
catches up by simply running later.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, select

from bot.core import clock
from bot.dispatch import audit, mediation, settlement
from bot.dispatch.calendar import WorkingCalendar, load_calendar
from bot.dispatch.parties import bureau_by_code, notify_bureau_staff
from models import Bureau, DeadlineKind, Role, Ticket, TicketDeadline, TicketStatus

LEVEL_2_AFTER_WD = 3
BATCH = 500

# deadlines that belong to a bureau and are escalated; merchant and rating clocks have their own rules
BUREAU_DEADLINES = (DeadlineKind.TRIAGE, DeadlineKind.ACCEPTANCE, DeadlineKind.MEDIATION, DeadlineKind.JURISDICTION)
WHAT = {DeadlineKind.TRIAGE: "分拣", DeadlineKind.ACCEPTANCE: "受理决定", DeadlineKind.MEDIATION: "调解",
        DeadlineKind.JURISDICTION: "管辖决定", DeadlineKind.COMPENSATION_PAYMENT: "先行赔付支付"}


@dataclass
class ScanReport:
    warned: list[str] = field(default_factory=list)
    level1: list[str] = field(default_factory=list)
    level2: list[str] = field(default_factory=list)
    forwarded: list[str] = field(default_factory=list)
    payment_overdue: list[str] = field(default_factory=list)
    closed_unrated: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"warned {len(self.warned)}, level-1 {len(self.level1)}, level-2 {len(self.level2)}, "
                f"forwarded {len(self.forwarded)}, payment overdue {len(self.payment_overdue)}, "
                f"closed unrated {len(self.closed_unrated)}")


def _responsible(session: Session, ticket: Ticket, deadline: TicketDeadline) -> list[int]:
    """The bureau that owes the step, and the first-contact owner who stays answerable with it."""
    owners = [deadline.bureau_id or ticket.handler_bureau_id]
    if ticket.first_contact_bureau_id and ticket.first_contact_bureau_id not in owners:
        owners.append(ticket.first_contact_bureau_id)
    return [b for b in owners if b]


def _day(moment: datetime) -> str:
    return clock.local(moment).strftime("%Y-%m-%d")


def scan(session: Session, now: datetime | None = None, calendar: WorkingCalendar | None = None) -> ScanReport:
    now = now or clock.now()
    calendar = calendar or load_calendar(session)
    report = ScanReport()
    report.forwarded = settlement.forward_overdue(session, calendar, now)
    _warn(session, now, calendar, report)
    _escalate(session, now, calendar, report)
    _payments(session, now, report)
    _unrated(session, now, report)
    return report


def _open_bureau_deadlines(session: Session, *conditions):
    return session.exec(
        select(TicketDeadline, Ticket).join(Ticket, Ticket.id == TicketDeadline.ticket_id)
        .where(TicketDeadline.met_at.is_(None), TicketDeadline.kind.in_(BUREAU_DEADLINES),
               Ticket.status.in_(TicketStatus.open_states()), *conditions)
        .order_by(TicketDeadline.due_at).with_for_update(of=TicketDeadline)).all()


def _warn(session: Session, now: datetime, calendar: WorkingCalendar, report: ScanReport) -> None:
    """One working day before a deadline, the bureau that owes it (and the first-contact owner) is warned."""
    # only a deadline due within the next two working days can be one working day away
    horizon = calendar.add_working_days(now, 2).at
    for deadline, ticket in _open_bureau_deadlines(session, TicketDeadline.warned_at.is_(None),
                                                   TicketDeadline.due_at > now, TicketDeadline.due_at <= horizon):
        if now < calendar.warning_time(deadline.due_at):
            continue
        deadline.warned_at = now
        session.add(deadline)
        body = f"提醒：投诉 {ticket.number} 的{WHAT[deadline.kind]}时限为 {_day(deadline.due_at)}，请在明日前办理。"
        for bureau_id in _responsible(session, ticket, deadline):
            notify_bureau_staff(session, bureau_id, ticket, f"warn:{deadline.id}", body,
                                roles=(Role.HANDLER, Role.BUREAU_HEAD, Role.TRIAGE))
        audit.record(session, ticket, audit.SYSTEM, "deadline_warning", rule=f"warning:{deadline.kind}", at=now,
                     data={"deadline": deadline.kind, "due": deadline.due_at})
        report.warned.append(ticket.number)


def _escalate(session: Session, now: datetime, calendar: WorkingCalendar, report: ScanReport) -> None:
    office = bureau_by_code(session, "office")
    for deadline, ticket in _open_bureau_deadlines(session, TicketDeadline.due_at < now, TicketDeadline.level < 2):
        late_days = calendar.working_days_between(deadline.due_at, now)
        target = 2 if late_days >= LEVEL_2_AFTER_WD else 1
        if target <= deadline.level:
            continue
        for level in range(deadline.level + 1, target + 1):
            _raise_level(session, ticket, deadline, level, late_days, office, now, report)
        deadline.level = target
        session.add(deadline)
        ticket.overdue = True
        session.add(ticket)


def _raise_level(session: Session, ticket: Ticket, deadline: TicketDeadline, level: int, late_days: int,
                 office: Bureau, now: datetime, report: ScanReport) -> None:
    what = WHAT[deadline.kind]
    if level == 1:
        body = f"督办：投诉 {ticket.number} 的{what}已超过时限（{_day(deadline.due_at)}），请负责人督促办理。"
        for bureau_id in _responsible(session, ticket, deadline):
            notify_bureau_staff(session, bureau_id, ticket, f"escalate1:{deadline.id}", body,
                                roles=(Role.BUREAU_HEAD, Role.HANDLER, Role.TRIAGE))
        report.level1.append(ticket.number)
    else:
        body = (f"二级督办：投诉 {ticket.number} 的{what}已逾期{late_days}个工作日（时限 {_day(deadline.due_at)}），"
                f"已报放心消费办。")
        for bureau_id in [*_responsible(session, ticket, deadline), office.id]:
            notify_bureau_staff(session, bureau_id, ticket, f"escalate2:{deadline.id}", body)
        report.level2.append(ticket.number)
    audit.record(session, ticket, audit.SYSTEM, "escalated", rule=f"督办:level {level}", at=now,
                 data={"deadline": deadline.kind, "due": deadline.due_at, "working_days_late": late_days,
                       "level": level, "bureaus": _responsible(session, ticket, deadline)})


def _payments(session: Session, now: datetime, report: ScanReport) -> None:
    """A merchant that promised advance compensation and did not pay in 3 days is flagged (Zhejiang Art. 31)."""
    rows = session.exec(
        select(TicketDeadline, Ticket).join(Ticket, Ticket.id == TicketDeadline.ticket_id)
        .where(TicketDeadline.met_at.is_(None), TicketDeadline.kind == DeadlineKind.COMPENSATION_PAYMENT,
               TicketDeadline.due_at < now, TicketDeadline.level < 1)
        .with_for_update(of=TicketDeadline)).all()
    for deadline, ticket in rows:
        deadline.level = 1
        session.add(deadline)
        audit.record(session, ticket, audit.SYSTEM, "compensation_overdue", rule="Zhejiang Art. 31:3 days", at=now,
                     data={"due": deadline.due_at})
        for bureau_id in filter(None, {ticket.handler_bureau_id, ticket.lead_bureau_id}):
            notify_bureau_staff(session, bureau_id, ticket, f"payment_overdue:{deadline.id}",
                                f"投诉 {ticket.number}：商家承诺的先行赔付已超过3天未支付，视为故意拖延，请督促。")
        report.payment_overdue.append(ticket.number)


def _unrated(session: Session, now: datetime, report: ScanReport) -> None:
    rows = session.exec(
        select(Ticket).join(TicketDeadline, TicketDeadline.ticket_id == Ticket.id)
        .where(Ticket.status == TicketStatus.RESOLVED, TicketDeadline.kind == DeadlineKind.RATING,
               TicketDeadline.met_at.is_(None), TicketDeadline.due_at < now)
        .with_for_update(of=Ticket)).all()
    for ticket in rows:
        if mediation.close_unrated(session, ticket, now):
            report.closed_unrated.append(ticket.number)

"""From acceptance to a closed ticket: outcomes, replies, ratings, withdrawal."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlmodel import Session

from bot.core import clock
from bot.dispatch import audit, deadlines, texts
from bot.dispatch.audit import Actor
from bot.dispatch.calendar import WorkingCalendar
from bot.dispatch.first_contact import DispatchError, _require, _require_handler
from bot.dispatch.parties import add_party, bureau_by_code, notify_bureau_staff
from bot.dispatch.routing import due_text
from bot.wechat.outbound import enqueue
from models import Bureau, DeadlineKind, PartyRole, Ticket, TicketStatus

OUTCOMES = tuple(texts.OUTCOMES)


def record_outcome(session: Session, ticket: Ticket, actor: Actor, outcome: str, calendar: WorkingCalendar,
                   amount: Decimal | None = None, advice: str | None = None, note: str = "",
                   now: datetime | None = None) -> None:
    """Mediation ends in an outcome (SAMR Art. 21); the consumer is asked to rate it within 7 days."""
    now = now or clock.now()
    _require(ticket, TicketStatus.ACCEPTED)
    _require_handler(ticket, actor)
    if outcome not in OUTCOMES:
        raise DispatchError(f"outcome must be one of {', '.join(OUTCOMES)}")
    if outcome == "compensation" and (amount is None or amount <= 0):
        raise DispatchError("a compensation outcome needs the amount")
    if outcome == "failed" and advice not in texts.FAILED_ADVICE:
        raise DispatchError("a failed mediation needs advice: arbitration or court")
    deadlines.meet(session, ticket, (DeadlineKind.MEDIATION,), now)
    deadlines.open_deadline(session, ticket, DeadlineKind.RATING,
                            calendar.add_calendar_days(now, deadlines.RATING_DAYS), now, None)
    ticket.outcome, ticket.outcome_amount, ticket.outcome_note = outcome, amount, note or None
    ticket.resolved_at = now
    audit.record(session, ticket, actor, "resolved", to_status=TicketStatus.RESOLVED, rule="SAMR Art. 21", at=now,
                 data={"outcome": outcome, "amount": amount, "advice": advice}, note=note or None)
    described = texts.OUTCOMES[outcome] + (f" {amount} 元" if amount else "")
    if advice:
        described += "，" + texts.FAILED_ADVICE[advice]
    enqueue(session, dedup_key=f"ticket:{ticket.id}:resolved:{int(now.timestamp())}", kind="status",
            ticket_id=ticket.id, consumer_id=ticket.consumer_id,
            body=texts.RESOLVED.format(number=ticket.number, outcome=described))


def rate(session: Session, ticket: Ticket, satisfied: bool, calendar: WorkingCalendar,
         now: datetime | None = None) -> str:
    """满意 closes it; 不满意 reopens it once under the city office's supervision. Returns the reply."""
    now = now or clock.now()
    _require(ticket, TicketStatus.RESOLVED)
    consumer = audit.consumer_actor()
    deadlines.meet(session, ticket, (DeadlineKind.RATING,), now)
    if satisfied or ticket.reopened:
        ticket.rating = "satisfied" if satisfied else "unsatisfied"
        ticket.closed_at = now
        audit.record(session, ticket, consumer, "rated", to_status=TicketStatus.CLOSED, at=now,
                     data={"rating": ticket.rating})
        return texts.CLOSED_RATED.format(number=ticket.number)
    ticket.reopened = True
    ticket.rating = None
    office = bureau_by_code(session, "office")
    add_party(session, ticket, office.id, PartyRole.CO)
    due = calendar.add_working_days(now, deadlines.MEDIATION_WD)
    deadlines.open_deadline(session, ticket, DeadlineKind.MEDIATION, due, now, ticket.handler_bureau_id)
    audit.record(session, ticket, consumer, "reopened_for_supervision", to_status=TicketStatus.ACCEPTED,
                 rule="不满意:reopen once (督办)", at=now, data={"mediate_by": due.at})
    handler = session.get(Bureau, ticket.handler_bureau_id)
    for bureau_id in {office.id, ticket.handler_bureau_id}:
        notify_bureau_staff(session, bureau_id, ticket, "reopened", f"投诉 {ticket.number} 消费者不满意，已重新打开督办。")
    return texts.REOPENED.format(number=ticket.number, bureau=handler.name, date=due_text(due))


def close_unrated(session: Session, ticket: Ticket, now: datetime | None = None) -> bool:
    """A resolved ticket with no rating after 7 days is closed as "no rating"."""
    now = now or clock.now()
    if ticket.status != TicketStatus.RESOLVED:
        return False
    deadlines.meet(session, ticket, (DeadlineKind.RATING,), now)
    ticket.rating = "no_rating"
    ticket.closed_at = now
    audit.record(session, ticket, audit.SYSTEM, "closed_without_rating", to_status=TicketStatus.CLOSED,
                 rule="rating:7 days", at=now)
    return True


def withdraw(session: Session, ticket: Ticket, now: datetime | None = None) -> None:
    """The consumer withdraws (SAMR Art. 21 ends mediation)."""
    now = now or clock.now()
    _require(ticket, *TicketStatus.open_states())
    deadlines.meet(session, ticket, None, now)
    ticket.closed_at = now
    audit.record(session, ticket, audit.consumer_actor(), "withdrawn", to_status=TicketStatus.WITHDRAWN,
                 rule="SAMR Art. 21", at=now)
    for bureau_id in filter(None, {ticket.handler_bureau_id}):
        notify_bureau_staff(session, bureau_id, ticket, "withdrawn", f"投诉 {ticket.number} 已被消费者撤回。")


def reply_to_consumer(session: Session, ticket: Ticket, actor: Actor, text: str, now: datetime | None = None) -> None:
    now = now or clock.now()
    if not text.strip():
        raise DispatchError("the reply is empty")
    bureau = session.get(Bureau, actor.bureau_id) if actor.bureau_id else None
    audit.record(session, ticket, actor, "replied_to_consumer", at=now, note=text)
    enqueue(session, dedup_key=f"ticket:{ticket.id}:reply:{int(now.timestamp() * 1000)}", kind="reply",
            ticket_id=ticket.id, consumer_id=ticket.consumer_id,
            body=texts.REPLY_FROM_STAFF.format(number=ticket.number, bureau=bureau.name if bureau else "工作人员",
                                               text=text.strip()))


def supplement(session: Session, ticket: Ticket, text: str | None, attachment_ids: list[int],
               now: datetime | None = None) -> None:
    """The consumer adds facts or evidence (补充) to an open ticket."""
    now = now or clock.now()
    if ticket.status not in TicketStatus.open_states() + (TicketStatus.RESOLVED,):
        raise DispatchError(f"ticket {ticket.number} is {ticket.status} and cannot be supplemented")
    audit.record(session, ticket, audit.consumer_actor(), "supplemented", at=now, note=text or None,
                 data={"attachments": attachment_ids})
    if ticket.handler_bureau_id:
        notify_bureau_staff(session, ticket.handler_bureau_id, ticket, f"supplement:{int(now.timestamp())}",
                            f"消费者补充了投诉 {ticket.number} 的材料。")

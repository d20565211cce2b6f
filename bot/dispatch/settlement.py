"""Direct settlement (12315 ODR 在线消费纠纷解决): the merchant first, then the lead bureau."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, select

from bot.core import clock
from bot.dispatch import audit, deadlines, texts
from bot.dispatch.audit import Actor
from bot.dispatch.calendar import WorkingCalendar
from bot.dispatch.first_contact import DispatchError, _require
from bot.dispatch.routing import dispatch_to_bureau
from bot.wechat.outbound import enqueue
from models import Bureau, DeadlineKind, Merchant, Ticket, TicketDeadline, TicketEvent, TicketStatus


def merchant_offer(session: Session, ticket: Ticket, actor: Actor, offer: str, amount: Decimal | None = None,
                   now: datetime | None = None) -> None:
    """The merchant answers with an offer; the consumer accepts or rejects it."""
    now = now or clock.now()
    _require(ticket, TicketStatus.DIRECT_SETTLEMENT)
    if not offer.strip():
        raise DispatchError("the offer is empty")
    merchant = session.get(Merchant, ticket.merchant_id)
    deadlines.meet(session, ticket, (DeadlineKind.MERCHANT_ANSWER,), now)
    audit.record(session, ticket, actor, "merchant_offer", rule="ODR:answer", at=now,
                 data={"offer": offer, "amount": amount})
    enqueue(session, dedup_key=f"ticket:{ticket.id}:offer:{int(now.timestamp())}", kind="offer", ticket_id=ticket.id,
            consumer_id=ticket.consumer_id,
            body=texts.MERCHANT_OFFER.format(merchant=merchant.name, number=ticket.number, offer=offer))


def latest_offer(session: Session, ticket: Ticket) -> TicketEvent | None:
    return session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                  TicketEvent.action == "merchant_offer")
                        .order_by(TicketEvent.id.desc())).first()


def consumer_accepts(session: Session, ticket: Ticket, calendar: WorkingCalendar, now: datetime | None = None) -> None:
    now = now or clock.now()
    _require(ticket, TicketStatus.DIRECT_SETTLEMENT)
    offer = latest_offer(session, ticket)
    if offer is None:
        raise DispatchError("there is no offer to accept yet")
    deadlines.meet(session, ticket, None, now)
    deadlines.open_deadline(session, ticket, DeadlineKind.RATING,
                            calendar.add_calendar_days(now, deadlines.RATING_DAYS), now, None)
    amount = offer.data.get("amount")
    ticket.outcome = "compensation" if amount else "refund"
    ticket.outcome_amount = Decimal(str(amount)) if amount else None
    ticket.outcome_note = offer.data.get("offer")
    ticket.resolved_at = now
    audit.record(session, ticket, audit.consumer_actor(), "settled_directly", to_status=TicketStatus.RESOLVED,
                 rule="ODR:settled", at=now, data={"offer": offer.data.get("offer")})


def forward_to_bureau(session: Session, ticket: Ticket, calendar: WorkingCalendar, reason: str,
                      actor: Actor = audit.SYSTEM, now: datetime | None = None) -> None:
    """Direct settlement failed (timeout or rejection): the lead bureau takes over; its clock starts now."""
    now = now or clock.now()
    _require(ticket, TicketStatus.DIRECT_SETTLEMENT)
    deadlines.meet(session, ticket, (DeadlineKind.MERCHANT_ANSWER, DeadlineKind.DIRECT_SETTLEMENT), now)
    audit.record(session, ticket, actor, "direct_settlement_failed", rule=f"ODR:{reason}", at=now,
                 data={"reason": reason})
    lead = session.get(Bureau, ticket.lead_bureau_id)
    dispatch_to_bureau(session, ticket, lead, calendar, now, actor, f"ODR:forwarded ({reason})", texts.FORWARDED)


def consumer_rejects(session: Session, ticket: Ticket, calendar: WorkingCalendar, now: datetime | None = None) -> None:
    forward_to_bureau(session, ticket, calendar, "consumer rejected the offer", audit.consumer_actor(), now)


def forward_overdue(session: Session, calendar: WorkingCalendar, now: datetime | None = None) -> list[str]:
    """Tickets whose merchant missed the 5-day answer or the 10-working-day settlement go to the bureau."""
    now = now or clock.now()
    rows = session.exec(
        select(TicketDeadline, Ticket).join(Ticket, Ticket.id == TicketDeadline.ticket_id)
        .where(TicketDeadline.met_at.is_(None), TicketDeadline.due_at < now,
               TicketDeadline.kind.in_((DeadlineKind.MERCHANT_ANSWER, DeadlineKind.DIRECT_SETTLEMENT)),
               Ticket.status == TicketStatus.DIRECT_SETTLEMENT)).all()
    forwarded = []
    for deadline, ticket in rows:
        if ticket.status != TicketStatus.DIRECT_SETTLEMENT:
            continue  # both clocks of one ticket ran out
        reason = "merchant did not answer in 5 days" if deadline.kind == DeadlineKind.MERCHANT_ANSWER \
            else "not settled in 10 working days"
        forward_to_bureau(session, ticket, calendar, reason, now=now)
        forwarded.append(ticket.number)
    return forwarded

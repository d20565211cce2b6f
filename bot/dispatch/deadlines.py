"""Opening and meeting a ticket's legal clocks (rows of ticket_deadline)."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from bot.dispatch.calendar import Due
from models import Ticket, TicketDeadline

# the limits, from ../shared/rules.md
TRIAGE_WD = 1              # the desk dispatches within 1 working day
ACCEPTANCE_WD = 7          # SAMR Art. 14: accept / reject / hand on
JURISDICTION_WD = 7        # SAMR Art. 30: a dispute is settled within 7 working days
MEDIATION_WD = 45          # SAMR Art. 21: an outcome within 45 working days of acceptance
MERCHANT_ANSWER_DAYS = 5   # Zhejiang Art. 31: a business answers within 5 days
DIRECT_SETTLEMENT_WD = 10  # 12315 ODR: the business settles within 10 working days
PAYMENT_DAYS = 3           # Zhejiang Art. 31: acts within 3 days of promising
RATING_DAYS = 7            # a resolved ticket unrated after 7 days is closed


def open_deadline(session: Session, ticket: Ticket, kind: str, due: Due, started_at: datetime,
                  bureau_id: int | None) -> TicketDeadline:
    row = TicketDeadline(ticket_id=ticket.id, kind=kind, bureau_id=bureau_id, started_at=started_at, due_at=due.at,
                         provisional=due.provisional)
    session.add(row)
    session.flush()
    return row


def open_deadlines(session: Session, ticket: Ticket, kinds: tuple[str, ...] | None = None) -> list[TicketDeadline]:
    query = select(TicketDeadline).where(TicketDeadline.ticket_id == ticket.id, TicketDeadline.met_at.is_(None))
    if kinds:
        query = query.where(TicketDeadline.kind.in_(kinds))
    return list(session.exec(query.order_by(TicketDeadline.due_at)))


def meet(session: Session, ticket: Ticket, kinds: tuple[str, ...] | None, at: datetime) -> list[TicketDeadline]:
    """Mark open deadlines of these kinds (all when None) as met now."""
    rows = open_deadlines(session, ticket, kinds)
    for row in rows:
        row.met_at = at
        session.add(row)
    session.flush()
    return rows

"""Who may see a ticket, and a consumer's phone number on it. One rule set for the console and the API.

- handler, bureau head: tickets their bureau stands on (handler, lead, co-unit, town station,
  first-contact owner, a bureau it was handed on from);
- triage officer: the same through the complaint desk, i.e. what passed through the triage queue;
- city office: every ticket (acting only where the office itself has a role);
- merchant: tickets against its business in direct settlement or with an advance-compensation claim;
- admin: configuration, no tickets.
The full phone number is shown only to the handling bureau's own staff.
"""
from __future__ import annotations

from sqlalchemy import and_, exists, false, or_, true
from sqlmodel import Session

from models import Role, Staff, Ticket, TicketParty, TicketStatus

BUREAU_ROLES = (Role.HANDLER, Role.BUREAU_HEAD, Role.TRIAGE)


def visible_filter(staff: Staff):
    """A SQL condition on Ticket selecting what `staff` may see."""
    if not staff.active:
        return false()
    if staff.role == Role.CITY_OFFICE:
        return true()
    if staff.role in BUREAU_ROLES and staff.bureau_id is not None:
        return exists().where(TicketParty.ticket_id == Ticket.id, TicketParty.bureau_id == staff.bureau_id)
    if staff.role == Role.MERCHANT and staff.merchant_id is not None:
        own = or_(Ticket.merchant_id == staff.merchant_id, Ticket.platform_merchant_id == staff.merchant_id)
        return and_(own, or_(Ticket.status == TicketStatus.DIRECT_SETTLEMENT, Ticket.compensation_claim == True))  # noqa: E712
    return false()


def can_see(session: Session, staff: Staff, ticket: Ticket) -> bool:
    from sqlmodel import select

    return session.exec(select(Ticket.id).where(Ticket.id == ticket.id, visible_filter(staff))).first() is not None


def is_handler(staff: Staff, ticket: Ticket) -> bool:
    """Staff of the bureau currently handling the ticket."""
    return (staff.active and staff.role in (Role.HANDLER, Role.BUREAU_HEAD)
            and staff.bureau_id is not None and staff.bureau_id == ticket.handler_bureau_id)


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


def phone_for(staff: Staff, ticket: Ticket) -> str:
    """The consumer's phone as `staff` may see it on this ticket."""
    return (ticket.phone or "") if is_handler(staff, ticket) else mask_phone(ticket.phone)

"""First-contact responsibility (首问/首接负责制): accept, reject (Art. 15) or hand on within 7 working days.

The first bureau to receive a ticket owns it for good: after a hand-on it
stays a party, sees everything and is escalated with the current handler.
A ticket never goes back to a bureau it came from: that is a jurisdiction
dispute (Art. 30), decided by the city office within 7 working days.
"""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.core import clock
from bot.dispatch import audit, deadlines, texts
from bot.dispatch.audit import Actor
from bot.dispatch.calendar import WorkingCalendar
from bot.dispatch.parties import add_party, bureau_by_code, bureau_ids_with_role, notify_bureau_staff
from bot.dispatch.routing import due_text, dispatch_to_bureau
from bot.wechat.outbound import enqueue
from models import Bureau, DeadlineKind, PartyRole, Ticket, TicketStatus


class DispatchError(ValueError):
    """An action the rules do not allow in the ticket's current state."""


class HandBackRefused(DispatchError):
    """Handing a ticket back to a bureau it came from; raise a jurisdiction dispute instead."""


def _require(ticket: Ticket, *states: str) -> None:
    if ticket.status not in states:
        raise DispatchError(f"ticket {ticket.number} is {ticket.status}; this needs {' or '.join(states)}")


def _require_handler(ticket: Ticket, actor: Actor) -> None:
    if actor.bureau_id != ticket.handler_bureau_id:
        raise DispatchError("only the current handling bureau can do this")


def accept(session: Session, ticket: Ticket, actor: Actor, calendar: WorkingCalendar,
           now: datetime | None = None) -> None:
    now = now or clock.now()
    _require(ticket, TicketStatus.DISPATCHED)
    _require_handler(ticket, actor)
    deadlines.meet(session, ticket, (DeadlineKind.ACCEPTANCE,), now)
    due = calendar.add_working_days(now, deadlines.MEDIATION_WD)
    deadlines.open_deadline(session, ticket, DeadlineKind.MEDIATION, due, now, ticket.handler_bureau_id)
    ticket.accepted_at = now
    audit.record(session, ticket, actor, "accepted", to_status=TicketStatus.ACCEPTED, rule="SAMR Art. 14", at=now,
                 data={"mediate_by": due.at, "provisional": due.provisional})
    bureau = session.get(Bureau, ticket.handler_bureau_id)
    enqueue(session, dedup_key=f"ticket:{ticket.id}:accepted:{int(now.timestamp())}", kind="status",
            ticket_id=ticket.id, consumer_id=ticket.consumer_id,
            body=texts.ACCEPTED.format(number=ticket.number, bureau=bureau.name, date=due_text(due)))


def reject(session: Session, ticket: Ticket, actor: Actor, reason: str, note: str = "",
           now: datetime | None = None) -> None:
    """Not accepted for one of the reasons of Article 15; the consumer is told the reason in writing."""
    now = now or clock.now()
    _require(ticket, TicketStatus.DISPATCHED)
    _require_handler(ticket, actor)
    if reason not in texts.ARTICLE_15:
        raise DispatchError(f"a rejection needs one of the Article 15 reasons: {', '.join(texts.ARTICLE_15)}")
    deadlines.meet(session, ticket, None, now)
    ticket.rejection_reason = reason
    ticket.closed_at = now
    audit.record(session, ticket, actor, "rejected", to_status=TicketStatus.REJECTED, rule=f"SAMR Art. 15:{reason}",
                 data={"reason": texts.ARTICLE_15[reason]}, note=note or None, at=now)
    enqueue(session, dedup_key=f"ticket:{ticket.id}:rejected", kind="status", ticket_id=ticket.id,
            consumer_id=ticket.consumer_id,
            body=texts.REJECTED.format(number=ticket.number, reason=texts.ARTICLE_15[reason] + (f"（{note}）" if note else ""),
                                       advice=texts.REJECTION_ADVICE))


def came_from(session: Session, ticket: Ticket) -> set[int]:
    """Bureaus the ticket has been handed on from (its earlier handlers)."""
    return bureau_ids_with_role(session, ticket.id, PartyRole.PREVIOUS)


def hand_on(session: Session, ticket: Ticket, actor: Actor, to_bureau_id: int, reason: str,
            calendar: WorkingCalendar, now: datetime | None = None) -> None:
    now = now or clock.now()
    _require(ticket, TicketStatus.DISPATCHED)
    _require_handler(ticket, actor)
    if not reason.strip():
        raise DispatchError("a hand-on needs a reason")
    target = session.get(Bureau, to_bureau_id)
    if target is None or to_bureau_id == ticket.handler_bureau_id:
        raise DispatchError("hand on to another existing bureau")
    if to_bureau_id in came_from(session, ticket):
        audit.record(session, ticket, actor, "hand_back_refused", rule="SAMR Art. 30", at=now,
                     data={"to": target.name, "reason": reason})
        raise HandBackRefused(f"ticket {ticket.number} came from {target.name}; raise a jurisdiction dispute instead")
    source = session.get(Bureau, ticket.handler_bureau_id)
    deadlines.meet(session, ticket, (DeadlineKind.ACCEPTANCE,), now)
    add_party(session, ticket, source.id, PartyRole.PREVIOUS)
    audit.record(session, ticket, actor, "handed_on", rule="首接负责制:hand on", at=now,
                 data={"from": source.name, "to": target.name, "reason": reason,
                       "first_contact": ticket.first_contact_bureau_id})
    consumer_text = texts.HANDED_ON.replace("{from_bureau}", source.name).replace("{to_bureau}", "{bureau}")
    safe_reason = reason.replace("{", "{{").replace("}", "}}")
    staff_text = texts.STAFF_HANDED_ON.replace("{from_bureau}", source.name).replace("{reason}", safe_reason)
    dispatch_to_bureau(session, ticket, target, calendar, now, actor, f"hand_on:from {source.code}",
                       consumer_text, staff_text)


def raise_dispute(session: Session, ticket: Ticket, actor: Actor, other_bureau_id: int, reason: str,
                  calendar: WorkingCalendar, now: datetime | None = None) -> None:
    """Two bureaus disagree on who handles it: the city office decides (Art. 30)."""
    now = now or clock.now()
    _require(ticket, TicketStatus.DISPATCHED)
    _require_handler(ticket, actor)
    office = bureau_by_code(session, "office")
    other = session.get(Bureau, other_bureau_id)
    if other is None:
        raise DispatchError("unknown bureau")
    deadlines.meet(session, ticket, (DeadlineKind.ACCEPTANCE,), now)
    due = calendar.add_working_days(now, deadlines.JURISDICTION_WD)
    deadlines.open_deadline(session, ticket, DeadlineKind.JURISDICTION, due, now, office.id)
    add_party(session, ticket, office.id, PartyRole.CO)
    add_party(session, ticket, other.id, PartyRole.CO)
    source = session.get(Bureau, ticket.handler_bureau_id)
    audit.record(session, ticket, actor, "jurisdiction_disputed", to_status=TicketStatus.DISPUTED, rule="SAMR Art. 30",
                 at=now, data={"between": [source.name, other.name], "reason": reason, "decide_by": due.at})
    notify_bureau_staff(session, office.id, ticket, f"dispute:{int(now.timestamp())}", texts.STAFF_DISPUTE.format(
        number=ticket.number, from_bureau=source.name, to_bureau=other.name, date=due_text(due)))


def decide_dispute(session: Session, ticket: Ticket, actor: Actor, bureau_id: int, calendar: WorkingCalendar,
                   now: datetime | None = None) -> None:
    now = now or clock.now()
    _require(ticket, TicketStatus.DISPUTED)
    office = bureau_by_code(session, "office")
    if actor.bureau_id != office.id:
        raise DispatchError("only the city office decides a jurisdiction dispute")
    bureau = session.get(Bureau, bureau_id)
    if bureau is None:
        raise DispatchError("unknown bureau")
    deadlines.meet(session, ticket, (DeadlineKind.JURISDICTION,), now)
    if ticket.handler_bureau_id and ticket.handler_bureau_id != bureau_id:
        add_party(session, ticket, ticket.handler_bureau_id, PartyRole.PREVIOUS)
    audit.record(session, ticket, actor, "jurisdiction_decided", rule="SAMR Art. 30", at=now,
                 data={"bureau": bureau.name})
    dispatch_to_bureau(session, ticket, bureau, calendar, now, actor, "jurisdiction:office decision")

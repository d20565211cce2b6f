"""Who did what to a ticket, when, by which rule: the append-only trail."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlmodel import Session

from bot.core import clock
from models import ActorKind, Ticket, TicketEvent


@dataclass(frozen=True)
class Actor:
    kind: str
    staff_id: int | None = None
    bureau_id: int | None = None
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or self.kind


SYSTEM = Actor(kind=ActorKind.SYSTEM, name="系统")


def consumer_actor() -> Actor:
    return Actor(kind=ActorKind.CONSUMER, name="消费者")


def _jsonable(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def record(session: Session, ticket: Ticket, actor: Actor, action: str, *, to_status: str | None = None,
           rule: str | None = None, data: dict | None = None, note: str | None = None,
           at: datetime | None = None) -> TicketEvent:
    """Append one event; when `to_status` is given the ticket moves there in the same breath."""
    moment = at or clock.now()
    event = TicketEvent(ticket_id=ticket.id, at=moment, actor_kind=actor.kind, actor_staff_id=actor.staff_id,
                        actor_bureau_id=actor.bureau_id, action=action, from_status=ticket.status,
                        to_status=to_status or ticket.status, rule=rule, data=_jsonable(data or {}), note=note)
    if to_status:
        ticket.status = to_status
    ticket.updated_at = moment
    session.add(ticket)
    session.add(event)
    session.flush()
    return event

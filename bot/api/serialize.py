"""What the API says about tickets, staff and reference data: explicit whitelists of fields.

Nothing here serialises a table row wholesale: a ticket's consumer (and so the consumer's WeChat openid)
never appears, the phone number goes through `phone_for`, and inbound messages are shown by their text
only (their dedup key and raw XML carry the sender's openid). Instants are ISO 8601 in Asia/Shanghai,
money is a decimal string ("200.00") so nothing is lost to floating point.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from bot.console.views import DEADLINE_NAMES, STATUS_NAMES  # one vocabulary with the console
from bot.core import clock
from bot.dispatch import texts
from bot.dispatch.access import phone_for
from bot.dispatch.actions import Action, allowed_actions
from models import (
    Attachment,
    Bureau,
    InboundMessage,
    Merchant,
    Sector,
    SectorCoUnit,
    Staff,
    Ticket,
    TicketDeadline,
    TicketEvent,
    Town,
)

DEMAND_NAMES = {"refund": "退款", "return": "退货", "exchange": "换货", "repair": "维修", "compensation": "赔偿",
                "apology": "道歉", "other": "其他"}
ACTOR_NAMES = {"system": "系统", "consumer": "消费者", "merchant": "商家", "staff": "工作人员"}


def when(moment: datetime | None) -> str | None:
    return clock.local(moment).isoformat() if moment else None


def day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def money(value: Decimal | None) -> str | None:
    return str(Decimal(value).quantize(Decimal("0.01"))) if value is not None else None


def scrub(value: Any) -> Any:
    """Audit data as JSON, minus any key that could carry a WeChat openid (none does today; none ever may)."""
    if isinstance(value, dict):
        return {str(k): scrub(v) for k, v in value.items() if "openid" not in str(k).lower()}
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


@dataclass
class Names:
    """Display names of the reference data, loaded once per request."""

    sectors: dict[str, str]
    bureaus: dict[int, str]
    towns: dict[str, str]

    @classmethod
    def load(cls, session: Session) -> "Names":
        return cls(sectors={s.key: s.name for s in session.exec(select(Sector))},
                   bureaus={b.id: b.name for b in session.exec(select(Bureau))},
                   towns={t.code: t.name for t in session.exec(select(Town))})

    def bureau(self, bureau_id: int | None) -> str | None:
        return self.bureaus.get(bureau_id) if bureau_id is not None else None


def deadline_state(deadline: TicketDeadline) -> str:
    if deadline.met_at is not None:
        return "met"
    return "overdue" if deadline.due_at < clock.now() else "open"


def deadline_doc(deadline: TicketDeadline, names: Names) -> dict:
    return {"kind": deadline.kind, "name": DEADLINE_NAMES.get(deadline.kind, deadline.kind),
            "bureau_id": deadline.bureau_id, "bureau_name": names.bureau(deadline.bureau_id),
            "started_at": when(deadline.started_at), "due_at": when(deadline.due_at),
            "provisional": deadline.provisional, "met_at": when(deadline.met_at), "level": deadline.level,
            "state": deadline_state(deadline)}


def next_deadlines(session: Session, ticket_ids: list[int]) -> dict[int, TicketDeadline]:
    """Each ticket's earliest open deadline."""
    found: dict[int, TicketDeadline] = {}
    if not ticket_ids:
        return found
    for d in session.exec(select(TicketDeadline).where(TicketDeadline.ticket_id.in_(ticket_ids),
                                                       TicketDeadline.met_at.is_(None))):
        if d.ticket_id not in found or d.due_at < found[d.ticket_id].due_at:
            found[d.ticket_id] = d
    return found


def ticket_summary(ticket: Ticket, names: Names, next_deadline: TicketDeadline | None) -> dict:
    return {
        "id": ticket.id,
        "number": ticket.number,
        "status": ticket.status,
        "status_name": STATUS_NAMES.get(ticket.status, ticket.status),
        "sector_key": ticket.sector_key,
        "sector_name": names.sectors.get(ticket.sector_key) if ticket.sector_key else None,
        "town_code": ticket.town_code,
        "town_name": names.towns.get(ticket.town_code) if ticket.town_code else None,
        "merchant_name": ticket.merchant_name,
        "merchant_id": ticket.merchant_id,
        "amount": money(ticket.amount),
        "demand": ticket.demand,
        "demand_name": DEMAND_NAMES.get(ticket.demand) if ticket.demand else None,
        "lead_bureau_id": ticket.lead_bureau_id,
        "lead_bureau_name": names.bureau(ticket.lead_bureau_id),
        "handler_bureau_id": ticket.handler_bureau_id,
        "handler_bureau_name": names.bureau(ticket.handler_bureau_id),
        "overdue": ticket.overdue,
        "reopened": ticket.reopened,
        "return_entitled": ticket.return_entitled,
        "compensation_claim": ticket.compensation_claim,
        "created_at": when(ticket.created_at),
        "updated_at": when(ticket.updated_at),
        "next_deadline": deadline_doc(next_deadline, names) if next_deadline else None,
    }


def _classifier_top(ticket: Ticket, names: Names) -> list[dict]:
    top = []
    for entry in ticket.classifier_top or []:
        if isinstance(entry, (list, tuple)) and len(entry) == 2:
            key, probability = entry
            top.append({"sector_key": str(key), "sector_name": names.sectors.get(key),
                        "probability": float(probability)})
    return top


def action_doc(session: Session, action: Action) -> dict:
    return {"name": action.name, "label": action.label,
            "params": [{"name": p.name, "label": p.label, "kind": p.kind, "required": p.required,
                        "choices": ([{"value": key, "label": label} for key, label in Action.choices_for(session, p)]
                                    if p.kind in ("choice", "bureau", "sector") else None)}
                       for p in action.params]}


def ticket_detail(session: Session, staff: Staff, ticket: Ticket) -> dict:
    names = Names.load(session)
    deadlines = session.exec(select(TicketDeadline).where(TicketDeadline.ticket_id == ticket.id)
                             .order_by(TicketDeadline.started_at, TicketDeadline.id)).all()
    events = session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                          .order_by(TicketEvent.id)).all()
    messages = session.exec(select(InboundMessage.received_at, InboundMessage.msg_type, InboundMessage.content)
                            .where(InboundMessage.ticket_id == ticket.id).order_by(InboundMessage.id)).all()
    attachments = session.exec(select(Attachment).where(Attachment.ticket_id == ticket.id)
                               .order_by(Attachment.id)).all()
    actor_ids = {e.actor_staff_id for e in events if e.actor_staff_id}
    staff_names = {s.id: s.display_name or s.username
                   for s in session.exec(select(Staff).where(Staff.id.in_(actor_ids)))} if actor_ids else {}
    open_deadlines = [d for d in deadlines if d.met_at is None]
    doc = ticket_summary(ticket, names, min(open_deadlines, key=lambda d: d.due_at) if open_deadlines else None)
    doc.update({
        "description": ticket.description,
        "phone": phone_for(staff, ticket),
        "purchase_date": day(ticket.purchase_date),
        "online": ticket.online,
        "confidence": ticket.confidence,
        "classifier_top": _classifier_top(ticket, names),
        "consumer_chose_sector": ticket.consumer_chose_sector,
        "first_contact_bureau_id": ticket.first_contact_bureau_id,
        "first_contact_bureau_name": names.bureau(ticket.first_contact_bureau_id),
        "platform_merchant_id": ticket.platform_merchant_id,
        "return_rule": ticket.return_rule,
        "outcome": ticket.outcome,
        "outcome_name": texts.OUTCOMES.get(ticket.outcome) if ticket.outcome else None,
        "outcome_amount": money(ticket.outcome_amount),
        "outcome_note": ticket.outcome_note,
        "rejection_reason": ticket.rejection_reason,
        "rating": ticket.rating,
        "accepted_at": when(ticket.accepted_at),
        "resolved_at": when(ticket.resolved_at),
        "closed_at": when(ticket.closed_at),
        "deadlines": [deadline_doc(d, names) for d in deadlines],
        "events": [{"id": e.id, "at": when(e.at), "action": e.action, "actor_kind": e.actor_kind,
                    "actor_name": (staff_names.get(e.actor_staff_id) if e.actor_staff_id
                                   else ACTOR_NAMES.get(e.actor_kind, e.actor_kind)),
                    "actor_bureau_id": e.actor_bureau_id, "actor_bureau_name": names.bureau(e.actor_bureau_id),
                    "from_status": e.from_status, "to_status": e.to_status, "rule": e.rule, "note": e.note,
                    "data": scrub(e.data or {})} for e in events],
        "messages": [{"received_at": when(received_at), "msg_type": msg_type, "content": content}
                     for received_at, msg_type, content in messages],
        "attachments": [{"id": a.id, "kind": a.kind, "url": a.url, "created_at": when(a.created_at)}
                        for a in attachments],
        "actions": [action_doc(session, a) for a in allowed_actions(staff, ticket)],
    })
    return doc


def me_doc(session: Session, staff: Staff) -> dict:
    bureau = session.get(Bureau, staff.bureau_id) if staff.bureau_id else None
    merchant = session.get(Merchant, staff.merchant_id) if staff.merchant_id else None
    return {"id": staff.id, "username": staff.username, "display_name": staff.display_name, "role": staff.role,
            "bureau_id": staff.bureau_id, "bureau_name": bureau.name if bureau else None,
            "merchant_id": staff.merchant_id, "merchant_name": merchant.name if merchant else None,
            "active": staff.active}


def sectors_doc(session: Session) -> list[dict]:
    names = Names.load(session)
    co: dict[str, list[int]] = {}
    for unit in session.exec(select(SectorCoUnit).order_by(SectorCoUnit.sector_key, SectorCoUnit.position)):
        co.setdefault(unit.sector_key, []).append(unit.bureau_id)
    return [{"key": s.key, "ordinal": s.ordinal, "name": s.name, "lead_bureau_id": s.lead_bureau_id,
             "lead_bureau_name": names.bureau(s.lead_bureau_id), "co_unit_ids": co.get(s.key, [])}
            for s in session.exec(select(Sector).order_by(Sector.ordinal))]


def bureaus_doc(session: Session) -> list[dict]:
    return [{"id": b.id, "code": b.code, "name": b.name, "kind": b.kind, "town_code": b.town_code}
            for b in session.exec(select(Bureau).order_by(Bureau.id))]


def towns_doc(session: Session) -> list[dict]:
    return [{"code": t.code, "name": t.name, "short_name": t.short_name}
            for t in session.exec(select(Town).order_by(Town.code))]

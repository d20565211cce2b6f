"""Advance compensation (先行赔付): the pledging merchant or platform pays first, within its cap."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session

from bot.core import clock
from bot.dispatch import audit, deadlines, texts
from bot.dispatch.audit import Actor
from bot.dispatch.calendar import WorkingCalendar
from bot.wechat.outbound import enqueue
from models import DeadlineKind, Merchant, Ticket


class CompensationRefused(ValueError):
    """A compensation step that the rules do not allow, with the reason."""


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    payer: Merchant | None
    cap: Decimal | None
    reason: str


def eligibility(merchant: Merchant | None, platform: Merchant | None, amount: Decimal | None) -> Eligibility:
    """The merchant's own pledge first; for an online purchase, the platform's (Zhejiang Art. 24)."""
    payer = next((m for m in (merchant, platform) if m is not None and m.advance_compensation), None)
    if payer is None:
        return Eligibility(False, None, None, "no 先行赔付 pledge by the merchant or platform")
    if amount is None:
        return Eligibility(False, payer, payer.compensation_cap, "disputed amount unknown")
    cap = payer.compensation_cap
    if cap is not None and amount > cap:
        return Eligibility(False, payer, cap, f"amount {amount} exceeds the pledge cap {cap}")
    return Eligibility(True, payer, cap, "within the pledge" + (f" cap {cap}" if cap is not None else " (no cap)"))


def _claim_payer(session: Session, ticket: Ticket) -> Merchant:
    """The merchant if it pledged, else the platform (the same order as `eligibility`)."""
    if ticket.compensation_claim:
        for merchant_id in (ticket.merchant_id, ticket.platform_merchant_id):
            merchant = session.get(Merchant, merchant_id) if merchant_id else None
            if merchant is not None and merchant.advance_compensation:
                return merchant
    raise CompensationRefused("this ticket carries no advance-compensation claim")


def agree(session: Session, ticket: Ticket, actor: Actor, amount: Decimal, calendar: WorkingCalendar) -> None:
    """The payer agrees to pay `amount`; the 3-day payment clock starts (Zhejiang Art. 31)."""
    payer = _claim_payer(session, ticket)
    if amount <= 0:
        raise CompensationRefused("the amount must be positive")
    if payer.compensation_cap is not None and amount > payer.compensation_cap:
        audit.record(session, ticket, actor, "compensation_refused", rule="先行赔付:cap",
                     data={"amount": amount, "cap": payer.compensation_cap, "payer": payer.name})
        raise CompensationRefused(f"{amount} exceeds {payer.name}'s 先行赔付 cap of {payer.compensation_cap}")
    now = clock.now()
    due = calendar.add_calendar_days(now, deadlines.PAYMENT_DAYS)
    deadlines.open_deadline(session, ticket, DeadlineKind.COMPENSATION_PAYMENT, due, now, None)
    audit.record(session, ticket, actor, "compensation_agreed", rule="先行赔付:agree",
                 data={"amount": amount, "payer": payer.name, "pay_by": due.at})
    enqueue(session, dedup_key=f"ticket:{ticket.id}:compensation_agreed", kind="status", ticket_id=ticket.id,
            consumer_id=ticket.consumer_id,
            body=texts.COMPENSATION_AGREED.format(number=ticket.number, payer=payer.name, amount=amount,
                                                  date=clock.local(due.at).strftime("%Y-%m-%d")))


def paid(session: Session, ticket: Ticket, actor: Actor, amount: Decimal) -> None:
    payer = _claim_payer(session, ticket)
    audit.record(session, ticket, actor, "compensation_paid", rule="先行赔付:paid",
                 data={"amount": amount, "payer": payer.name})
    enqueue(session, dedup_key=f"ticket:{ticket.id}:compensation_paid", kind="status", ticket_id=ticket.id,
            consumer_id=ticket.consumer_id,
            body=texts.COMPENSATION_PAID.format(number=ticket.number, payer=payer.name, amount=amount))


def confirm_receipt(session: Session, ticket: Ticket, actor: Actor) -> None:
    """The consumer confirms the money arrived: the payment clock stops."""
    _claim_payer(session, ticket)
    now = clock.now()
    deadlines.meet(session, ticket, (DeadlineKind.COMPENSATION_PAYMENT,), now)
    audit.record(session, ticket, actor, "compensation_received", rule="先行赔付:received")


def record_recovery(session: Session, ticket: Ticket, actor: Actor, supplier: str, amount: Decimal | None,
                    note: str = "") -> None:
    """The payer's recovery from its supplier: recorded, never the consumer's concern."""
    payer = _claim_payer(session, ticket)
    audit.record(session, ticket, actor, "compensation_recovery", rule="先行赔付:recovery",
                 data={"payer": payer.name, "supplier": supplier, "amount": amount}, note=note or None)

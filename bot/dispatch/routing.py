"""Where a submitted complaint goes: triage, the merchant first, or the sector's lead bureau.

`assess()` works out the route and the consumer's rights without writing
anything, so the conversation can show them in its summary; `submit()`
creates the ticket and applies the same decision, writing the rule and its
inputs to the audit trail.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlmodel import Session, select

from bot.core import clock
from bot.dispatch import audit, deadlines, texts
from bot.dispatch.audit import Actor
from bot.dispatch.calendar import Due, WorkingCalendar
from bot.dispatch.compensation import Eligibility, eligibility
from bot.dispatch.merchants import MerchantMatch, match_merchant
from bot.dispatch.numbering import next_ticket_number
from bot.dispatch.parties import add_party, bureau_by_code, notify_bureau_staff, town_station
from bot.dispatch.returns import ReturnRight, assess_return
from bot.wechat.outbound import enqueue, notify_staff
from models import (
    Bureau,
    Consumer,
    DeadlineKind,
    Merchant,
    PartyRole,
    Sector,
    SectorCoUnit,
    SectorCorrection,
    Staff,
    Ticket,
    TicketStatus,
)

ROUTE_TRIAGE = "triage"
ROUTE_DIRECT = "direct_settlement"
ROUTE_BUREAU = "bureau"

@dataclass
class Facts:
    """What the consumer told us, as dispatch needs it."""

    description: str
    sector_key: str | None
    confidence: float | None = None
    top: list = field(default_factory=list)
    consumer_chose_sector: bool = False
    manual_triage: bool = False
    merchant_name: str | None = None
    town_code: str | None = None
    amount: Decimal | None = None
    purchase_date: date | None = None
    online: bool | None = None
    demand: str | None = None
    phone: str | None = None


@dataclass
class Assessment:
    route: str
    rule: str
    lead_bureau: Bureau | None
    handler_bureau: Bureau | None
    merchant_match: MerchantMatch
    platform: Merchant | None
    return_right: ReturnRight
    compensation: Eligibility
    first_answer_due: Due

    @property
    def merchant(self) -> Merchant | None:
        return self.merchant_match.merchant


def _find_platform(session: Session, facts: Facts) -> Merchant | None:
    """The online platform named in the description, if registered (for its 先行赔付 pledge)."""
    if not facts.online:
        return None
    text = f"{facts.description} {facts.merchant_name or ''}"
    platforms = session.exec(select(Merchant).where(Merchant.is_platform == True)).all()  # noqa: E712
    for platform in platforms:
        names = [platform.name, *platform.aliases]
        if any(name and name in text for name in names):
            return platform
    return None


def assess(session: Session, facts: Facts, calendar: WorkingCalendar, now: datetime | None = None,
           threshold: float = 0.5) -> Assessment:
    now = now or clock.now()
    match = match_merchant(session, facts.merchant_name, facts.town_code)
    merchant = match.merchant
    platform = match.platform or _find_platform(session, facts)
    if platform is not None and merchant is not None and platform.id == merchant.id:
        platform = None
    right = assess_return(sector_key=facts.sector_key, online=facts.online, purchase_date=facts.purchase_date,
                          today=clock.local(now).date(),
                          offline_return_days=merchant.offline_return_days if merchant else 0)
    comp = eligibility(merchant, platform, facts.amount)
    sector = session.get(Sector, facts.sector_key) if facts.sector_key else None
    lead = session.get(Bureau, sector.lead_bureau_id) if sector else None
    unsure = facts.confidence is not None and facts.confidence < threshold and not facts.consumer_chose_sector
    if sector is None or facts.manual_triage or unsure:
        desk = bureau_by_code(session, "complaint_desk")
        rule = "triage:" + ("consumer chose other" if facts.manual_triage else
                            "no sector" if sector is None else f"confidence {facts.confidence:.2f} < {threshold}")
        return Assessment(ROUTE_TRIAGE, rule, lead, desk, match, platform, right, comp,
                          calendar.add_working_days(now, deadlines.TRIAGE_WD + deadlines.ACCEPTANCE_WD))
    if merchant is not None and merchant.direct_settlement:
        return Assessment(ROUTE_DIRECT, "direct_settlement:registered ODR unit", lead, None, match, platform, right,
                          comp, calendar.add_calendar_days(now, deadlines.MERCHANT_ANSWER_DAYS))
    return Assessment(ROUTE_BUREAU, f"lead_bureau:sector {sector.key}", lead, lead, match, platform, right, comp,
                      calendar.add_working_days(now, deadlines.ACCEPTANCE_WD))


def submit(session: Session, facts: Facts, consumer: Consumer, calendar: WorkingCalendar,
           threshold: float = 0.5, now: datetime | None = None, attachments: list[int] | None = None,
           messages: list[int] | None = None) -> Ticket:
    """Create the ticket and route it; everything happens in the caller's transaction."""
    now = now or clock.now()
    decision = assess(session, facts, calendar, now, threshold)
    merchant = decision.merchant
    ticket = Ticket(
        number=next_ticket_number(session, now), consumer_id=consumer.id, status=TicketStatus.TRIAGE,
        sector_key=facts.sector_key, confidence=facts.confidence, classifier_top=facts.top,
        consumer_chose_sector=facts.consumer_chose_sector,
        lead_bureau_id=decision.lead_bureau.id if decision.lead_bureau else None,
        town_code=facts.town_code, merchant_id=merchant.id if merchant else None,
        merchant_name=facts.merchant_name, platform_merchant_id=decision.platform.id if decision.platform else None,
        amount=facts.amount, purchase_date=facts.purchase_date, online=facts.online, demand=facts.demand,
        description=facts.description, phone=facts.phone,
        return_entitled=decision.return_right.entitled, return_rule=decision.return_right.rule,
        compensation_claim=decision.compensation.eligible, created_at=now, updated_at=now)
    session.add(ticket)
    session.flush()
    consumer_actor = audit.consumer_actor()
    audit.record(session, ticket, consumer_actor, "submitted", to_status=TicketStatus.TRIAGE, rule="SAMR Art. 9",
                 data={"sector": facts.sector_key, "confidence": facts.confidence, "top": facts.top,
                       "consumer_chose_sector": facts.consumer_chose_sector, "merchant": facts.merchant_name,
                       "town": facts.town_code, "amount": facts.amount, "online": facts.online,
                       "attachments": attachments or []}, at=now)
    if attachments:
        from models import Attachment

        for attachment in session.exec(select(Attachment).where(Attachment.id.in_(attachments),
                                                                Attachment.consumer_id == consumer.id)):
            attachment.ticket_id = ticket.id
            session.add(attachment)
    if messages:  # the consumer's own messages that made up the complaint: evidence on the ticket
        from models import InboundMessage

        for message in session.exec(select(InboundMessage).where(InboundMessage.id.in_(messages),
                                                                 InboundMessage.openid == consumer.openid)):
            message.ticket_id = ticket.id
            session.add(message)
    match = decision.merchant_match
    audit.record(session, ticket, audit.SYSTEM, "merchant_matched" if merchant else "merchant_unmatched",
                 rule=f"merchant:{match.method}", at=now,
                 data={"text": facts.merchant_name, "matched": merchant.name if merchant else None,
                       "score": match.score, "candidates": match.candidates})
    _add_sector_parties(session, ticket)
    if decision.return_right.entitled:
        audit.record(session, ticket, audit.SYSTEM, "return_entitled", rule=f"no_reason_return:{decision.return_right.rule}",
                     data={"purchase_date": facts.purchase_date, "online": facts.online,
                           "last_day": decision.return_right.last_day}, at=now)
        _tell_merchant(session, merchant, ticket, "return", texts.MERCHANT_RETURN.format(
            number=ticket.number, rule=decision.return_right.rule))
    comp = decision.compensation
    if comp.payer is not None:
        audit.record(session, ticket, audit.SYSTEM,
                     "compensation_claim_opened" if comp.eligible else "compensation_claim_refused",
                     rule="先行赔付:" + ("within cap" if comp.eligible else "refused"), at=now,
                     data={"payer": comp.payer.name, "amount": facts.amount, "cap": comp.cap, "reason": comp.reason})
        if comp.eligible:
            _tell_merchant(session, comp.payer, ticket, "compensation", texts.MERCHANT_COMPENSATION.format(
                number=ticket.number, amount=facts.amount))
    if decision.route == ROUTE_TRIAGE:
        desk = decision.handler_bureau
        ticket.handler_bureau_id = desk.id
        add_party(session, ticket, desk.id, PartyRole.HANDLER)
        due = calendar.add_working_days(now, deadlines.TRIAGE_WD)
        deadlines.open_deadline(session, ticket, DeadlineKind.TRIAGE, due, now, desk.id)
        audit.record(session, ticket, audit.SYSTEM, "routed_to_triage", rule=decision.rule, at=now,
                     data={"threshold": threshold, "due": due.at, "provisional": due.provisional})
        notify_bureau_staff(session, desk.id, ticket, "triage", texts.STAFF_TRIAGE.format(
            number=ticket.number, date=due_text(due)))
    elif decision.route == ROUTE_DIRECT:
        start_direct_settlement(session, ticket, merchant, calendar, now, decision.rule)
    else:
        dispatch_to_bureau(session, ticket, decision.lead_bureau, calendar, now, audit.SYSTEM, decision.rule)
    session.add(ticket)
    session.flush()
    return ticket


def due_text(due: Due) -> str:
    """A deadline as consumers and staff read it: 2026年12月2日, marked 暂定 when provisional."""
    text = clock.local(due.at).strftime("%Y年%m月%d日").replace("年0", "年").replace("月0", "月")
    return text + ("（暂定）" if due.provisional else "")


def _add_sector_parties(session: Session, ticket: Ticket) -> None:
    """Lead, co-operating units and the town's station can all see the ticket."""
    if ticket.lead_bureau_id:
        add_party(session, ticket, ticket.lead_bureau_id, PartyRole.LEAD)
    if ticket.sector_key:
        for co in session.exec(select(SectorCoUnit).where(SectorCoUnit.sector_key == ticket.sector_key)):
            add_party(session, ticket, co.bureau_id, PartyRole.CO)
    station = town_station(session, ticket.town_code)
    if station is not None:
        add_party(session, ticket, station.id, PartyRole.TOWN)


def _tell_merchant(session: Session, merchant: Merchant | None, ticket: Ticket, kind: str, body: str) -> None:
    if merchant is None:
        return
    for staff in session.exec(select(Staff).where(Staff.merchant_id == merchant.id, Staff.active == True)):  # noqa: E712
        notify_staff(session, staff, dedup_key=f"ticket:{ticket.id}:merchant:{kind}:{staff.id}", kind=f"merchant_{kind}",
                     title=f"投诉 {ticket.number}", body=body, ticket_id=ticket.id)


def dispatch_to_bureau(session: Session, ticket: Ticket, bureau: Bureau, calendar: WorkingCalendar, now: datetime,
                       actor: Actor, rule: str, consumer_text: str = texts.DISPATCHED,
                       staff_text: str = texts.STAFF_NEW) -> None:
    """Give the ticket to a bureau; the first bureau to receive it becomes first-contact owner for good."""
    ticket.handler_bureau_id = bureau.id
    if ticket.first_contact_bureau_id is None:
        ticket.first_contact_bureau_id = bureau.id
        add_party(session, ticket, bureau.id, PartyRole.FIRST_CONTACT)
    add_party(session, ticket, bureau.id, PartyRole.HANDLER)
    due = calendar.add_working_days(now, deadlines.ACCEPTANCE_WD)
    deadlines.open_deadline(session, ticket, DeadlineKind.ACCEPTANCE, due, now, bureau.id)
    audit.record(session, ticket, actor, "dispatched", to_status=TicketStatus.DISPATCHED, rule=rule, at=now,
                 data={"bureau": bureau.name, "first_contact": ticket.first_contact_bureau_id == bureau.id,
                       "accept_by": due.at, "provisional": due.provisional})
    enqueue(session, dedup_key=f"ticket:{ticket.id}:dispatched:{bureau.id}:{int(now.timestamp())}", kind="status",
            ticket_id=ticket.id, consumer_id=ticket.consumer_id,
            body=consumer_text.format(number=ticket.number, bureau=bureau.name, date=due_text(due)))
    sector = session.get(Sector, ticket.sector_key) if ticket.sector_key else None
    notify_bureau_staff(session, bureau.id, ticket, f"new:{int(now.timestamp())}", staff_text.format(
        number=ticket.number, sector=sector.name if sector else "未分类", date=due_text(due)))


def start_direct_settlement(session: Session, ticket: Ticket, merchant: Merchant, calendar: WorkingCalendar,
                            now: datetime, rule: str) -> None:
    """12315 ODR: the merchant answers in 5 days and settles in 10 working days, off the bureau's clock."""
    answer = calendar.add_calendar_days(now, deadlines.MERCHANT_ANSWER_DAYS)
    settle = calendar.add_working_days(now, deadlines.DIRECT_SETTLEMENT_WD)
    deadlines.open_deadline(session, ticket, DeadlineKind.MERCHANT_ANSWER, answer, now, None)
    deadlines.open_deadline(session, ticket, DeadlineKind.DIRECT_SETTLEMENT, settle, now, None)
    audit.record(session, ticket, audit.SYSTEM, "direct_settlement_started", to_status=TicketStatus.DIRECT_SETTLEMENT,
                 rule=rule, at=now, data={"merchant": merchant.name, "answer_by": answer.at, "settle_by": settle.at})
    lead = session.get(Bureau, ticket.lead_bureau_id) if ticket.lead_bureau_id else None
    enqueue(session, dedup_key=f"ticket:{ticket.id}:direct_settlement", kind="status", ticket_id=ticket.id,
            consumer_id=ticket.consumer_id,
            body=texts.DIRECT_SETTLEMENT.format(number=ticket.number, merchant=merchant.name, answer_date=due_text(answer),
                                                settle_date=due_text(settle), bureau=lead.name if lead else "主管部门"))
    _tell_merchant(session, merchant, ticket, "direct", texts.MERCHANT_NEW.format(
        number=ticket.number, answer_date=due_text(answer), settle_date=due_text(settle)))


def dispatch_from_triage(session: Session, ticket: Ticket, actor: Actor, sector_key: str,
                         calendar: WorkingCalendar, now: datetime | None = None) -> None:
    """The desk decides the sector; the ticket then follows the normal route."""
    now = now or clock.now()
    if ticket.status != TicketStatus.TRIAGE:
        raise ValueError(f"ticket {ticket.number} is not waiting for triage")
    sector = session.get(Sector, sector_key)
    if sector is None:
        raise ValueError(f"unknown sector {sector_key!r}")
    if sector_key != ticket.sector_key:
        session.add(SectorCorrection(ticket_id=ticket.id, text=ticket.description, from_sector=ticket.sector_key,
                                     to_sector=sector_key, staff_id=actor.staff_id, at=now))
    previous = ticket.sector_key
    ticket.sector_key = sector_key
    ticket.lead_bureau_id = sector.lead_bureau_id
    deadlines.meet(session, ticket, (DeadlineKind.TRIAGE,), now)
    audit.record(session, ticket, actor, "triaged", rule="triage:desk decision", at=now,
                 data={"from_sector": previous, "to_sector": sector_key})
    _add_sector_parties(session, ticket)
    merchant = session.get(Merchant, ticket.merchant_id) if ticket.merchant_id else None
    if merchant is not None and merchant.direct_settlement:
        start_direct_settlement(session, ticket, merchant, calendar, now, "direct_settlement:registered ODR unit")
    else:
        dispatch_to_bureau(session, ticket, session.get(Bureau, sector.lead_bureau_id), calendar, now, actor,
                           f"lead_bureau:sector {sector_key}", texts.TRIAGED)

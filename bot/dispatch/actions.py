"""What staff can do to a ticket: one registry for the console and the API.

Each action says who may take it in which state, which fields it needs
(validated here, with Chinese messages for the form), and which dispatch
function carries it out. A view never calls a dispatch rule directly.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from sqlmodel import Session, select

from bot.core import clock
from bot.dispatch import compensation, first_contact, mediation, settlement, texts
from bot.dispatch.access import is_handler
from bot.dispatch.audit import Actor
from bot.dispatch.calendar import load_calendar
from bot.dispatch.routing import dispatch_from_triage
from models import ActorKind, Bureau, Merchant, Role, Sector, SectorCorrection, Staff, Ticket, TicketStatus


class ActionError(ValueError):
    """A refused action or a wrong field; `field` names the form field when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Param:
    name: str
    label: str
    kind: str = "text"            # text | longtext | decimal | choice | bureau | sector
    required: bool = True
    choices: Callable[[Session], list[tuple[str, str]]] | None = None


def _bureau_choices(session: Session) -> list[tuple[str, str]]:
    return [(str(b.id), b.name) for b in session.exec(select(Bureau).order_by(Bureau.id))]


def _sector_choices(session: Session) -> list[tuple[str, str]]:
    return [(s.key, s.name) for s in session.exec(select(Sector).order_by(Sector.ordinal))]


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    allowed: Callable[[Staff, Ticket], bool]
    perform: Callable[[Session, Staff, Ticket, dict], str]
    params: tuple[Param, ...] = field(default_factory=tuple)

    def clean(self, session: Session, raw: dict[str, Any]) -> dict[str, Any]:
        cleaned: dict[str, Any] = {}
        for param in self.params:
            value = raw.get(param.name)
            value = value.strip() if isinstance(value, str) else value
            if value in (None, ""):
                if param.required:
                    raise ActionError(f"请填写「{param.label}」", param.name)
                cleaned[param.name] = None
                continue
            if param.kind == "decimal":
                try:
                    number = Decimal(str(value))
                except InvalidOperation:
                    raise ActionError(f"「{param.label}」应为金额数字", param.name) from None
                if number <= 0 or number > Decimal("100000000"):
                    raise ActionError(f"「{param.label}」应为大于0的金额", param.name)
                cleaned[param.name] = number.quantize(Decimal("0.01"))
            elif param.kind in ("choice", "bureau", "sector"):
                options = {key for key, _ in self.choices_for(session, param)}
                if str(value) not in options:
                    raise ActionError(f"「{param.label}」的选项无效", param.name)
                cleaned[param.name] = int(value) if param.kind == "bureau" else str(value)
            else:
                if len(str(value)) > 2000:
                    raise ActionError(f"「{param.label}」过长（最多2000字）", param.name)
                cleaned[param.name] = str(value)
        return cleaned

    @staticmethod
    def choices_for(session: Session, param: Param) -> list[tuple[str, str]]:
        if param.kind == "bureau":
            return _bureau_choices(session)
        if param.kind == "sector":
            return _sector_choices(session)
        return param.choices(session) if param.choices else []


def actor_of(staff: Staff) -> Actor:
    kind = ActorKind.MERCHANT if staff.role == Role.MERCHANT else ActorKind.STAFF
    return Actor(kind=kind, staff_id=staff.id, bureau_id=staff.bureau_id, name=staff.display_name or staff.username)


def _handler_in(*states: str) -> Callable[[Staff, Ticket], bool]:
    return lambda staff, ticket: is_handler(staff, ticket) and ticket.status in states


def _payer_merchant(staff: Staff, ticket: Ticket) -> bool:
    return (staff.role == Role.MERCHANT and staff.merchant_id is not None and ticket.compensation_claim
            and staff.merchant_id in (ticket.merchant_id, ticket.platform_merchant_id))


def _accept(session, staff, ticket, p):
    first_contact.accept(session, ticket, actor_of(staff), load_calendar(session))
    return "已受理"


def _reject(session, staff, ticket, p):
    first_contact.reject(session, ticket, actor_of(staff), p["reason"], p.get("note") or "")
    return "已不予受理，并告知消费者理由"


def _hand_on(session, staff, ticket, p):
    try:
        first_contact.hand_on(session, ticket, actor_of(staff), p["to_bureau_id"], p["reason"], load_calendar(session))
    except first_contact.HandBackRefused as exc:
        raise ActionError("不能退回来源单位；如对管辖有争议，请提请放心消费办协调", "to_bureau_id") from exc
    return "已移交"


def _dispute(session, staff, ticket, p):
    first_contact.raise_dispute(session, ticket, actor_of(staff), p["other_bureau_id"], p["reason"],
                                load_calendar(session))
    return "已提请放心消费办协调管辖"


def _decide(session, staff, ticket, p):
    first_contact.decide_dispute(session, ticket, actor_of(staff), p["bureau_id"], load_calendar(session))
    return "已指定办理单位"


def _outcome(session, staff, ticket, p):
    if p["outcome"] == "compensation" and not p.get("amount"):
        raise ActionError("赔偿结果需要填写金额", "amount")
    if p["outcome"] == "failed" and not p.get("advice"):
        raise ActionError("调解未成功时请选择告知消费者的途径", "advice")
    mediation.record_outcome(session, ticket, actor_of(staff), p["outcome"], load_calendar(session),
                             amount=p.get("amount"), advice=p.get("advice"), note=p.get("note") or "")
    return "已记录调解结果，已请消费者评价"


def _reply(session, staff, ticket, p):
    mediation.reply_to_consumer(session, ticket, actor_of(staff), p["text"])
    return "已回复消费者"


def _correct(session, staff, ticket, p):
    if p["sector"] == ticket.sector_key:
        raise ActionError("与当前类别相同", "sector")
    from bot.dispatch import audit

    session.add(SectorCorrection(ticket_id=ticket.id, text=ticket.description, from_sector=ticket.sector_key,
                                 to_sector=p["sector"], staff_id=staff.id, at=clock.now()))
    audit.record(session, ticket, actor_of(staff), "sector_corrected", rule="classifier:staff correction",
                 data={"from": ticket.sector_key, "to": p["sector"]})
    ticket.sector_key = p["sector"]
    session.add(ticket)
    return "已更正类别（将用于改进分类模型）"


def _triage(session, staff, ticket, p):
    dispatch_from_triage(session, ticket, actor_of(staff), p["sector"], load_calendar(session))
    return "已分派"


def _offer(session, staff, ticket, p):
    settlement.merchant_offer(session, ticket, actor_of(staff), p["offer"], p.get("amount"))
    return "和解方案已发给消费者"


def _comp_agree(session, staff, ticket, p):
    try:
        compensation.agree(session, ticket, actor_of(staff), p["amount"], load_calendar(session))
    except compensation.CompensationRefused as exc:
        raise ActionError(str(exc), "amount") from exc
    return "已记录先行赔付承诺"


def _comp_paid(session, staff, ticket, p):
    compensation.paid(session, ticket, actor_of(staff), p["amount"])
    return "已记录先行赔付支付"


def _comp_recovery(session, staff, ticket, p):
    compensation.record_recovery(session, ticket, actor_of(staff), p["supplier"], p.get("amount"), p.get("note") or "")
    return "已记录向供货方追偿"


REASONS = lambda _s: list(texts.ARTICLE_15.items())  # noqa: E731
OUTCOMES = lambda _s: list(texts.OUTCOMES.items())  # noqa: E731
ADVICE = lambda _s: list(texts.FAILED_ADVICE.items())  # noqa: E731

ACTIONS: dict[str, Action] = {a.name: a for a in (
    Action("accept", "受理", _handler_in(TicketStatus.DISPATCHED), _accept),
    Action("reject", "不予受理", _handler_in(TicketStatus.DISPATCHED), _reject,
           (Param("reason", "理由（第十五条）", "choice", choices=REASONS), Param("note", "说明", "longtext", False))),
    Action("hand_on", "移交", _handler_in(TicketStatus.DISPATCHED), _hand_on,
           (Param("to_bureau_id", "移交单位", "bureau"), Param("reason", "移交理由", "longtext"))),
    Action("raise_dispute", "提请管辖协调", _handler_in(TicketStatus.DISPATCHED), _dispute,
           (Param("other_bureau_id", "争议单位", "bureau"), Param("reason", "理由", "longtext"))),
    Action("record_outcome", "记录调解结果", _handler_in(TicketStatus.ACCEPTED), _outcome,
           (Param("outcome", "结果", "choice", choices=OUTCOMES), Param("amount", "金额（元）", "decimal", False),
            Param("advice", "调解未成功时的途径", "choice", False, choices=ADVICE),
            Param("note", "说明", "longtext", False))),
    Action("reply", "回复消费者", lambda s, t: is_handler(s, t) and t.status in TicketStatus.open_states()
           + (TicketStatus.RESOLVED,), _reply, (Param("text", "回复内容", "longtext"),)),
    Action("correct_sector", "更正类别",
           lambda s, t: (is_handler(s, t) or (s.role == Role.TRIAGE and t.handler_bureau_id == s.bureau_id))
           and t.status in TicketStatus.open_states(), _correct, (Param("sector", "正确类别", "sector"),)),
    Action("triage_dispatch", "分派", lambda s, t: s.role == Role.TRIAGE and t.status == TicketStatus.TRIAGE
           and t.handler_bureau_id == s.bureau_id, _triage, (Param("sector", "类别", "sector"),)),
    Action("decide_dispute", "指定办理单位", lambda s, t: s.role == Role.CITY_OFFICE and t.status == TicketStatus.DISPUTED,
           _decide, (Param("bureau_id", "办理单位", "bureau"),)),
    Action("merchant_offer", "提出和解方案", lambda s, t: s.role == Role.MERCHANT and t.status == TicketStatus.DIRECT_SETTLEMENT
           and s.merchant_id == t.merchant_id, _offer,
           (Param("offer", "和解方案", "longtext"), Param("amount", "金额（元）", "decimal", False))),
    Action("compensation_agree", "承诺先行赔付", lambda s, t: (_payer_merchant(s, t) or is_handler(s, t))
           and t.compensation_claim and t.status in TicketStatus.open_states(), _comp_agree,
           (Param("amount", "赔付金额（元）", "decimal"),)),
    Action("compensation_paid", "记录已赔付", lambda s, t: (_payer_merchant(s, t) or is_handler(s, t))
           and t.compensation_claim, _comp_paid, (Param("amount", "已付金额（元）", "decimal"),)),
    Action("compensation_recovery", "记录向供货方追偿", lambda s, t: _payer_merchant(s, t) and t.compensation_claim,
           _comp_recovery, (Param("supplier", "供货方", "text"), Param("amount", "金额（元）", "decimal", False),
                            Param("note", "说明", "longtext", False))),
)}


def allowed_actions(staff: Staff, ticket: Ticket) -> list[Action]:
    return [a for a in ACTIONS.values() if staff.active and a.allowed(staff, ticket)]


def perform(session: Session, staff: Staff, ticket: Ticket, name: str, raw: dict[str, Any]) -> str:
    """Validate and carry out one action; ActionError for anything the rules refuse."""
    action = ACTIONS.get(name)
    if action is None:
        raise ActionError(f"未知操作 {name}")
    if not (staff.active and action.allowed(staff, ticket)):
        raise ActionError("当前状态下您不能执行此操作")
    params = action.clean(session, raw)
    try:
        return action.perform(session, staff, ticket, params)
    except first_contact.DispatchError as exc:
        raise ActionError(str(exc)) from exc


def merchant_of(session: Session, staff: Staff) -> Merchant | None:
    return session.get(Merchant, staff.merchant_id) if staff.merchant_id else None

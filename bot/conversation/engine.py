"""The consumer dialogue as a state machine over a stored state.

Each turn takes the stored state (a JSON dict kept per consumer in the
`conversation` table), one input, and the services it may use (the
classifier, the dispatch functions on the current transaction), and
returns the reply; the new state is written back by the caller. Commands
(查询, 补充, 撤回, 人工, 满意 ...) work in any state; everything else is read
in the context of what the bot last asked.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from sqlmodel import Session, select

from bot.classifier import NONE, Prediction, extract, sector_names
from bot.classifier.extraction import extract_amount, extract_date, extract_demand, extract_merchant, extract_phone, \
    extract_town
from bot.conversation import texts
from bot.conversation.location import town_for_location
from bot.core import clock
from bot.dispatch import compensation, mediation, settlement
from bot.dispatch import texts as dispatch_texts
from bot.dispatch.audit import consumer_actor
from bot.dispatch.calendar import WorkingCalendar
from bot.dispatch.first_contact import DispatchError
from bot.dispatch.routing import ROUTE_DIRECT, ROUTE_TRIAGE, Assessment, Facts, due_text, assess, submit
from models import Attachment, Bureau, Consumer, Sector, Ticket, TicketDeadline, TicketEvent, TicketStatus

IDLE_RESUME_AFTER = timedelta(minutes=30)
QUESTION_ORDER = ("merchant", "town", "purchase_date", "amount", "demand", "phone")
REQUIRED = {"merchant", "demand", "phone"}
TICKET_NUMBER = re.compile(r"TX\d{8}-\d{4,}", re.IGNORECASE)
SKIP_WORDS = {"跳过", "略过", "不知道", "不记得", "忘了", "没有", "无", "skip", "不清楚", "记不清"}
YES_WORDS = {"确认", "确定", "是", "是的", "对", "对的", "好", "好的", "没问题", "提交", "ok", "OK", "yes"}
EDIT_WORDS = {"修改", "改", "更改", "改一下", "不对", "有误"}
CANCEL_WORDS = {"取消", "不投诉了", "算了", "放弃"}
HELP_WORDS = {"帮助", "help", "菜单", "?", "？", "功能", "怎么用"}
HUMAN_WORDS = {"人工", "转人工", "人工客服", "人工服务", "找人工"}
RESTART_WORDS = {"重新开始", "重来", "重新填", "2"}
CONTINUE_WORDS = {"继续", "接着", "继续填写", "1"}
# "I want to complain", said without saying what about: ask for the story, whatever the classifier reads
BARE_COMPLAINT_WORDS = {"投诉", "我要投诉", "要投诉", "我想投诉", "想投诉", "投诉商家", "举报", "我要举报", "我想举报"}
COMPLAINT_YES_WORDS = YES_WORDS | BARE_COMPLAINT_WORDS | {"嗯", "嗯嗯", "是投诉", "是要投诉"}


@dataclass
class Services:
    """What a turn may use: the current transaction, the consumer, the classifier, the clock."""

    session: Session
    consumer: Consumer
    predict: Callable[[str], Prediction]
    threshold: float
    calendar: Callable[[], WorkingCalendar]
    now: datetime
    after_commit: list[Callable[[], None]] = field(default_factory=list)


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def _names() -> dict[str, str]:
    return sector_names()


# ---------------------------------------------------------------------------
# entry points
def handle_text(state: dict, text: str, svc: Services) -> str:
    state["raw_text"] = (text or "").strip()
    text = normalise(text)
    if not text:
        return texts.NOT_A_COMPLAINT
    state.setdefault("mode", "idle")
    reply = _command(state, text, svc)
    if reply is not None:
        return reply
    mode = state["mode"]
    if state.get("confirming") and mode == "choose_sector" and _stale(state, svc.now):
        _drop_unconfirmed(state)  # an unanswered "is this a complaint?" lapses
        mode = "idle"
    if mode != "idle" and state.get("draft") and _stale(state, svc.now) and mode != "resume":
        state["resume_from"] = mode
        state["mode"] = "resume"
        minutes = int((svc.now - datetime.fromisoformat(state["updated_at"])).total_seconds() // 60)
        return texts.RESUME.format(minutes=minutes, preview=_preview(state["draft"]))
    handler = {
        "idle": _on_idle, "choose_sector": _on_choose_sector, "ask": _on_answer, "summary": _on_summary,
        "choose_edit": _on_choose_edit, "confirm_withdraw": _on_confirm_withdraw, "resume": _on_resume,
        "supplement": _on_supplement_text,
    }.get(mode, _on_idle)
    return handler(state, text, svc)


def handle_media(state: dict, kind: str, media_id: str | None, url: str | None, inbound_id: int | None,
                 svc: Services) -> str:
    """A picture or video: evidence for the draft, the ticket being supplemented, or a draft to come."""
    attachment = Attachment(consumer_id=svc.consumer.id, inbound_message_id=inbound_id, kind=kind,
                            media_id=media_id, url=url, created_at=svc.now)
    svc.session.add(attachment)
    svc.session.flush()
    name = texts.KIND_NAMES.get(kind, "文件")
    mode = state.get("mode", "idle")
    if mode == "supplement":
        ticket = _own_ticket(svc, state.get("pending_number"))
        if ticket is None:
            state["mode"] = "idle"
        else:
            attachment.ticket_id = ticket.id
            mediation.supplement(svc.session, ticket, None, [attachment.id], svc.now)
            return texts.SUPPLEMENTED.format(number=ticket.number)
    if state.get("draft"):
        state["draft"].setdefault("attachments", []).append(attachment.id)
        _touch(state, svc.now)
        reply = texts.ATTACHED.format(kind=name, count=len(state["draft"]["attachments"]))
        prompt = _current_prompt(state)
        return reply + ("\n" + prompt if prompt else "")
    state.setdefault("pending_attachments", []).append(attachment.id)
    return texts.ATTACHED_IDLE.format(kind=name)


def handle_location(state: dict, latitude: float | None, longitude: float | None, label: str | None,
                    svc: Services, silent: bool = False) -> str | None:
    town = town_for_location(latitude, longitude, label)
    if silent:  # an automatic LOCATION report: remember it, say nothing
        if town:
            state["last_town"] = list(town)
        return None
    if town is None:
        if state.get("draft"):
            state["mode"], state["asking"] = "ask", "town"
        return texts.OUTSIDE_CITY
    if state.get("draft"):
        draft = state["draft"]
        draft["town"], draft["town_code"] = town
        _touch(state, svc.now)
        if state.get("mode") == "ask" and state.get("asking") == "town":
            return texts.LOCATION_NOTED.format(town=town[0]) + "\n" + _advance(state, svc)
        return texts.LOCATION_NOTED.format(town=town[0])
    state["last_town"] = list(town)
    return texts.LOCATION_NOTED_IDLE.format(town=town[0])


# ---------------------------------------------------------------------------
# commands available everywhere
def _command(state: dict, text: str, svc: Services) -> str | None:
    compact = text.replace(" ", "")
    lowered = compact.lower()
    number_match = TICKET_NUMBER.search(text)
    number = number_match.group(0).upper() if number_match else None
    if lowered in HELP_WORDS:
        return texts.HELP
    if compact in HUMAN_WORDS:
        state["needs_human"] = True
        return texts.HUMAN
    if compact in CANCEL_WORDS and state.get("mode") not in ("idle", "confirm_withdraw"):
        _reset(state)
        return texts.CANCELLED
    if compact in CANCEL_WORDS and state.get("mode", "idle") == "idle":
        return texts.NOTHING_TO_CANCEL  # a bare 取消 is not a message to classify (it read as a cancelled booking)
    if compact.startswith("查询") or compact.startswith("查进度"):
        return _query(svc, number)
    if compact.startswith("补充"):
        return _supplement(state, text, number, svc)
    if compact.startswith("撤回") or compact.startswith("撤销"):
        if not number:
            return texts.NEED_NUMBER.format(command="撤回")
        ticket = _own_ticket(svc, number)
        if ticket is None:
            return texts.TICKET_NOT_FOUND.format(number=number)
        if ticket.status not in TicketStatus.open_states():
            return texts.WITHDRAW_IMPOSSIBLE.format(number=number, status=texts.STATUS_NAMES[ticket.status])
        state["return_mode"] = state.get("mode", "idle")
        state["mode"], state["pending_number"] = "confirm_withdraw", number
        return texts.WITHDRAW_CONFIRM.format(number=number)
    if compact in ("满意", "不满意") or (number and re.fullmatch(r"(不?满意)TX\d{8}-\d+", compact, re.I)):
        return _rate(svc, number, satisfied=not compact.startswith("不"))
    if re.fullmatch(r"(接受|拒绝)(TX\d{8}-\d+)?", compact, re.I):
        return _answer_offer(svc, number, accept=compact.startswith("接受"))
    if re.fullmatch(r"(已收到|收到了|已到账)(TX\d{8}-\d+)?", compact, re.I):
        return _confirm_receipt(svc, number)
    return None


def _own_ticket(svc: Services, number: str | None) -> Ticket | None:
    """Only the consumer's own tickets: another consumer's number is simply "not found"."""
    if not number:
        return None
    return svc.session.exec(select(Ticket).where(Ticket.number == number.upper(),
                                                 Ticket.consumer_id == svc.consumer.id)).first()


def _query(svc: Services, number: str | None) -> str:
    if number:
        ticket = _own_ticket(svc, number)
        if ticket is None:
            return texts.TICKET_NOT_FOUND.format(number=number)
        return _ticket_detail(svc, ticket)
    tickets = svc.session.exec(select(Ticket).where(Ticket.consumer_id == svc.consumer.id)
                               .order_by(Ticket.id.desc()).limit(10)).all()
    if not tickets:
        return texts.NO_TICKETS
    names = _names()
    rows = [texts.TICKET_LIST_ROW.format(number=t.number, sector=names.get(t.sector_key, "待分拣"),
                                         status=texts.STATUS_NAMES.get(t.status, t.status),
                                         date=clock.local(t.created_at).strftime("%m-%d"))
            for t in tickets]
    return "\n".join([texts.TICKET_LIST_HEAD.format(n=len(tickets)), *rows, texts.TICKET_LIST_TAIL])


def _ticket_detail(svc: Services, ticket: Ticket) -> str:
    session = svc.session
    bureau = session.get(Bureau, ticket.handler_bureau_id) if ticket.handler_bureau_id else None
    events = session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                          .order_by(TicketEvent.id)).all()
    lines = []
    for event in events:
        label = texts.EVENT_NAMES.get(event.action)
        if label is None:
            continue
        label = label.format(bureau=event.data.get("bureau", ""), to=event.data.get("to", ""))
        lines.append(f"{clock.local(event.at).strftime('%m-%d %H:%M')} {label}")
    deadline = svc.session.exec(select(TicketDeadline).where(TicketDeadline.ticket_id == ticket.id,
                                                             TicketDeadline.met_at.is_(None))
                                .order_by(TicketDeadline.due_at)).first()
    deadline_text = ""
    if deadline is not None:
        what = {"acceptance": "决定是否受理 ", "mediation": "完成调解 ", "triage": "完成分拣 ",
                "merchant_answer": "商家答复 ", "direct_settlement": "商家和解 ", "rating": "评价 ",
                "jurisdiction": "确定办理单位 ", "compensation_payment": "支付先行赔付 "}.get(deadline.kind, "")
        deadline_text = texts.DEADLINE_LINE.format(what=what, date=clock.local(deadline.due_at).strftime("%Y-%m-%d"))
    return texts.TICKET_DETAIL.format(number=ticket.number, sector=_names().get(ticket.sector_key, "待分拣"),
                                      status=texts.STATUS_NAMES.get(ticket.status, ticket.status),
                                      bureau=bureau.name if bureau else "商家直接和解",
                                      deadline=deadline_text, timeline="\n".join(lines[-8:]))


def _supplement(state: dict, text: str, number: str | None, svc: Services) -> str:
    if not number:
        return texts.NEED_NUMBER.format(command="补充")
    ticket = _own_ticket(svc, number)
    if ticket is None:
        return texts.TICKET_NOT_FOUND.format(number=number)
    rest = normalise(TICKET_NUMBER.sub("", text, count=1)).removeprefix("补充").strip(" ：:，,")
    if ticket.status not in TicketStatus.open_states() + (TicketStatus.RESOLVED,):
        return texts.SUPPLEMENT_CLOSED.format(number=ticket.number)
    if rest:
        mediation.supplement(svc.session, ticket, rest, [], svc.now)
        return texts.SUPPLEMENTED.format(number=ticket.number)
    state["return_mode"] = state.get("mode", "idle")
    state["mode"], state["pending_number"] = "supplement", ticket.number
    return texts.SUPPLEMENT_WAITING.format(number=ticket.number)


def _on_supplement_text(state: dict, text: str, svc: Services) -> str:
    ticket = _own_ticket(svc, state.get("pending_number"))
    state["mode"] = state.pop("return_mode", "idle")
    if ticket is None:
        return _on_idle(state, text, svc)
    try:
        mediation.supplement(svc.session, ticket, text, [], svc.now)
    except DispatchError:
        return texts.SUPPLEMENT_CLOSED.format(number=ticket.number)
    return texts.SUPPLEMENTED.format(number=ticket.number)


def _on_confirm_withdraw(state: dict, text: str, svc: Services) -> str:
    number = state.pop("pending_number", None)
    state["mode"] = state.pop("return_mode", "idle")
    ticket = _own_ticket(svc, number)
    if ticket is None:
        return texts.TICKET_NOT_FOUND.format(number=number)
    if text.replace(" ", "") in ("确认撤回", "确认", "是", "是的", "撤回"):
        try:
            mediation.withdraw(svc.session, ticket, svc.now)
        except DispatchError:
            return texts.WITHDRAW_IMPOSSIBLE.format(number=number, status=texts.STATUS_NAMES[ticket.status])
        return dispatch_texts.WITHDRAWN.format(number=ticket.number)
    return texts.WITHDRAW_KEPT.format(number=number)


def _latest(svc: Services, status: str, number: str | None) -> Ticket | None:
    if number:
        ticket = _own_ticket(svc, number)
        return ticket if ticket is not None and ticket.status == status else None
    return svc.session.exec(select(Ticket).where(Ticket.consumer_id == svc.consumer.id, Ticket.status == status)
                            .order_by(Ticket.resolved_at.desc(), Ticket.id.desc())).first()


def _rate(svc: Services, number: str | None, satisfied: bool) -> str:
    ticket = _latest(svc, TicketStatus.RESOLVED, number)
    if ticket is None:
        return texts.NOTHING_TO_RATE
    return mediation.rate(svc.session, ticket, satisfied, svc.calendar(), svc.now)


def _answer_offer(svc: Services, number: str | None, accept: bool) -> str:
    ticket = _latest(svc, TicketStatus.DIRECT_SETTLEMENT, number)
    if ticket is None or settlement.latest_offer(svc.session, ticket) is None:
        return texts.NO_OFFER.format(number=number or "")
    if accept:
        settlement.consumer_accepts(svc.session, ticket, svc.calendar(), svc.now)
        return texts.OFFER_ACCEPTED.format(number=ticket.number)
    settlement.consumer_rejects(svc.session, ticket, svc.calendar(), svc.now)
    return texts.OFFER_REJECTED.format(number=ticket.number)


def _confirm_receipt(svc: Services, number: str | None) -> str:
    query = select(Ticket).where(Ticket.consumer_id == svc.consumer.id, Ticket.compensation_claim == True)  # noqa: E712
    if number:
        query = query.where(Ticket.number == number.upper())
    ticket = svc.session.exec(query.order_by(Ticket.id.desc())).first()
    if ticket is None:
        return texts.NO_CLAIM.format(number=number or "")
    try:
        compensation.confirm_receipt(svc.session, ticket, consumer_actor())
    except compensation.CompensationRefused:
        return texts.NO_CLAIM.format(number=ticket.number)
    return texts.RECEIPT_CONFIRMED.format(number=ticket.number)


# ---------------------------------------------------------------------------
# a new message with no dialogue under way
GREETING_CHARS = 8  # 你好，在吗 alone is a greeting; in a longer message the greeting only opens the story
FAQ_QUESTION_CHARS = 30  # a message read as maybe a complaint that is longer than this tells a story, not a question


def _faq(text: str, maybe_complaint: bool = False) -> str | None:
    """The FAQ answer to a question, never to a complaint that merely opens with 你好 or mentions 12345."""
    lowered = text.lower()
    said = re.sub(r"[\s\W_]+", "", lowered)
    if maybe_complaint and len(said) > FAQ_QUESTION_CHARS:
        return None
    for keys, answer in texts.FAQ:
        if keys is texts.GREETING_WORDS and len(said) > GREETING_CHARS:
            continue
        if any(k in lowered for k in keys):
            return answer
    return None


def _on_idle(state: dict, text: str, svc: Services) -> str:
    if text.replace(" ", "") in BARE_COMPLAINT_WORDS:
        return texts.NOT_A_COMPLAINT
    prediction = svc.predict(text)
    if prediction.label == NONE:
        answer = _faq(text, prediction.maybe_complaint)
        if answer or not prediction.maybe_complaint:
            return answer or texts.NOT_A_COMPLAINT_BY_KIND.get(prediction.kind or "", texts.NOT_A_COMPLAINT)
    draft = _new_draft(state, text, prediction, svc)
    state["draft"] = draft
    _touch(state, svc.now)
    if prediction.label == NONE:  # the sectors hold even odds: one tap makes it a complaint, anything else drops it
        state["confirming"] = True
        return _ask_sector(state, prediction, texts.MAYBE_COMPLAINT)
    if not prediction.confident:
        return _ask_sector(state, prediction)
    names = _names()
    sector = svc.session.get(Sector, prediction.label)
    bureau = svc.session.get(Bureau, sector.lead_bureau_id)
    intro = texts.START.format(sector=names[prediction.label], bureau=bureau.name)
    return intro + "\n" + _advance(state, svc)


def _new_draft(state: dict, text: str, prediction: Prediction, svc: Services) -> dict:
    facts = extract(text, svc.now, is_complaint=prediction.money_in_dispute)
    draft = {
        "text": state.pop("raw_text", None) or text, "sector": prediction.label, "confidence": round(prediction.confidence, 4),
        "top": [[k, round(v, 4)] for k, v in prediction.top], "chose_sector": False, "manual_triage": False,
        "merchant": facts.merchant, "town": facts.town, "town_code": facts.town_code,
        "purchase_date": facts.purchase_date.isoformat() if facts.purchase_date else None,
        "amount": facts.amount, "demand": facts.demand, "online": facts.online,
        "phone": facts.phone or svc.consumer.phone, "skipped": [],
        "attachments": state.pop("pending_attachments", []),
    }
    if not draft["town"] and state.get("last_town"):
        draft["town"], draft["town_code"] = state["last_town"]
    return draft


def _ask_sector(state: dict, prediction: Prediction, question: str = texts.START_UNSURE) -> str:
    state["sector_options"] = [key for key, _ in prediction.top if key != NONE][:3]
    state["mode"] = "choose_sector"
    return _sector_question(state, question)


def _sector_question(state: dict, question: str) -> str:
    names = _names()
    options = state.get("sector_options", [])
    lines = [f"{i}. {names[key]}" for i, key in enumerate(options, 1)]
    lines.append(f"{len(options) + 1}. {texts.OTHER_OPTION}")
    return question.format(options="\n".join(lines))


def _drop_unconfirmed(state: dict) -> None:
    """Forget an unconfirmed draft, keeping the pictures sent with it for whatever comes next."""
    attachments = (state.get("draft") or {}).get("attachments", [])
    _reset(state)
    if attachments:
        state["pending_attachments"] = attachments


def _on_choose_sector(state: dict, text: str, svc: Services) -> str:
    options = state.get("sector_options", [])
    names = _names()
    choice = text.strip().rstrip(".。")
    picked: str | None = None
    confirming = bool(state.get("confirming"))
    if confirming and choice.replace(" ", "").rstrip("!！") in COMPLAINT_YES_WORDS:
        state.pop("confirming", None)  # yes, a complaint: which kind?
        _touch(state, svc.now)
        return _sector_question(state, texts.START_UNSURE)
    if choice.isdigit() and 1 <= int(choice) <= len(options) + 1:
        picked = options[int(choice) - 1] if int(choice) <= len(options) else "other"
    elif confirming and len(choice) > 8:
        pass  # a whole new message, not a choice, even if it names a sector
    else:
        for key in options:
            if names[key] in choice:
                picked = key
        if picked is None and ("其他" in choice or "人工" in choice):
            picked = "other"
    if picked is None and confirming:  # it was not a complaint after all: a new message
        _drop_unconfirmed(state)
        return _on_idle(state, text, svc)
    if picked is None:
        return texts.CHOICE_INVALID.format(n=len(options) + 1)
    state.pop("confirming", None)
    draft = state["draft"]
    if picked == "other":
        draft["manual_triage"] = True
        lead = texts.TRIAGE_CHOSEN
    else:
        draft["sector"], draft["chose_sector"] = picked, True
        lead = texts.SECTOR_CHOSEN.format(sector=names[picked])
    state.pop("sector_options", None)
    _touch(state, svc.now)
    if state.pop("editing", False):
        return lead + "\n" + _summary(state, svc)
    return lead + "\n" + _advance(state, svc)


# ---------------------------------------------------------------------------
# filling in the draft, one question at a time
def _missing(draft: dict) -> list[str]:
    """Fields still to ask, in order; where an online purchase happened is not asked."""
    skipped = set(draft.get("skipped", []))
    if draft.get("online"):
        skipped.add("town")
    return [f for f in QUESTION_ORDER if draft.get(f) in (None, "") and f not in skipped]


def _advance(state: dict, svc: Services) -> str:
    missing = _missing(state["draft"])
    if not missing:
        return _summary(state, svc)
    state["mode"], state["asking"] = "ask", missing[0]
    return texts.QUESTIONS[missing[0]]


def _current_prompt(state: dict) -> str | None:
    if state.get("mode") == "ask":
        return texts.QUESTIONS.get(state.get("asking"), None) or texts.NOT_UNDERSTOOD.get(state.get("asking"))
    if state.get("mode") == "summary":
        return texts.CONFIRM_PROMPT
    return None


def parse_answer(field_name: str, text: str, now: datetime) -> Any:
    """The value of one field from the consumer's answer, or None if it cannot be read."""
    t = normalise(text)
    if field_name == "merchant":
        found = extract_merchant(t)
        cleaned = t.strip(" 。.,，!！")
        if not found and (extract_phone(t) or re.fullmatch(r"[\d\s\-+.]*", cleaned)):
            return None  # a number is not a shop name
        return (found or cleaned)[:120] if len(cleaned) >= 2 else None
    if field_name == "town":
        town = extract_town(t)
        return list(town) if town else None
    if field_name == "purchase_date":
        found = extract_date(t, now)
        return found.isoformat() if found else None
    if field_name == "amount":
        amount = extract_amount(t)
        if amount is None:
            bare = re.fullmatch(r"[¥￥]?\s*(\d+(?:\.\d+)?)\s*(元|块)?", t)
            amount = float(bare.group(1)) if bare else None
        return amount
    if field_name == "demand":
        digit = t.strip(" .。")
        if digit in texts.DEMANDS:
            return texts.DEMANDS[digit]
        for key, name in texts.DEMAND_NAMES.items():
            if t == name:
                return key
        return extract_demand(t) or ("other" if len(t) >= 4 else None)
    if field_name == "phone":
        return extract_phone(t)
    if field_name == "description":
        return t if len(t) >= 2 else None
    return None


def _on_answer(state: dict, text: str, svc: Services) -> str:
    field_name = state.get("asking")
    draft = state["draft"]
    compact = text.replace(" ", "")
    editing = state.get("editing", False)
    if compact in SKIP_WORDS or compact.lower() == "skip":
        if field_name in REQUIRED:
            return texts.REQUIRED_HINT + "\n" + texts.QUESTIONS[field_name]
        draft.setdefault("skipped", []).append(field_name)
        if field_name == "town" and draft.get("online") is None and "网" in text:
            draft["online"] = True
        _touch(state, svc.now)
        return _after_field(state, svc, editing)
    if field_name == "town" and any(w in text for w in ("网上", "网购", "线上", "淘宝", "拼多多", "京东", "抖音", "快递")):
        draft["online"] = True
        draft.setdefault("skipped", []).append("town")
        _touch(state, svc.now)
        return _after_field(state, svc, editing)
    value = parse_answer(field_name, text, svc.now)
    if value is None:
        return texts.NOT_UNDERSTOOD[field_name]
    if field_name == "town":
        draft["town"], draft["town_code"] = value
    elif field_name == "description":
        draft["text"] = value
    else:
        draft[field_name] = value
    if field_name == "merchant" and draft.get("online") is None:
        draft["online"] = extract(text).online
    # an answer often carries more than was asked ("乌镇的老街饭店，上周三"): keep what else it says
    if not editing:
        extra = extract(text, svc.now)
        for key, found in (("town", extra.town), ("purchase_date", extra.purchase_date),
                           ("phone", extra.phone)):
            if found and not draft.get(key) and key != field_name:
                if key == "town":
                    draft["town"], draft["town_code"] = extra.town, extra.town_code
                elif key == "purchase_date":
                    draft["purchase_date"] = found.isoformat()
                else:
                    draft[key] = found
    _touch(state, svc.now)
    return _after_field(state, svc, editing)


def _after_field(state: dict, svc: Services, editing: bool) -> str:
    if editing:
        state.pop("editing", None)
        return _summary(state, svc)
    return _advance(state, svc)


# ---------------------------------------------------------------------------
# summary, changes, submission
def facts_from_draft(draft: dict) -> Facts:
    amount = None
    if draft.get("amount") is not None:
        try:
            amount = Decimal(str(draft["amount"])).quantize(Decimal("0.01"))
        except InvalidOperation:
            amount = None
    return Facts(description=draft["text"], sector_key=draft.get("sector") if draft.get("sector") != NONE else None,
                 confidence=draft.get("confidence"), top=draft.get("top", []),
                 consumer_chose_sector=draft.get("chose_sector", False),
                 manual_triage=draft.get("manual_triage", False), merchant_name=draft.get("merchant"),
                 town_code=draft.get("town_code"), amount=amount,
                 purchase_date=date.fromisoformat(draft["purchase_date"]) if draft.get("purchase_date") else None,
                 online=draft.get("online"), demand=draft.get("demand"), phone=draft.get("phone"))


def _mask(phone: str | None) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if phone and len(phone) == 11 else (phone or "")


def _summary(state: dict, svc: Services) -> str:
    draft = state["draft"]
    state["mode"] = "summary"
    state.pop("asking", None)
    decision = assess(svc.session, facts_from_draft(draft), svc.calendar(), svc.now, svc.threshold)
    names = _names()
    sector = "待人工分拣" if draft.get("manual_triage") else names.get(draft.get("sector"), "待人工分拣")
    lines = [texts.SUMMARY_HEAD, f"类别：{sector}"]
    lines.append(_route_line(decision))
    merchant = draft.get("merchant") or "（未提供）"
    if decision.merchant is not None:
        merchant += "（已登记商家）"
    lines.append(f"商家：{merchant}")
    lines.append(f"地点：{draft.get('town') or ('网购' if draft.get('online') else '（未提供）')}")
    if draft.get("purchase_date"):
        lines.append(f"时间：{draft['purchase_date']}")
    if draft.get("amount") is not None:
        lines.append(f"金额：{_money(draft['amount'])}元")
    lines.append(f"诉求：{texts.DEMAND_NAMES.get(draft.get('demand'), '（未提供）')}")
    lines.append(f"电话：{_mask(draft.get('phone'))}")
    if draft.get("attachments"):
        lines.append(f"证据：{len(draft['attachments'])}份")
    lines.append(f"说明：{draft['text']}")
    lines.extend(_rights(decision))
    lines.append(texts.SUMMARY_TAIL)
    return "\n".join(lines)


def _money(value) -> str:
    number = float(value)
    return str(int(number)) if number == int(number) else f"{number:.2f}".rstrip("0")


def _route_line(decision: Assessment) -> str:
    lead = decision.lead_bureau.name if decision.lead_bureau else "主管部门"
    if decision.route == ROUTE_TRIAGE:
        return texts.SUMMARY_ROUTE_TRIAGE
    if decision.route == ROUTE_DIRECT:
        return texts.SUMMARY_ROUTE_DIRECT.format(bureau=lead)
    return texts.SUMMARY_ROUTE_BUREAU.format(bureau=lead, date=due_text(decision.first_answer_due))


def _rights(decision: Assessment) -> list[str]:
    lines = []
    right = decision.return_right
    if right.entitled and right.rule == "online_7_days":
        lines.append(texts.RIGHT_ONLINE_RETURN.format(date=right.last_day.isoformat()))
    elif right.entitled:
        lines.append(texts.RIGHT_OFFLINE_RETURN.format(days=right.window_days, date=right.last_day.isoformat()))
    comp = decision.compensation
    if comp.payer is not None:
        cap = f"（限额{_money(comp.cap)}元）" if comp.cap is not None else ""
        if comp.eligible:
            lines.append(texts.RIGHT_COMPENSATION.format(payer=comp.payer.name, cap=cap))
        elif comp.cap is not None and "exceeds" in comp.reason:
            lines.append(texts.RIGHT_COMPENSATION_OVER_CAP.format(payer=comp.payer.name, cap=_money(comp.cap)))
    return lines


def _on_summary(state: dict, text: str, svc: Services) -> str:
    compact = text.replace(" ", "").rstrip("。.!！")
    if compact in YES_WORDS:
        return _submit(state, svc)
    if compact in EDIT_WORDS or compact.startswith("修改"):
        return _edit_menu(state)
    return texts.CONFIRM_PROMPT


def _edit_menu(state: dict) -> str:
    state["mode"] = "choose_edit"
    options = "\n".join(f"{i}. {texts.FIELD_NAMES[f]}" for i, f in enumerate(texts.EDITABLE, 1))
    return texts.EDIT_MENU.format(options=options)


def _on_choose_edit(state: dict, text: str, svc: Services) -> str:
    choice = text.strip().rstrip(".。")
    field_name = None
    if choice.isdigit() and 1 <= int(choice) <= len(texts.EDITABLE):
        field_name = texts.EDITABLE[int(choice) - 1]
    else:
        for f in texts.EDITABLE:
            if texts.FIELD_NAMES[f] in choice:
                field_name = f
    if field_name is None:
        return texts.CHOICE_INVALID.format(n=len(texts.EDITABLE))
    state["editing"] = True
    draft = state["draft"]
    if field_name in draft.get("skipped", []):
        draft["skipped"].remove(field_name)
    if field_name == "sector":
        top = [(k, v) for k, v in draft.get("top", [])]
        for key in sector_names():
            if len(top) >= 3:
                break
            if key not in [k for k, _ in top]:
                top.append((key, 0.0))
        prediction = Prediction(label=draft["sector"], confidence=0.0, top=top, threshold=1.0)
        return _ask_sector(state, prediction)
    state["mode"], state["asking"] = "ask", field_name
    return texts.QUESTIONS.get(field_name) or texts.NOT_UNDERSTOOD[field_name]


def _submit(state: dict, svc: Services) -> str:
    draft = state["draft"]
    facts = facts_from_draft(draft)
    calendar = svc.calendar()
    decision = assess(svc.session, facts, calendar, svc.now, svc.threshold)
    ticket = submit(svc.session, facts, svc.consumer, calendar, svc.threshold, svc.now,
                    attachments=draft.get("attachments", []), messages=draft.get("messages", []))
    if facts.phone and not svc.consumer.phone:
        svc.consumer.phone = facts.phone
        svc.session.add(svc.consumer)
    _reset(state)
    state["last_ticket"] = ticket.number
    lead = decision.lead_bureau.name if decision.lead_bureau else "主管部门"
    if decision.route == ROUTE_TRIAGE:
        route = texts.SUBMITTED_ROUTE_TRIAGE.format(date=due_text(decision.first_answer_due))
    elif decision.route == ROUTE_DIRECT:
        route = texts.SUBMITTED_ROUTE_DIRECT.format(merchant=decision.merchant.name, bureau=lead,
                                                    date=due_text(decision.first_answer_due))
    else:
        route = texts.SUBMITTED_ROUTE_BUREAU.format(bureau=lead, date=due_text(decision.first_answer_due))
    return texts.SUBMITTED.format(number=ticket.number, route=route)


# ---------------------------------------------------------------------------
# an old draft
def _stale(state: dict, now: datetime) -> bool:
    updated = state.get("updated_at")
    return bool(updated) and now - datetime.fromisoformat(updated) > IDLE_RESUME_AFTER


def _preview(draft: dict) -> str:
    text = draft.get("text", "")
    return text if len(text) <= 20 else text[:20] + "…"


def _on_resume(state: dict, text: str, svc: Services) -> str:
    compact = text.replace(" ", "")
    if compact in CONTINUE_WORDS:
        state["mode"] = state.pop("resume_from", "ask")
        _touch(state, svc.now)
        if state["mode"] == "summary":
            return _summary(state, svc)
        if state["mode"] == "choose_sector":
            return _ask_sector(state, Prediction(state["draft"]["sector"], 0.0,
                                                 [(k, 0.0) for k in state.get("sector_options", [])], 1.0))
        return _advance(state, svc)
    if compact in RESTART_WORDS:
        _reset(state)
        return texts.RESTARTED
    return texts.RESUME_INVALID


def _touch(state: dict, now: datetime) -> None:
    state["updated_at"] = now.isoformat()


def _reset(state: dict) -> None:
    for key in ("draft", "asking", "sector_options", "editing", "resume_from", "pending_number", "return_mode",
                "confirming"):
        state.pop(key, None)
    state["mode"] = "idle"

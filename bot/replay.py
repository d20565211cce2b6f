"""Replays of the frozen test split: how many turns a consumer needs, and where tickets go.

Both run the real classifier, dialogue and dispatch code on the configured
database inside one transaction that is rolled back at the end, so nothing
is left behind (unless --keep).
"""
from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, select

from bot.classifier import NONE, extract
from bot.classifier.model import SectorClassifier
from bot.conversation import engine
from bot.core import clock
from bot.dispatch.calendar import load_calendar
from bot.dispatch.routing import Facts, submit
from models import Bureau, Consumer, Ticket, TicketStatus

MAX_TURNS = 15


@dataclass
class TurnsReport:
    turns: list[int] = field(default_factory=list)
    not_filed: int = 0  # the bot answered without starting a complaint
    records: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.turns) if self.turns else 0.0


def _answer(question_state: dict, record: dict, draft: dict) -> str:
    """What a consumer who knows the facts of `record` replies to the bot's current question."""
    mode = question_state.get("mode")
    if mode == "choose_sector":
        options = question_state.get("sector_options", [])
        return str(options.index(record["label"]) + 1) if record["label"] in options else str(len(options) + 1)
    if mode == "summary":
        return "确认"
    if mode == "resume":
        return "继续"
    asking = question_state.get("asking")
    if asking == "merchant":
        return record.get("merchant") or "记不清店名，在路边一家店"
    if asking == "town":
        return record.get("town") or "跳过"
    if asking == "amount":
        return str(record["amount"]) if record.get("amount") is not None else "跳过"
    if asking == "demand":
        return "1"
    if asking == "phone":
        return record.get("phone") or "13800000000"
    return "跳过"


def replay_turns(session: Session, classifier: SectorClassifier, records: list[dict],
                 now: datetime | None = None) -> TurnsReport:
    """Each record is a consumer's first message; turns = consumer messages until the ticket number."""
    now = now or clock.now()
    report = TurnsReport(records=len(records))
    for index, record in enumerate(records):
        consumer = Consumer(openid=f"replay-{index}", created_at=now)
        session.add(consumer)
        session.flush()
        services = engine.Services(session=session, consumer=consumer, predict=classifier.predict,
                                   threshold=classifier.threshold, calendar=lambda: load_calendar(session), now=now)
        state: dict = {}
        reply = engine.handle_text(state, record["text"], services)
        turns = 1
        while state.get("mode", "idle") != "idle" and turns < MAX_TURNS:
            reply = engine.handle_text(state, _answer(state, record, state.get("draft") or {}), services)
            turns += 1
        if "投诉已提交" in reply:
            report.turns.append(turns)
        else:
            report.not_filed += 1
    return report


@dataclass
class DispatchReport:
    by_route: Counter = field(default_factory=Counter)
    by_bureau: Counter = field(default_factory=Counter)
    not_complaints: int = 0


def replay_dispatch(session: Session, classifier: SectorClassifier, records: list[dict],
                    now: datetime | None = None) -> DispatchReport:
    """Each record submitted as a ticket with what the classifier and extraction find in it."""
    now = now or clock.now()
    calendar = load_calendar(session)
    consumer = Consumer(openid="replay-dispatch", created_at=now)
    session.add(consumer)
    session.flush()
    report = DispatchReport()
    predictions = classifier.predict_many([r["text"] for r in records])
    for record, prediction in zip(records, predictions):
        if prediction.label == NONE:
            report.not_complaints += 1
            continue
        facts = extract(record["text"], now)
        ticket = submit(session, Facts(
            description=record["text"], sector_key=prediction.label, confidence=prediction.confidence,
            top=[[k, v] for k, v in prediction.top], merchant_name=facts.merchant, town_code=facts.town_code,
            amount=Decimal(str(facts.amount)) if facts.amount is not None else None,
            purchase_date=facts.purchase_date, online=facts.online, demand=facts.demand, phone=facts.phone),
            consumer, calendar, classifier.threshold, now)
        report.by_route[ticket.status] += 1
        if ticket.status == TicketStatus.TRIAGE:
            report.by_bureau["（人工分拣）市消费投诉受理中心"] += 1
        elif ticket.status == TicketStatus.DIRECT_SETTLEMENT:
            report.by_bureau["（商家直接和解）" + (ticket.merchant_name or "")] += 1
        else:
            report.by_bureau[session.get(Bureau, ticket.handler_bureau_id).name] += 1
    return report


def tickets_in(session: Session) -> int:
    return len(session.exec(select(Ticket.id)).all())

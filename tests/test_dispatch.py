"""Dispatch rules, walked table by table on a real database."""
from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from bot.core import clock
from bot.core.config import ROOT
from bot.dispatch import compensation, first_contact, settlement
from bot.dispatch.audit import Actor
from bot.dispatch.calendar import load_calendar
from bot.dispatch.first_contact import DispatchError, HandBackRefused
from bot.dispatch.merchants import import_merchants
from bot.dispatch.routing import Facts, dispatch_from_triage, submit
from models import (
    Bureau,
    Consumer,
    DeadlineKind,
    Holiday,
    Notification,
    PartyRole,
    Role,
    Ticket,
    TicketDeadline,
    TicketEvent,
    TicketParty,
    TicketStatus,
)

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=clock.SHANGHAI)


@pytest.fixture
def session(db):
    with db.session() as s:
        text = (ROOT / "reference_data" / "merchants_sample.csv").read_text(encoding="utf-8")
        assert not import_merchants(s, io.StringIO(text, newline="")).errors
        s.add(Consumer(openid="o-dispatch", created_at=MONDAY))
        s.flush()
        yield s


def bureau(session, name: str) -> Bureau:
    return session.exec(select(Bureau).where(Bureau.name == name)).one()


def consumer(session) -> Consumer:
    return session.exec(select(Consumer).where(Consumer.openid == "o-dispatch")).one()


def staff_actor(session, bureau_name: str) -> Actor:
    b = bureau(session, bureau_name)
    return Actor(kind="staff", bureau_id=b.id, name=f"{b.name}经办人")


def file(session, now: datetime = MONDAY, **overrides) -> Ticket:
    facts = Facts(description=overrides.pop("description", "测试投诉"), sector_key=overrides.pop("sector", "catering"),
                  confidence=overrides.pop("confidence", 0.95), **overrides)
    return submit(session, facts, consumer(session), load_calendar(session), threshold=0.7, now=now)


def events(session, ticket) -> list[TicketEvent]:
    return list(session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)))


def deadline(session, ticket, kind) -> TicketDeadline:
    return session.exec(select(TicketDeadline).where(TicketDeadline.ticket_id == ticket.id, TicketDeadline.kind == kind,
                                                     TicketDeadline.met_at.is_(None))).one()


def roles(session, ticket) -> dict[str, set[str]]:
    result: dict[str, set[str]] = {}
    for party in session.exec(select(TicketParty).where(TicketParty.ticket_id == ticket.id)):
        result.setdefault(party.role, set()).add(session.get(Bureau, party.bureau_id).name)
    return result


# -- routing ------------------------------------------------------------------------------------
@pytest.mark.parametrize("sector, lead, co", [
    ("catering", "市场监管局", {"经信局", "公安局", "商务局", "卫生健康局", "综合行政执法局", "生态环境局桐乡分局"}),
    ("telecom", "经信局", {"电信公司", "移动公司", "联通公司", "华数公司"}),
    ("express_delivery", "邮政管理局", {"交通运输局", "市场监管局"}),
    ("beauty_fitness", "商务局", {"公安局", "卫生健康局", "文化和广电旅游体育局", "市场监管局"}),
])
def test_a_confident_ticket_goes_to_the_lead_bureau_with_co_units_and_town(session, sector, lead, co):
    ticket = file(session, sector=sector, town_code="330483100")
    assert ticket.status == TicketStatus.DISPATCHED
    assert session.get(Bureau, ticket.handler_bureau_id).name == lead
    assert session.get(Bureau, ticket.first_contact_bureau_id).name == lead
    parties = roles(session, ticket)
    assert parties["lead"] == {lead} and parties["co"] == co and parties["town"] == {"乌镇镇消费维权服务站"}
    due = deadline(session, ticket, DeadlineKind.ACCEPTANCE)
    assert clock.local(due.due_at).date() == date(2026, 12, 2)  # 7 working days after Monday 23 Nov
    routed = [e for e in events(session, ticket) if e.action == "dispatched"][0]
    assert routed.rule == f"lead_bureau:sector {sector}" and routed.data["bureau"] == lead


@pytest.mark.parametrize("overrides, reason", [
    ({"confidence": 0.41}, "confidence 0.41 < 0.7"),
    ({"manual_triage": True}, "consumer chose other"),
    ({"sector": None, "confidence": None}, "no sector"),
])
def test_unsure_or_other_goes_to_the_triage_queue_for_one_working_day(session, overrides, reason):
    ticket = file(session, **overrides)
    assert ticket.status == TicketStatus.TRIAGE
    assert session.get(Bureau, ticket.handler_bureau_id).code == "complaint_desk"
    assert ticket.first_contact_bureau_id is None
    due = deadline(session, ticket, DeadlineKind.TRIAGE)
    assert clock.local(due.due_at).date() == date(2026, 11, 24)
    assert [e.rule for e in events(session, ticket) if e.action == "routed_to_triage"] == [f"triage:{reason}"]


def test_a_consumer_choice_overrides_low_confidence(session):
    ticket = file(session, confidence=0.3, consumer_chose_sector=True)
    assert ticket.status == TicketStatus.DISPATCHED


def test_the_desk_dispatches_and_a_changed_sector_is_a_correction(session):
    from models import SectorCorrection

    ticket = file(session, confidence=0.3, sector="food", description="外卖吃坏了肚子")
    desk = staff_actor(session, "市消费投诉受理中心")
    dispatch_from_triage(session, ticket, desk, "catering", load_calendar(session), now=MONDAY + timedelta(hours=2))
    assert ticket.status == TicketStatus.DISPATCHED and ticket.sector_key == "catering"
    assert session.get(Bureau, ticket.first_contact_bureau_id).name == "市场监管局"
    correction = session.exec(select(SectorCorrection).where(SectorCorrection.ticket_id == ticket.id)).one()
    assert (correction.from_sector, correction.to_sector, correction.text) == ("food", "catering", "外卖吃坏了肚子")


# -- merchants -------------------------------------------------------------------------------------
def test_an_unmatched_merchant_is_kept_as_free_text(session):
    ticket = file(session, merchant_name="张三小吃摊")
    assert ticket.merchant_id is None and ticket.merchant_name == "张三小吃摊"
    event = [e for e in events(session, ticket) if e.action == "merchant_unmatched"][0]
    assert event.data["text"] == "张三小吃摊" and event.data["matched"] is None


def test_a_registered_merchant_is_matched_with_the_town_as_tie_breaker(session):
    ticket = file(session, merchant_name="老街饭店", town_code="330483107")
    merchant = ticket.merchant_id and session.get(__import__("models").Merchant, ticket.merchant_id)
    assert merchant.name == "老街饭店" and merchant.town_code == "330483107"


# -- direct settlement ---------------------------------------------------------------------------------
def test_direct_settlement_goes_to_the_merchant_first(session):
    ticket = file(session, sector="beauty_fitness", merchant_name="鼎盛健身", town_code="330483001")
    assert ticket.status == TicketStatus.DIRECT_SETTLEMENT and ticket.handler_bureau_id is None
    answer = deadline(session, ticket, DeadlineKind.MERCHANT_ANSWER)
    settle = deadline(session, ticket, DeadlineKind.DIRECT_SETTLEMENT)
    assert clock.local(answer.due_at).date() == date(2026, 11, 28)       # 5 days
    assert clock.local(settle.due_at).date() == date(2026, 12, 7)        # 10 working days
    assert ticket.first_contact_bureau_id is None  # no bureau has received it yet


def test_a_merchant_that_does_not_answer_in_five_days_forwards_the_ticket(session):
    ticket = file(session, sector="beauty_fitness", merchant_name="鼎盛健身", town_code="330483001")
    calendar = load_calendar(session)
    assert settlement.forward_overdue(session, calendar, now=MONDAY + timedelta(days=4)) == []
    forwarded = settlement.forward_overdue(session, calendar, now=MONDAY + timedelta(days=6))
    assert forwarded == [ticket.number]
    assert ticket.status == TicketStatus.DISPATCHED
    assert session.get(Bureau, ticket.first_contact_bureau_id).name == "商务局"
    accept = deadline(session, ticket, DeadlineKind.ACCEPTANCE)
    assert accept.started_at == MONDAY + timedelta(days=6)  # the bureau's clock starts when it receives it
    assert [e.rule for e in events(session, ticket) if e.action == "direct_settlement_failed"] == \
        ["ODR:merchant did not answer in 5 days"]


def test_an_offer_rejected_by_the_consumer_forwards_and_an_accepted_one_resolves(session):
    calendar = load_calendar(session)
    merchant_actor = Actor(kind="merchant", name="鼎盛健身")
    rejected = file(session, sector="beauty_fitness", merchant_name="鼎盛健身", town_code="330483001")
    settlement.merchant_offer(session, rejected, merchant_actor, "退还剩余课时费一半", Decimal("1500"))
    settlement.consumer_rejects(session, rejected, calendar)
    assert rejected.status == TicketStatus.DISPATCHED
    accepted = file(session, sector="beauty_fitness", merchant_name="鼎盛健身", town_code="330483001")
    settlement.merchant_offer(session, accepted, merchant_actor, "全额退款3000元", Decimal("3000"))
    settlement.consumer_accepts(session, accepted, calendar)
    assert accepted.status == TicketStatus.RESOLVED and accepted.outcome_amount == Decimal("3000")


# -- first-contact responsibility -------------------------------------------------------------------------
def test_accept_starts_45_working_days_of_mediation(session):
    ticket = file(session)
    first_contact.accept(session, ticket, staff_actor(session, "市场监管局"), load_calendar(session),
                         now=MONDAY + timedelta(days=1))
    assert ticket.status == TicketStatus.ACCEPTED
    mediation_due = deadline(session, ticket, DeadlineKind.MEDIATION)
    assert clock.local(mediation_due.due_at).date() == date(2027, 1, 27)  # Jan 1 off by the fallback rules
    assert mediation_due.provisional  # January 2027 is not in the package yet


def test_only_the_handler_may_accept(session):
    ticket = file(session)
    with pytest.raises(DispatchError):
        first_contact.accept(session, ticket, staff_actor(session, "商务局"), load_calendar(session))


@pytest.mark.parametrize("reason", ["outside_duties", "time_barred", "missing_information"])
def test_rejection_needs_an_article_15_reason_told_to_the_consumer(session, reason):
    ticket = file(session)
    first_contact.reject(session, ticket, staff_actor(session, "市场监管局"), reason)
    assert ticket.status == TicketStatus.REJECTED and ticket.rejection_reason == reason
    told = session.exec(select(Notification).where(Notification.ticket_id == ticket.id,
                                                   Notification.kind == "status")).all()
    assert any("未予受理" in n.body for n in told)


def test_rejection_without_an_article_15_reason_is_refused(session):
    ticket = file(session)
    with pytest.raises(DispatchError, match="Article 15"):
        first_contact.reject(session, ticket, staff_actor(session, "市场监管局"), "too busy")
    assert ticket.status == TicketStatus.DISPATCHED


def test_hand_on_keeps_the_first_contact_owner_on_the_ticket(session):
    ticket = file(session)
    calendar = load_calendar(session)
    first_contact.hand_on(session, ticket, staff_actor(session, "市场监管局"), bureau(session, "商务局").id,
                          "属于预付卡纠纷，由商务局牵头", calendar, now=MONDAY + timedelta(days=2))
    assert session.get(Bureau, ticket.handler_bureau_id).name == "商务局"
    assert session.get(Bureau, ticket.first_contact_bureau_id).name == "市场监管局"
    parties = roles(session, ticket)
    assert "市场监管局" in parties[PartyRole.FIRST_CONTACT] and "市场监管局" in parties[PartyRole.PREVIOUS]
    assert "商务局" in parties[PartyRole.HANDLER]
    handed = [e for e in events(session, ticket) if e.action == "handed_on"][0]
    assert handed.data == {"from": "市场监管局", "to": "商务局", "reason": "属于预付卡纠纷，由商务局牵头",
                           "first_contact": ticket.first_contact_bureau_id}
    # the consumer is told who handles it now, never to go elsewhere
    told = [n.body for n in session.exec(select(Notification).where(Notification.ticket_id == ticket.id,
                                                                    Notification.consumer_id.is_not(None)))]
    assert any("市场监管局移交商务局" in body and "继续跟进" in body for body in told)


def test_a_hand_back_is_refused_and_becomes_a_jurisdiction_dispute(session):
    ticket = file(session)
    calendar = load_calendar(session)
    first_contact.hand_on(session, ticket, staff_actor(session, "市场监管局"), bureau(session, "商务局").id,
                          "预付卡", calendar)
    with pytest.raises(HandBackRefused):
        first_contact.hand_on(session, ticket, staff_actor(session, "商务局"), bureau(session, "市场监管局").id,
                              "不归我们", calendar)
    assert session.get(Bureau, ticket.handler_bureau_id).name == "商务局"
    assert [e.rule for e in events(session, ticket) if e.action == "hand_back_refused"] == ["SAMR Art. 30"]
    first_contact.raise_dispute(session, ticket, staff_actor(session, "商务局"), bureau(session, "市场监管局").id,
                                "不归我们", calendar, now=MONDAY)
    assert ticket.status == TicketStatus.DISPUTED
    assert clock.local(deadline(session, ticket, DeadlineKind.JURISDICTION).due_at).date() == date(2026, 12, 2)
    with pytest.raises(DispatchError):
        first_contact.decide_dispute(session, ticket, staff_actor(session, "商务局"), bureau(session, "商务局").id,
                                     calendar)
    first_contact.decide_dispute(session, ticket, staff_actor(session, "放心消费办"), bureau(session, "商务局").id,
                                 calendar)
    assert ticket.status == TicketStatus.DISPATCHED and session.get(Bureau, ticket.handler_bureau_id).name == "商务局"


# -- advance compensation and returns ----------------------------------------------------------------------
def test_advance_compensation_within_the_cap_opens_a_claim(session):
    ticket = file(session, sector="general_goods", merchant_name="明视眼镜", town_code="330483107",
                  amount=Decimal("600"))
    assert ticket.compensation_claim
    calendar = load_calendar(session)
    compensation.agree(session, ticket, Actor(kind="merchant", name="明视眼镜"), Decimal("600"), calendar)
    due = deadline(session, ticket, DeadlineKind.COMPENSATION_PAYMENT)
    assert (clock.local(due.due_at).date() - clock.local(due.started_at).date()).days == 3
    compensation.paid(session, ticket, Actor(kind="merchant", name="明视眼镜"), Decimal("600"))
    compensation.confirm_receipt(session, ticket, Actor(kind="consumer"))
    compensation.record_recovery(session, ticket, Actor(kind="merchant", name="明视眼镜"), "镜片供应商", Decimal("600"))
    actions = [e.action for e in events(session, ticket)]
    assert actions[-4:] == ["compensation_agreed", "compensation_paid", "compensation_received",
                            "compensation_recovery"]


def test_a_claim_over_the_cap_is_refused(session):
    over = file(session, sector="general_goods", merchant_name="明视眼镜", town_code="330483107",
                amount=Decimal("1800"))
    assert not over.compensation_claim
    refused = [e for e in events(session, over) if e.action == "compensation_claim_refused"][0]
    assert refused.data["cap"] == "1000.00" and "exceeds" in refused.data["reason"]
    within = file(session, sector="general_goods", merchant_name="明视眼镜", town_code="330483107",
                  amount=Decimal("900"))
    with pytest.raises(compensation.CompensationRefused):
        compensation.agree(session, within, Actor(kind="merchant", name="明视眼镜"), Decimal("1200"),
                           load_calendar(session))
    assert [e.rule for e in events(session, within) if e.action == "compensation_refused"] == ["先行赔付:cap"]


def test_an_online_platform_pledge_covers_its_sellers(session):
    ticket = file(session, sector="online_shopping", description="拼多多上买的耳机是假的", merchant_name="某某数码专营店",
                  online=True, amount=Decimal("199"))
    assert ticket.compensation_claim and session.get(__import__("models").Merchant,
                                                     ticket.platform_merchant_id).name == "拼多多"


@pytest.mark.parametrize("online, days_ago, merchant, entitled, rule", [
    (True, 3, None, True, "online_7_days"),
    (True, 9, None, False, None),
    (False, 10, "金鹰家电", True, "offline_pledge_15_days"),
    (False, 20, "金鹰家电", False, None),
    (False, 2, "阿坤羊肉馆", False, None),
])
def test_no_reason_returns(session, online, days_ago, merchant, entitled, rule):
    ticket = file(session, sector="general_goods", online=online, merchant_name=merchant,
                  purchase_date=(MONDAY - timedelta(days=days_ago)).date())
    assert (ticket.return_entitled, ticket.return_rule) == (entitled, rule)


def test_a_merchant_with_an_account_is_told_of_a_return_right(session):
    from bot.staff import create_staff

    merchant_staff = create_staff(session, username="jinying", bureau="金鹰家电", role=Role.MERCHANT,
                                  password="long-enough-1")
    file(session, sector="general_goods", merchant_name="金鹰家电", purchase_date=(MONDAY - timedelta(days=2)).date())
    inbox = session.exec(select(Notification).where(Notification.staff_id == merchant_staff.id)).all()
    assert any("无理由退货" in n.body for n in inbox)


# -- the calendar inside dispatch -----------------------------------------------------------------------
def test_acceptance_deadline_across_national_day_and_its_make_up_saturday(session):
    ticket = file(session, now=datetime(2026, 9, 30, 15, 0, tzinfo=clock.SHANGHAI))
    due = deadline(session, ticket, DeadlineKind.ACCEPTANCE)
    # Oct 1-7 off; Oct 8, 9, 10 (make-up Saturday), 12, 13, 14, 15
    assert clock.local(due.due_at).date() == date(2026, 10, 15) and not due.provisional


def test_a_deadline_in_2027_is_provisional_and_an_admin_holiday_fixes_it(session):
    ticket = file(session, now=datetime(2026, 12, 29, 10, 0, tzinfo=clock.SHANGHAI))
    due = deadline(session, ticket, DeadlineKind.ACCEPTANCE)
    assert clock.local(due.due_at).date() == date(2027, 1, 8) and due.provisional
    session.add(Holiday(day=date(2027, 1, 4), workday=False, name="元旦调休（假设）"))
    session.flush()
    later = file(session, now=datetime(2026, 12, 29, 10, 0, tzinfo=clock.SHANGHAI))
    due = deadline(session, later, DeadlineKind.ACCEPTANCE)
    assert clock.local(due.due_at).date() == date(2027, 1, 11) and not due.provisional


# -- the audit trail -----------------------------------------------------------------------------------------
def test_every_decision_is_in_the_trail_with_its_rule(session):
    ticket = file(session, merchant_name="明视眼镜", sector="general_goods", town_code="330483107",
                  amount=Decimal("600"), online=False, purchase_date=(MONDAY - timedelta(days=1)).date())
    trail = {e.action: e for e in events(session, ticket)}
    assert trail["submitted"].rule == "SAMR Art. 9"
    assert trail["merchant_matched"].rule.startswith("merchant:")
    assert trail["return_entitled"].rule == "no_reason_return:offline_pledge_15_days"
    assert trail["compensation_claim_opened"].rule == "先行赔付:within cap"
    assert trail["direct_settlement_started"].rule == "direct_settlement:registered ODR unit"
    assert all(e.at is not None and e.actor_kind for e in trail.values())


def test_staff_of_the_receiving_bureau_get_it_in_their_inbox(session):
    from bot.staff import create_staff

    handler = create_staff(session, username="samr1", bureau="市场监管局", role=Role.HANDLER, password="long-enough-1")
    handler.wechat_openid = "o-staff-samr1"
    ticket = file(session)
    inbox = session.exec(select(Notification).where(Notification.staff_id == handler.id)).all()
    channels = sorted(n.channel for n in inbox)
    assert channels == ["console", "template"] and all(ticket.number in n.title for n in inbox)


def test_replay_commands_report_turns_and_routes_and_leave_nothing(app_factory, model_path, db):
    runner = app_factory(fangxin_model_path=str(model_path)).test_cli_runner()
    records = ROOT / "training_data" / "test_frozen.jsonl"
    sample = records.read_text(encoding="utf-8").splitlines()[::20]
    path = ROOT / ".pytest_cache" / "replay_sample.jsonl"
    path.parent.mkdir(exist_ok=True)
    path.write_text("\n".join(sample) + "\n", encoding="utf-8")
    turns = runner.invoke(args=["replay", "turns", "--file", str(path)])
    assert turns.exit_code == 0, turns.output
    assert "median turns" in turns.output
    routes = runner.invoke(args=["replay", "dispatch", "--file", str(path)])
    assert routes.exit_code == 0 and "市场监管局" in routes.output and "not complaints" in routes.output
    with db.session() as session:
        assert session.exec(select(Ticket)).all() == []

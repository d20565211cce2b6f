"""The consumer dialogue, driven through the real /wechat endpoint with WeChat XML."""
from __future__ import annotations

import io
import re
import threading
import time
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.core import clock
from bot.core.config import ROOT
from bot.dispatch.merchants import import_merchants
from models import Attachment, Consumer, Conversation, Notification, Ticket, TicketEvent, TicketStatus
from tests.wechat_user import WeChatUser

LONG = ("上周三在乌镇老街饭店吃饭，结账时被多收了两百块，服务员态度还很差，要求退款。"
        "我的电话13812345678")


@pytest.fixture
def merchants(db):
    with db.session() as session:
        text = (ROOT / "reference_data" / "merchants_sample.csv").read_text(encoding="utf-8")
        report = import_merchants(session, io.StringIO(text, newline=""))
        assert not report.errors
    return report


def tickets_of(db, openid: str) -> list[Ticket]:
    with db.session() as session:
        consumer = session.exec(select(Consumer).where(Consumer.openid == openid)).first()
        if consumer is None:
            return []
        return list(session.exec(select(Ticket).where(Ticket.consumer_id == consumer.id).order_by(Ticket.id)))


def number_in(text: str) -> str:
    match = re.search(r"TX\d{8}-\d{4}", text)
    assert match, text
    return match.group(0)


def test_subscribe_welcomes_and_keeps_the_scene(user, db):
    reply = user.event("subscribe", EventKey="qrscene_merchant42")
    assert "投诉" in reply.content and "查询" in reply.content
    with db.session() as session:
        consumer = session.exec(select(Consumer).where(Consumer.openid == user.openid)).one()
        assert consumer.subscribe_scene == "merchant42" and consumer.subscribed


def test_a_complete_complaint_needs_only_one_confirmation(user, db):
    summary = user.text(LONG).content
    assert "请核对" in summary and "确认" in summary
    for expected in ("餐饮", "市场监管局", "老街饭店", "乌镇镇", "200元", "退款", "138****5678"):
        assert expected in summary, expected
    submitted = user.text("确认").content
    number = number_in(submitted)
    assert "市场监管局" in submitted and "前告知" in submitted
    [ticket] = tickets_of(db, user.openid)
    assert ticket.number == number and ticket.status == TicketStatus.DISPATCHED
    assert ticket.sector_key == "catering" and ticket.town_code == "330483100"
    assert float(ticket.amount) == 200 and ticket.phone == "13812345678" and ticket.demand == "refund"
    assert ticket.purchase_date is not None and ticket.purchase_date.weekday() == 2  # 上周三


def test_a_terse_complaint_is_asked_every_question_one_at_a_time(user, db):
    replies = [user.text("专卖店买的羽绒服跑绒严重，店家不给退").content]
    answers = ["云朵服饰店", "高桥", "11月20号", "899", "1", "13900001111"]
    for answer in answers:
        replies.append(user.text(answer).content)
    assert "哪家商家" in replies[0]
    assert "哪个镇" in replies[1]
    assert "什么时候" in replies[2]
    assert "金额" in replies[3]
    assert "怎么解决" in replies[4]
    assert "手机号" in replies[5] and "仅用于处理本次投诉" in replies[5]
    assert "请核对" in replies[6] and "899元" in replies[6]
    number = number_in(user.text("确认").content)
    [ticket] = tickets_of(db, user.openid)
    assert ticket.number == number and ticket.sector_key == "general_goods"
    assert ticket.merchant_name == "云朵服饰店" and ticket.town_code == "330483004"


def test_an_online_purchase_is_not_asked_where(user, db):
    user.text("网上买的羽绒服是假货，商家不给退")
    assert "什么时候" in user.text("云朵服饰旗舰店").content


def test_a_required_question_cannot_be_skipped(user):
    user.text("网上买的羽绒服是假货，商家不给退")
    reply = user.text("跳过").content
    assert "第九条" in reply and "哪家商家" in reply


def test_change_of_mind_at_the_summary(user, db):
    user.text(LONG)
    menu = user.text("修改").content
    assert "要修改哪一项" in menu
    amount_item = next(line.split(".")[0] for line in menu.splitlines() if "金额" in line)
    assert "金额" in user.text(amount_item).content
    summary = user.text("两千八").content
    assert "2800元" in summary and "请核对" in summary
    user.text("确认")
    [ticket] = tickets_of(db, user.openid)
    assert float(ticket.amount) == 2800


def test_a_voice_message_is_a_complaint_like_text(user, db):
    reply = user.voice("那个就是我在濮院的羊毛衫市场买的毛衣洗了一次就缩水了老板不给退钱一共三百八").content
    # taken as a complaint (a market-stall sweater may be a shop's or a factory's: the bot may ask which)
    assert reply.startswith("收到") and ("方面的投诉" in reply or "属于哪一类" in reply)
    with db.session() as session:
        consumer = session.exec(select(Consumer).where(Consumer.openid == user.openid)).one()
        draft = session.exec(select(Conversation).where(Conversation.consumer_id == consumer.id)).one().data["draft"]
    assert draft["town"] == "濮院镇" and draft["amount"] == 380 and draft["demand"] == "refund"
    silent = user.voice(None).content
    assert "没能听清" in silent


def test_a_shared_location_answers_the_town_question(user, db):
    user.text("专卖店买的羽绒服跑绒严重，店家不给退")
    user.text("云朵服饰店")
    reply = user.location(30.7465, 120.4881, "浙江省嘉兴市桐乡市乌镇镇子夜路")
    assert "已记录位置：乌镇镇" in reply.content and "什么时候" in reply.content
    with db.session() as session:
        consumer = session.exec(select(Consumer).where(Consumer.openid == user.openid)).one()
        draft = session.exec(select(Conversation).where(Conversation.consumer_id == consumer.id)).one().data["draft"]
    assert draft["town_code"] == "330483100"


def test_a_location_outside_the_city_is_said_so(user):
    user.text("专卖店买的羽绒服跑绒严重，店家不给退")
    user.text("云朵服饰店")
    reply = user.location(39.9042, 116.4074, "北京市东城区")
    assert "不在桐乡市" in reply.content


def test_two_messages_at_the_same_instant_are_both_kept(bot_app, db):
    user = WeChatUser(bot_app.test_client())
    user.text("网上买的羽绒服是假货，商家不给退")
    results = {}

    def send(name, text):
        results[name] = WeChatUser(bot_app.test_client(), openid=user.openid).text(text)

    threads = [threading.Thread(target=send, args=("merchant", "云朵服饰旗舰店")),
               threading.Thread(target=send, args=("skip", "跳过"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.status == 200 and r.content for r in results.values())
    with db.session() as session:
        consumer = session.exec(select(Consumer).where(Consumer.openid == user.openid)).one()
        conversation = session.exec(select(Conversation).where(Conversation.consumer_id == consumer.id)).one()
        from models import InboundMessage

        stored = session.exec(select(InboundMessage).where(InboundMessage.openid == user.openid)).all()
    # in either order the merchant answer is kept: "跳过" is refused for the required merchant question,
    # or it skips the question after it; neither message is lost or overwritten
    draft = conversation.data["draft"]
    assert draft["merchant"] == "云朵服饰旗舰店"
    assert len(stored) == 3 and all(m.state == "answered" for m in stored)
    skip_reply = results["skip"].content
    assert ("第九条" in skip_reply) or (draft["skipped"] == ["purchase_date"])


def test_an_unsure_classification_offers_numbered_choices_and_other_goes_to_triage(user, db, classifier):
    vague = ["买的东西坏了找谁", "钱花了东西不行", "网上买的手机卡信号不好 店家不给退", "东西用了两天就坏了",
             "充的钱用不了了", "说好的不一样"]
    unsure = [t for t in vague if not classifier.predict(t).confident and classifier.predict(t).label != "none"]
    assert unsure, "none of these vague complaints leaves the model unsure any more: add one that does"
    text = unsure[0]
    reply = user.text(text).content
    assert "回复数字" in reply and "其他（由工作人员分拣）" in reply
    other = next(line.split(".")[0] for line in reply.splitlines() if "其他" in line)
    user.text(other)
    for answer in ("某某商行", "梧桐", "跳过", "跳过", "1", "13900002222"):
        user.text(answer)
    submitted = user.text("确认").content
    assert "1个工作日内分派" in submitted
    [ticket] = tickets_of(db, user.openid)
    assert ticket.status == TicketStatus.TRIAGE


def test_online_purchase_within_seven_days_shows_the_return_right(user, db):
    summary = user.text("昨天在拼多多买的蓝牙耳机，收到就是坏的，商家不给退货，花了199，电话13955556666").content
    assert "7日内可无理由退货" in summary
    user.text("确认")
    [ticket] = tickets_of(db, user.openid)
    assert ticket.return_entitled and ticket.return_rule == "online_7_days"


def test_advance_compensation_pledge_is_shown_and_claimed(user, db, merchants):
    summary = user.text("前天在明视眼镜配的眼镜，镜片有划痕，店里不给换，花了六百，要求换货，电话13955557777，崇福").content
    assert "先行赔付" in summary and "明视眼镜" in summary
    assert "15天无理由退货" in summary
    user.text("确认")
    [ticket] = tickets_of(db, user.openid)
    assert ticket.compensation_claim and ticket.return_entitled


def test_pictures_during_a_draft_become_evidence_of_the_ticket(user, db):
    user.text("网上买的羽绒服是假货，商家不给退")
    assert "作为证据" in user.image().content
    assert "作为证据" in user.video().content
    for answer in ("云朵服饰旗舰店", "跳过", "跳过", "跳过", "1", "13900001111"):
        user.text(answer)
    user.text("确认")
    [ticket] = tickets_of(db, user.openid)
    with db.session() as session:
        kinds = sorted(a.kind for a in session.exec(select(Attachment).where(Attachment.ticket_id == ticket.id)))
    assert kinds == ["image", "video"]


def test_query_supplement_and_withdraw(user, db):
    user.text(LONG)
    number = number_in(user.text("确认").content)
    listing = user.text("查询").content
    assert number in listing and "待受理" in listing
    detail = user.text(f"查询 {number}").content
    assert "提交投诉" in detail and "转交市场监管局" in detail and "决定是否受理" in detail
    assert "已补充" in user.text(f"补充 {number} 小票找到了，金额是218元").content
    assert "请发送" in user.text(f"补充 {number}").content
    assert "已补充" in user.image().content
    assert "确定要撤回" in user.text(f"撤回 {number}").content
    assert "继续办理" in user.text("不了").content
    assert "确定要撤回" in user.text(f"撤回 {number}").content
    assert "已撤回" in user.text("确认撤回").content
    [ticket] = tickets_of(db, user.openid)
    assert ticket.status == TicketStatus.WITHDRAWN
    with db.session() as session:
        actions = [e.action for e in session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))]
        attachments = session.exec(select(Attachment).where(Attachment.ticket_id == ticket.id)).all()
    assert actions.count("supplemented") == 2 and actions[-1] == "withdrawn" and len(attachments) == 1


def test_a_consumer_cannot_reach_another_consumers_ticket(bot_app, db):
    alice = WeChatUser(bot_app.test_client())
    bob = WeChatUser(bot_app.test_client())
    alice.text(LONG)
    number = number_in(alice.text("确认").content)
    for command in (f"查询 {number}", f"补充 {number} 我也要说", f"撤回 {number}"):
        reply = bob.text(command).content
        assert "没有找到" in reply and "老街饭店" not in reply, command
    # guessing neighbouring numbers finds nothing either
    day, seq = number.split("-")
    for guess in (f"{day}-{int(seq) + 1:04d}", f"{day}-0000", "TX20200101-0001"):
        assert "没有找到" in bob.text(f"查询 {guess}").content
    [ticket] = tickets_of(db, alice.openid)
    assert ticket.status == TicketStatus.DISPATCHED


def test_human_request_flags_the_conversation(user, db):
    assert "转人工" in user.text("人工").content
    with db.session() as session:
        consumer = session.exec(select(Consumer).where(Consumer.openid == user.openid)).one()
        assert session.exec(select(Conversation).where(Conversation.consumer_id == consumer.id)).one().needs_human


@pytest.mark.parametrize("text, expected", [
    ("你好", "描述"),
    ("请问七天无理由退货怎么算", "7日内"),
    ("谢谢你们", "不客气"),
    ("12315电话多少", "12315"),
])
def test_not_a_complaint_gets_an_answer_and_never_a_ticket(user, db, text, expected):
    reply = user.text(text).content
    assert expected in reply
    assert tickets_of(db, user.openid) == []


@pytest.mark.parametrize("text, expected", [
    ("前两天反映的那个驾校退费的事，有人管了没有", "查询"),
    ("厂里拖欠我三个月工资一万二，老板一直说下个月给", "12333"),
    ("隔壁邻居天天半夜拖椅子，说了好几次都不听", "调解"),
    ("转让：崇福镇临街奶茶店，设备齐全，接手就能营业，有意者私聊", "不发布广告"),
])
def test_a_non_complaint_is_pointed_to_where_it_belongs(user, db, text, expected):
    """A follow-up learns how to query, a wage dispute where labour disputes go; no ticket is opened."""
    reply = user.text(text).content
    assert expected in reply, reply
    assert "描述经过" in reply  # in case it was a complaint after all
    assert tickets_of(db, user.openid) == []


BORDERLINE = ["想问问驾校退费的事", "景区门票涨价了", "健身房那个卡的事", "快递那个事怎么说", "物业这样收费合理吗",
              "那家饭店的菜价是不是太离谱了"]


def _borderline(classifier) -> list[str]:
    found = [t for t in BORDERLINE if classifier.predict(t).maybe_complaint]
    assert found, "none of these reads as 'not a complaint, but maybe' any more: add one that does"
    return found


def test_a_borderline_non_complaint_is_asked_and_one_tap_makes_it_a_complaint(user, db, classifier):
    """A `none` reading with a sector at even odds is a question to the consumer, never a flat refusal."""
    text = _borderline(classifier)[0]
    reply = user.text(text).content
    assert "不太像消费投诉" in reply and "回复数字" in reply and "其他（由工作人员分拣）" in reply
    first = next(line for line in reply.splitlines() if line.startswith("1."))
    chosen = user.text("1").content
    assert "按「" in chosen and first.split(". ", 1)[1] in chosen
    assert "？" in chosen  # the dialogue goes on to the first missing fact


def test_saying_yes_to_is_this_a_complaint_asks_which_kind_and_keeps_the_pictures(user, db, classifier):
    text = _borderline(classifier)[0]
    user.image()  # a picture first, then the words
    assert "不太像消费投诉" in user.text(text).content
    which = user.text("是的").content
    assert "请问问题属于哪一类" in which and "回复数字" in which
    user.text("1")
    for answer in ("某某驾校", "梧桐", "跳过", "跳过", "1", "13900003333"):
        user.text(answer)
    assert "投诉已提交" in user.text("确认").content
    [ticket] = tickets_of(db, user.openid)
    assert ticket.description == text
    with db.session() as session:
        assert [a.kind for a in session.exec(select(Attachment).where(Attachment.ticket_id == ticket.id))] == ["image"]


ADVERTS = ["周末一日游 九十八一位 含车费门票", "驾校报名4280 随到随学", "办卡送！充五百送两百 洗剪吹随便做"]


def test_an_advert_confirmed_as_a_complaint_is_asked_for_the_sum_not_given_the_adverts_price(user, db, classifier):
    """A price in what reads most like an advert is an offer, not money paid: the bot asks what was paid."""
    found = [t for t in ADVERTS if classifier.predict(t).maybe_complaint and classifier.predict(t).kind == "ad"]
    assert found, "none of these reads as 'maybe a complaint, most like an advert' any more: add one that does"
    assert "不太像消费投诉" in user.text(found[0]).content
    user.text("是的")
    replies = [user.text("1").content]
    for answer in ("某某商家", "梧桐", "跳过"):
        if "涉及金额是多少" in replies[-1]:
            break
        replies.append(user.text(answer).content)
    assert "涉及金额是多少" in replies[-1], replies


GREETED_STORIES = ["你好，我们合作社在一家种业公司订了水稻种子，发芽率只有六成，公司一直拖着不赔",
                   "你好 快递那个事怎么说 件丢了一个礼拜了 快递点一直说在找",
                   "你好 那个健身房的卡的事 老板换了新老板不认 我卡里还有两千多 怎么办"]


def test_a_story_that_opens_with_a_greeting_is_asked_about_not_greeted(user, db, classifier):
    """你好 before a story the classifier gives even odds: the consumer is asked, not told to describe it again."""
    found = [t for t in GREETED_STORIES if classifier.predict(t).maybe_complaint]
    assert found, "none of these reads as 'not a complaint, but maybe' any more: add one that does"
    reply = user.text(found[0]).content
    assert "不太像消费投诉" in reply and "回复数字" in reply, reply
    assert "请直接描述您遇到的消费问题" not in reply


@pytest.mark.parametrize("text", ["我要投诉", "投诉", "举报"])
def test_a_bare_wish_to_complain_is_asked_for_the_story(user, db, text):
    assert "请直接描述经过" in user.text(text).content
    assert tickets_of(db, user.openid) == []


def test_a_borderline_non_complaint_left_unanswered_is_dropped(user, db, classifier):
    text = _borderline(classifier)[-1]
    assert "不太像消费投诉" in user.text(text).content
    user.image()
    reply = user.text("你好").content  # not a choice: a new message, answered as such
    assert "描述" in reply and "请回复列表中的数字" not in reply
    with db.session() as session:
        conversation = session.exec(select(Conversation)).one()
        assert len(conversation.data.get("pending_attachments", [])) == 1  # kept for the next complaint
    assert "当前没有正在填写的投诉" in user.text("取消").content
    assert tickets_of(db, user.openid) == []


def test_an_idle_draft_asks_to_continue_or_restart(user, db):
    user.text("网上买的羽绒服是假货，商家不给退")
    later = clock.now() + timedelta(minutes=31)
    with clock.frozen(later):
        reply = user.text("云朵服饰旗舰店").content
        assert "未填完的投诉" in reply and "继续" in reply
        assert "哪家商家" in user.text("继续").content
    with clock.frozen(later + timedelta(minutes=40)):
        user.text("随便说点")
        assert "已放弃" in user.text("重新开始").content


def test_satisfaction_after_resolution_and_one_reopening(user, db, bot_app):
    from bot.dispatch import first_contact, mediation
    from bot.dispatch.audit import Actor
    from bot.dispatch.calendar import load_calendar

    user.text(LONG)
    number = number_in(user.text("确认").content)

    def resolve():
        with db.session() as session:
            ticket = session.exec(select(Ticket).where(Ticket.number == number)).one()
            staff = Actor(kind="staff", bureau_id=ticket.handler_bureau_id, name="test")
            if ticket.status == TicketStatus.DISPATCHED:
                first_contact.accept(session, ticket, staff, load_calendar(session))
            mediation.record_outcome(session, ticket, staff, "refund", load_calendar(session), note="退200元")

    resolve()
    reopened = user.text("不满意").content
    assert "重新打开" in reopened and "督办" in reopened
    resolve()
    assert "已结案" in user.text("不满意").content
    [ticket] = tickets_of(db, user.openid)
    assert ticket.status == TicketStatus.CLOSED and ticket.rating == "unsatisfied" and ticket.reopened


def deliver_all(outbox, db, timeout: float = 10) -> None:
    """Deliver what waits, and let a delivery the endpoint's pool already claimed ("sending") finish first."""
    deadline = time.monotonic() + timeout
    while True:
        outbox.deliver_pending()
        with db.session() as session:
            busy = session.exec(select(Notification.id).where(
                Notification.status.in_(["pending", "sending"]), Notification.channel != "console")).first()
        if busy is None or time.monotonic() > deadline:
            return
        time.sleep(0.05)


def test_staff_status_changes_reach_the_consumer(user, db, fake_wechat, bot_app):
    from bot.dispatch import first_contact
    from bot.dispatch.audit import Actor
    from bot.dispatch.calendar import load_calendar

    user.text(LONG)
    number = number_in(user.text("确认").content)
    with db.session() as session:
        ticket = session.exec(select(Ticket).where(Ticket.number == number)).one()
        first_contact.accept(session, ticket, Actor(kind="staff", bureau_id=ticket.handler_bureau_id),
                             load_calendar(session))
    outbox = bot_app.extensions["wechat_endpoint"].outbox
    deliver_all(outbox, db)  # the reply to 确认 may still be delivering in the background
    texts_sent = [m["text"]["content"] for m in fake_wechat.sent("custom", user.openid)]
    assert any("已被市场监管局受理" in t for t in texts_sent), texts_sent
    # two days later the 48-hour window has closed: a template message instead
    with db.session() as session:
        consumer = session.exec(select(Consumer).where(Consumer.openid == user.openid)).one()
        consumer.last_inbound_at = clock.now() - timedelta(hours=49)
        ticket = session.exec(select(Ticket).where(Ticket.number == number)).one()
        from bot.dispatch import mediation

        mediation.reply_to_consumer(session, ticket, Actor(kind="staff", bureau_id=ticket.handler_bureau_id),
                                    "已联系商家，周五前退款")
    deliver_all(outbox, db)
    templates = fake_wechat.sent("template", user.openid)
    assert templates and "周五前退款" in templates[-1]["data"]["remark"]["value"]
    with db.session() as session:
        channels = {n.channel for n in session.exec(select(Notification).where(Notification.consumer_id.is_not(None)))}
    assert {"customer_service", "template"} <= channels


def test_unknown_message_types_are_answered_politely(user):
    reply = user.post_xml("<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>"
                          "<CreateTime>1</CreateTime><MsgType><![CDATA[miniprogrampage]]></MsgType>"
                          "<MsgId>99887766</MsgId></xml>" % user.openid)
    assert reply.status == 200 and "暂时无法处理" in reply.content

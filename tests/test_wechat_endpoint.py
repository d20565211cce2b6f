"""The /wechat endpoint: WeChat's protocol in all three modes, retries, hostile input."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func
from sqlmodel import select

from bot.wechat.signature import sha1_signature
from models import Consumer, InboundMessage
from tests.wechat_user import AES_KEY, TOKEN, WeChatUser, message_xml

MODES = ["plaintext", "compatible", "safe"]


@pytest.fixture(params=MODES)
def mode(request):
    return request.param


@pytest.fixture
def mode_app(app_factory, model_path, fake_wechat, mode):
    aes = {} if mode == "plaintext" else {"wechat_encoding_aes_key": AES_KEY, "wechat_message_mode": mode}
    return app_factory(fangxin_model_path=str(model_path), wechat_api_base=fake_wechat.base_url,
                       wechat_template_consumer="TPL", **aes)


@pytest.fixture
def phone(mode_app, mode):
    return WeChatUser(mode_app.test_client(), mode=mode)


def count(db, model) -> int:
    with db.session() as session:
        return session.exec(select(func.count()).select_from(model)).one()


# -- URL verification --------------------------------------------------------
def test_url_verification_echoes(client):
    query = {"timestamp": "1409735669", "nonce": "1320562132", "echostr": "4385938495893"}
    query["signature"] = sha1_signature(TOKEN, query["timestamp"], query["nonce"])
    response = client.get("/wechat", query_string=query)
    assert response.status_code == 200 and response.get_data(as_text=True) == "4385938495893"


def test_url_verification_with_a_wrong_signature_is_403_and_empty(client):
    response = client.get("/wechat", query_string={"timestamp": "1", "nonce": "2", "echostr": "x",
                                                   "signature": "0" * 40})
    assert response.status_code == 403 and response.get_data() == b""


# -- every message and event type, in every mode --------------------------------------
def test_text_in_every_mode(phone, mode):
    reply = phone.text("你好")
    assert reply.status == 200 and reply.content
    assert reply.fields["ToUserName"] == phone.openid
    if mode != "plaintext":
        assert "<Encrypt>" in reply.raw and "<MsgSignature>" in reply.raw


@pytest.mark.parametrize("send, expect", [
    (lambda p: p.image(), "图片"),
    (lambda p: p.voice("帮助"), "查询"),
    (lambda p: p.video(), "视频"),
    (lambda p: p.video(short=True), "视频"),
    (lambda p: p.location(30.633, 120.565, "浙江省嘉兴市桐乡市梧桐街道"), "梧桐街道"),
    (lambda p: p.link("一篇文章", "关于七天无理由退货", "https://example.org/a"), "7日内"),
    (lambda p: p.event("subscribe", EventKey="qrscene_7"), "投诉"),
    (lambda p: p.event("SCAN", EventKey="7", Ticket="t"), "欢迎回来"),
    (lambda p: p.event("CLICK", EventKey="HELP"), "查询"),
    (lambda p: p.event("CLICK", EventKey="QUERY"), "还没有提交过投诉"),
])
def test_message_and_event_types_with_a_reply(phone, send, expect):
    reply = send(phone)
    assert reply.status == 200 and expect in (reply.content or ""), reply.content


@pytest.mark.parametrize("send", [
    lambda p: p.event("unsubscribe"),
    lambda p: p.event("LOCATION", Latitude="30.74", Longitude="120.49", Precision="30"),
    lambda p: p.event("VIEW", EventKey="https://example.org"),
    lambda p: p.event("TEMPLATESENDJOBFINISH", MsgID="1000", Status="failed:user block"),
])
def test_events_that_need_no_reply_get_success(phone, send):
    reply = send(phone)
    assert reply.status == 200 and reply.raw == "success"


def test_an_unknown_type_is_answered_politely_in_every_mode(phone):
    reply = phone.post_xml(message_xml(phone.openid, "hologram", {"Payload": "x"}))
    assert reply.status == 200 and "暂时无法处理" in reply.content


def test_unsubscribe_marks_the_consumer(phone, db):
    phone.event("subscribe")
    phone.event("unsubscribe")
    with db.session() as session:
        assert not session.exec(select(Consumer).where(Consumer.openid == phone.openid)).one().subscribed


# -- modes -------------------------------------------------------------------------------
def test_safe_mode_refuses_a_plaintext_body(app_factory, model_path, db):
    app = app_factory(fangxin_model_path=str(model_path), wechat_encoding_aes_key=AES_KEY, wechat_message_mode="safe")
    plain = WeChatUser(app.test_client(), mode="plaintext")
    reply = plain.text("你好")
    assert reply.status == 403 and count(db, InboundMessage) == 0


def test_compatible_mode_also_accepts_plaintext(app_factory, model_path):
    app = app_factory(fangxin_model_path=str(model_path), wechat_encoding_aes_key=AES_KEY,
                      wechat_message_mode="compatible")
    assert WeChatUser(app.test_client(), mode="plaintext").text("你好").status == 200


def test_encrypted_message_without_a_configured_key_is_400(client):
    assert WeChatUser(client, mode="safe").text("你好").status == 400


def test_a_body_encrypted_for_another_appid_is_refused(app_factory, model_path, db):
    from bot.wechat.crypto import MessageCrypto

    app = app_factory(fangxin_model_path=str(model_path), wechat_encoding_aes_key=AES_KEY, wechat_message_mode="safe")
    impostor = WeChatUser(app.test_client(), mode="safe", crypto=MessageCrypto(TOKEN, AES_KEY, "wxNOTOURAPP00000"))
    assert impostor.text("你好").status == 400
    assert count(db, InboundMessage) == 0


# -- forged and replayed requests ------------------------------------------------------------
def test_a_forged_signature_creates_nothing(client, db):
    forger = WeChatUser(client, token="not-the-token")
    for send in (lambda: forger.text("乌镇老街饭店多收我两百块，要求退款，13812345678"), lambda: forger.event("subscribe")):
        assert send().status == 403
    assert count(db, InboundMessage) == 0 and count(db, Consumer) == 0


def test_a_stale_timestamp_is_refused(client, db):
    user = WeChatUser(client)
    reply = user.post_xml(message_xml(user.openid, "text", {"Content": "你好"}), timestamp=int(time.time()) - 301)
    assert reply.status == 403 and count(db, InboundMessage) == 0


# -- hostile XML -------------------------------------------------------------------------------
XXE = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       '<xml><ToUserName>a</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>'
       '<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>')
LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
          + ']><xml><ToUserName>a</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>'
          '<MsgType>text</MsgType><Content>&lol9;</Content><MsgId>2</MsgId></xml>')


@pytest.mark.parametrize("body", [XXE, LAUGHS, "<xml><unclosed>", "not xml at all", "<notxml/>", ""])
def test_hostile_or_malformed_xml_is_a_clear_400(client, db, body):
    user = WeChatUser(client)
    reply = user.post_xml(body)
    assert reply.status == 400
    assert count(db, InboundMessage) == 0


def test_an_oversized_body_is_413_without_reading_it(client, db):
    user = WeChatUser(client)
    reply = user.post_xml("<xml>" + "a" * (200 * 1024) + "</xml>")
    assert reply.status == 413 and count(db, InboundMessage) == 0


# -- retries, budget, long replies --------------------------------------------------------------
def test_a_retry_gets_the_same_reply_and_is_processed_once(user, db):
    xml = message_xml(user.openid, "text", {"Content": "上周三在乌镇老街饭店吃饭，被多收了两百块，要求退款，电话13812345678"},
                      msg_id=777000111)
    first = user.post_xml(xml)
    retries = [user.post_xml(xml) for _ in range(3)]
    assert all(r.raw == first.raw for r in retries)
    assert count(db, InboundMessage) == 1


def test_a_reply_over_the_time_budget_is_success_now_and_a_message_later(app_factory, model_path, fake_wechat, db):
    app = app_factory(fangxin_model_path=str(model_path), wechat_api_base=fake_wechat.base_url,
                      wechat_reply_budget="0.0001")
    user = WeChatUser(app.test_client())
    reply = user.text("帮助")
    assert reply.raw == "success"
    deadline = time.time() + 10
    while time.time() < deadline and not fake_wechat.sent("custom", user.openid):
        time.sleep(0.05)
    [sent] = fake_wechat.sent("custom", user.openid)
    assert "查询" in sent["text"]["content"]
    with db.session() as session:
        assert session.exec(select(InboundMessage)).one().state == "deferred"
    # WeChat's retry after a deferred answer must not show the answer twice
    again = user.post_xml(message_xml(user.openid, "text", {"Content": "帮助"},
                                      msg_id=int(session.exec(select(InboundMessage)).one().dedup_key.split(":")[1])))
    assert again.raw == "success"


def test_a_reply_over_2048_bytes_is_split_and_the_rest_sent_by_customer_service(user, fake_wechat, db):
    rant = "昨天" + ("我在乌镇老街饭店吃饭被多收了两百块钱，服务员态度很差，老板还骂人，" * 30) + "要求退款，电话13812345678"
    reply = user.text(rant)
    assert len(reply.content.encode("utf-8")) <= 2048 and "请核对" in reply.content
    deadline = time.time() + 10
    while time.time() < deadline and not fake_wechat.sent("custom", user.openid):
        time.sleep(0.05)
    rest = [m["text"]["content"] for m in fake_wechat.sent("custom", user.openid)]
    assert rest and "确认" in rest[-1]
    assert all(len(part.encode("utf-8")) <= 2048 for part in rest)

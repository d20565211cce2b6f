"""The outbound client against the local fake of WeChat's API servers (real HTTP on 127.0.0.1)."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.core import clock
from bot.wechat.client import WeChatAPIError, WeChatClient
from bot.wechat.fake_api import FakeWeChatAPI
from bot.wechat.outbound import Outbox
from models import AccessToken, Consumer, Notification

APPID, SECRET = "wx0000000000000001", "test-app-secret"


@pytest.fixture
def fake():
    api = FakeWeChatAPI(APPID, SECRET).start()
    yield api
    api.stop()


@pytest.fixture
def client(fake, db):
    return WeChatClient(base_url=fake.base_url, appid=APPID, secret=SECRET, db=db)


def test_token_is_fetched_once_and_shared_through_the_database(fake, db, client):
    other_worker = WeChatClient(base_url=fake.base_url, appid=APPID, secret=SECRET, db=db)
    results = []
    threads = [threading.Thread(target=lambda c=c: results.append(c.access_token()))
               for c in (client, other_worker) * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1
    assert fake.state.token_requests == 1
    with db.session() as session:
        row = session.get(AccessToken, APPID)
        assert row.token == results[0] and row.expires_at > clock.now() + timedelta(hours=1)


def test_token_is_refreshed_before_it_expires(fake, db, client):
    first = client.access_token()
    with db.session() as session:
        row = session.get(AccessToken, APPID)
        row.expires_at = clock.now() + timedelta(minutes=2)  # inside the refresh margin
    assert client.access_token() == first  # stable_token without force returns the still-valid token
    assert fake.state.token_requests == 2


@pytest.mark.parametrize("errcode", [40001, 42001])
def test_a_refused_token_is_refreshed_once_and_the_call_retried(fake, client, errcode):
    client.access_token()
    fake.state.failures.append(errcode)
    client.send_text("openid-1", "您好")
    assert [m["text"]["content"] for m in fake.sent("custom")] == ["您好"]


def test_retry_is_bounded(fake, client):
    fake.state.failures.extend([40001, 40001, 40001])
    with pytest.raises(WeChatAPIError) as info:
        client.send_text("openid-1", "您好")
    assert info.value.errcode == 40001
    assert fake.sent("custom") == []


def test_expired_token_on_the_server_is_recovered(fake, client):
    client.access_token()
    fake.state.tokens = {t: 0 for t in fake.state.tokens}  # WeChat expired it early
    client.send_text("openid-1", "第二条")
    assert fake.sent("custom")[-1]["text"]["content"] == "第二条"


def test_template_message_carries_client_msg_id_and_is_not_repeated(fake, client):
    first = client.send_template("openid-1", "TPL", {"first": "进展"}, client_msg_id="ticket-1-status-2")
    second = client.send_template("openid-1", "TPL", {"first": "进展"}, client_msg_id="ticket-1-status-2")
    assert first["msgid"] == second["msgid"]
    assert len(fake.sent("template")) == 1


def test_unreachable_api_times_out_quickly(db):
    client = WeChatClient(base_url="http://127.0.0.1:9", appid=APPID, secret=SECRET, db=db, timeout=(0.5, 0.5))
    import requests

    with pytest.raises(requests.RequestException):
        client.access_token()


def _consumer(db, last_inbound_hours_ago: float | None) -> int:
    with db.session() as session:
        consumer = Consumer(openid=f"o-{last_inbound_hours_ago}", created_at=clock.now(),
                            last_inbound_at=None if last_inbound_hours_ago is None
                            else clock.now() - timedelta(hours=last_inbound_hours_ago))
        session.add(consumer)
        session.flush()
        return consumer.id


def test_inside_48_hours_a_customer_service_message_is_sent_once(fake, db, client):
    consumer_id = _consumer(db, 47)
    messenger = Outbox(db=db, client=client, consumer_template="TPL")
    note = messenger.send_to_consumer(consumer_id, "您的投诉已受理", kind="status", dedup_key="t1:accepted")
    again = messenger.send_to_consumer(consumer_id, "您的投诉已受理", kind="status", dedup_key="t1:accepted")
    assert note.channel == "customer_service" and note.status == "sent" and again.id == note.id
    assert len(fake.sent("custom")) == 1 and fake.sent("template") == []


def test_outside_48_hours_a_template_message_is_used_and_recorded(fake, db, client):
    consumer_id = _consumer(db, 49)
    messenger = Outbox(db=db, client=client, consumer_template="TPL")
    note = messenger.send_to_consumer(consumer_id, "您的投诉已办结", kind="status", dedup_key="t1:resolved")
    assert note.channel == "template" and note.status == "sent"
    assert "48-hour" in note.error
    assert fake.sent("custom") == [] and len(fake.sent("template")) == 1


def test_wechat_saying_out_of_window_falls_back_to_the_template(fake, db, client):
    consumer_id = _consumer(db, 1)
    with db.session() as session:
        openid = session.get(Consumer, consumer_id).openid
    fake.state.out_of_window.add(openid)
    note = Outbox(db=db, client=client, consumer_template="TPL").send_to_consumer(
        consumer_id, "进展", kind="status", dedup_key="t2:x")
    assert note.channel == "template" and "45015" in note.error


def test_without_a_template_the_console_inbox_keeps_it(fake, db, client):
    consumer_id = _consumer(db, None)
    note = Outbox(db=db, client=client, consumer_template=None).send_to_consumer(
        consumer_id, "进展", kind="status", dedup_key="t3:x")
    assert note.channel == "console" and note.status == "pending"
    with db.session() as session:
        stored = session.exec(select(Notification).where(Notification.dedup_key == "t3:x")).one()
        assert stored.body == "进展"
    assert fake.sent() == []

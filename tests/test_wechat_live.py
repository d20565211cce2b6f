"""WeChat's retries against a live multi-worker server: one ticket, identical replies."""
from __future__ import annotations

import threading

import pytest
from sqlmodel import select

from models import InboundMessage, Ticket
from tests.conftest import TEST_SETTINGS
from tests.live_server import LiveServer, RequestsAdapter
from tests.wechat_user import WeChatUser, message_xml

pytestmark = pytest.mark.slow


@pytest.fixture
def live(db_url, model_path, fake_wechat, tmp_path):
    env = {"DATABASE_URL": db_url, "FANGXIN_INSTANCE": str(tmp_path / "instance"),
           "SECRET_KEY": TEST_SETTINGS["secret_key"], "WECHAT_TOKEN": TEST_SETTINGS["wechat_token"],
           "WECHAT_APPID": TEST_SETTINGS["wechat_appid"], "WECHAT_APPSECRET": TEST_SETTINGS["wechat_appsecret"],
           "WECHAT_API_BASE": fake_wechat.base_url, "FANGXIN_MODEL_PATH": str(model_path),
           "WECHAT_ENCODING_AES_KEY": "", "FANGXIN_ENV": "production"}
    server = LiveServer(env, workers=3, log_path=tmp_path / "gunicorn.log")
    yield server
    server.stop()


def test_four_concurrent_deliveries_make_one_ticket_and_four_identical_replies(live, db):
    user = WeChatUser(RequestsAdapter(live.url))
    summary = user.text("上周三在乌镇老街饭店吃饭，被多收了两百块，要求退款，电话13812345678")
    assert "请核对" in summary.content
    confirm = message_xml(user.openid, "text", {"Content": "确认"}, msg_id=990011223344)
    replies = []
    barrier = threading.Barrier(4)

    def deliver():
        sender = WeChatUser(RequestsAdapter(live.url), openid=user.openid)
        barrier.wait()
        replies.append(sender.post_xml(confirm))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status for r in replies] == [200] * 4
    assert len({r.raw for r in replies}) == 1, [r.raw for r in replies]
    assert "投诉已提交" in replies[0].content
    with db.session() as session:
        tickets = session.exec(select(Ticket)).all()
        inbound = session.exec(select(InboundMessage).where(InboundMessage.dedup_key == "msg:990011223344")).all()
    assert len(tickets) == 1 and tickets[0].number in replies[0].content
    assert len(inbound) == 1 and inbound[0].ticket_id == tickets[0].id

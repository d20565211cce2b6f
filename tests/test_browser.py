"""The console and the consumer simulator in a real browser (headless Chromium through Playwright).

Each browser test runs a live gunicorn in development mode on its own
database, with WeChat's API faked locally. Without /usr/bin/chromium the
browser tests skip (FANGXIN_REQUIRE_BROWSER=1 turns that into a failure);
the plain tests at the end need no browser.
"""
from __future__ import annotations

import hashlib
import re
import struct
import warnings
import zlib
from decimal import Decimal

import pytest
from flask import url_for
from sqlmodel import select

from bot.wechat.signature import sha1_signature
from models import Attachment, Consumer, InboundMessage, Ticket, TicketEvent, TicketStatus
from tests.browser_util import (
    CHROMIUM,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    browser_missing,
    console_login,
    live_env,
    run_action,
    say,
    screenshot,
    skip_or_fail,
    ticket_number_in,
    wait_for_bot,
)
from tests.conftest import TEST_SETTINGS
from tests.console_util import ACCOUNTS, file_ticket, make_world
from tests.live_server import LiveServer

COMPLAINT = ("上周三在乌镇老街饭店吃饭，结账时被多收了两百块，服务员态度还很差，要求退款。"
             "我的电话13812345678")


def _png(width: int = 24, height: int = 16) -> bytes:
    """A small real PNG (a receipt-coloured rectangle) for the file picker."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\xf5\xe6\xc8" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


# ---------------------------------------------------------------------------------------------
# fixtures
@pytest.fixture(scope="module")
def browser():
    reason = browser_missing()
    if reason:
        skip_or_fail(reason)
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def new_page(browser):
    """Pages in fresh browser contexts (own cookies and localStorage); any JavaScript error fails the test."""
    contexts, errors = [], []

    def make():
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, errors


@pytest.fixture
def live(browser, db, db_url, model_path, fake_wechat, tmp_path):
    """Staff of every role, then gunicorn (2 workers) in development mode on this test's database."""
    make_world(db)
    server = LiveServer(live_env(db_url, model_path, fake_wechat.base_url, tmp_path / "instance"), workers=2,
                        log_path=tmp_path / "gunicorn.log")
    yield server
    server.stop()


def _expected_landing(app, role: str) -> str:
    """Where /console/ sends each role; the dashboard and admin pages count only once they exist."""
    views = app.view_functions
    with app.test_request_context():
        if role == "admin":
            return url_for("console.admin_home" if "console.admin_home" in views else "console.inbox")
        if role == "city_office" and "console.dashboard" in views:
            return url_for("console.dashboard")
        return url_for("console.queue")


# ---------------------------------------------------------------------------------------------
# (a) every role signs in and lands where its work is
@pytest.mark.browser
@pytest.mark.slow
def test_each_role_signs_in_and_lands_on_its_page(live, new_page, app_factory):
    from playwright.sync_api import expect

    app = app_factory(fangxin_env="development")
    accounts = [(username, role) for username, _bureau, role in ACCOUNTS] + [("gym", "merchant"),
                                                                           ("glasses", "merchant")]
    landed = {}
    for username, role in accounts:
        page = new_page()
        console_login(page, live.url, username)
        path = page.url.removeprefix(live.url).split("?")[0]
        landed[username] = path
        assert path == _expected_landing(app, role), (username, role, path)
        assert page.request.get(page.url).status == 200, (username, path)
        expect(page.locator("header .who")).to_have_text(username)
        expect(page.get_by_role("button", name="退出")).to_be_visible()
        queue_link = page.locator("header nav").get_by_role("link", name="工单", exact=True)
        if role == "admin":
            expect(queue_link).to_have_count(0)
        else:
            expect(queue_link).to_have_count(1)
        if path == "/console/tickets":
            expect(page.locator("h1")).to_contain_text("工单")
        elif path == "/console/inbox":
            expect(page.locator("h1")).to_contain_text("消息")
        elif path == "/console/dashboard":
            expect(page.locator("h1")).to_contain_text("统计")
    # and a wrong password lands nowhere
    page = new_page()
    page.goto(f"{live.url}/console/login")
    page.fill("#username", "samr_handler")
    page.fill("#password", "not-the-password")
    page.get_by_role("button", name="登录").click()
    expect(page.locator(".flash.error")).to_have_text("用户名或密码错误")
    assert page.url.startswith(f"{live.url}/console/login")
    print("landing pages:", landed)


# ---------------------------------------------------------------------------------------------
# (b) a handler takes a ticket from dispatch to resolution
@pytest.mark.browser
@pytest.mark.slow
def test_a_handler_works_a_ticket_from_dispatch_to_resolution(live, db, new_page, fake_wechat):
    from playwright.sync_api import expect

    ticket_id = file_ticket(db)
    with db.session() as s:
        number = s.get(Ticket, ticket_id).number
    page = new_page()
    console_login(page, live.url, "samr_handler")
    page.locator("#queue").get_by_role("link", name=number).click()
    expect(page).to_have_url(f"{live.url}/console/tickets/{ticket_id}")
    expect(page.locator("#phone")).to_have_text("13812345678")
    status = page.locator("h1 .badge").first
    expect(status).to_have_text("待受理")

    assert "已受理" in run_action(page, "accept")
    expect(status).to_have_text("调解中")
    # a wrong form is refused with a clear message and changes nothing
    assert "赔偿结果需要填写金额" in run_action(page, "record_outcome", {"outcome": "compensation"})
    expect(status).to_have_text("调解中")
    assert "已记录调解结果" in run_action(page, "record_outcome", {"outcome": "refund",
                                                                "note": "商家当面退还多收的200元"})
    expect(status).to_have_text("已办结待评价")
    expect(page.locator(".facts")).to_contain_text("商家当面退还多收的200元")

    # the timeline is the whole audit trail, in order, with who did what
    timeline = page.locator("#timeline li").all_inner_texts()
    with db.session() as s:
        events = s.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)).all()
        assert s.get(Ticket, ticket_id).status == TicketStatus.RESOLVED
    assert len(timeline) == len(events) >= 4
    from bot.console.views import EVENT_LABELS

    for item, event in zip(timeline, events):
        assert EVENT_LABELS.get(event.action, event.action) in item, (item, event.action)
    accepted, resolved = timeline[-2], timeline[-1]
    assert "samr_handler" in accepted and "待受理 → 调解中" in accepted
    assert "samr_handler" in resolved and "调解中 → 已办结待评价" in resolved
    assert not any("samr_handler" in item for item in timeline[:-2])
    screenshot(page, "ticket-resolved.png")
    # the consumer (never wrote to the account, so outside the 48-hour window) was told by template message
    told = fake_wechat.sent(openid="o-console-consumer")
    assert told and all(m["api"] == "template" for m in told)


# ---------------------------------------------------------------------------------------------
# (c) a consumer files a complaint in the simulator; it arrives in the handling bureau's queue
@pytest.mark.browser
@pytest.mark.slow
def test_a_complaint_filed_in_the_simulator_arrives_in_the_bureaus_queue(live, db, new_page, fake_wechat):
    from playwright.sync_api import expect

    phone = new_page()
    phone.goto(f"{live.url}/simulator")
    openid = phone.evaluate("localStorage.getItem('fangxin.sim.openid')")
    assert re.fullmatch(r"o[A-Za-z0-9_-]{27}", openid), openid
    expect(phone.locator("#openid")).to_have_text(openid)
    expect(phone.locator("#console-link")).to_have_attribute("href", "/console/")

    phone.click("#subscribe")
    assert "回复「查询」" in wait_for_bot(phone, "放心消费投诉服务")
    expect(phone.locator("#subscribe")).to_have_text("已关注")
    summary = say(phone, COMPLAINT, "请核对")
    for expected in ("餐饮", "市场监管局", "老街饭店", "乌镇镇", "200元", "退款"):
        assert expected in summary, expected
    phone.click("#more")
    phone.set_input_files("#image", files=[{"name": "receipt.png", "mimeType": "image/png", "buffer": _png()}])
    assert "已收到图片" in wait_for_bot(phone, "已收到图片")
    expect(phone.locator(".msg.me .bubble img")).to_have_count(1)
    submitted = say(phone, "确认", "投诉已提交")
    number = ticket_number_in(submitted)
    expect(phone.locator(".msg.bot a.ticket", has_text=number).first).to_have_attribute(
        "href", f"/console/tickets?q={number}")

    # what reached /wechat is what WeChat would have sent: signed, this openid, unique MsgIds
    with db.session() as s:
        inbound = s.exec(select(InboundMessage).where(InboundMessage.openid == openid)
                         .order_by(InboundMessage.id)).all()
        ticket = s.exec(select(Ticket).where(Ticket.number == number)).one()
        consumer = s.exec(select(Consumer).where(Consumer.openid == openid)).one()
        attachments = s.exec(select(Attachment).where(Attachment.ticket_id == ticket.id)).all()
    assert [m.msg_type for m in inbound] == ["event", "text", "image", "text"]
    keys = [m.dedup_key for m in inbound]
    assert len(set(keys)) == len(keys) and all(re.fullmatch(r"msg:\d{19}", k) for k in keys[1:]), keys
    assert all("<ToUserName><![CDATA[gh_fangxinsim001]]></ToUserName>" in m.raw_xml for m in inbound)
    assert consumer.subscribed and ticket.consumer_id == consumer.id
    assert ticket.status == TicketStatus.DISPATCHED and ticket.sector_key == "catering"
    assert [a.url.startswith("http://simulator.invalid/pic/") for a in attachments] == [True]

    # the page survives a reload: same consumer, same conversation
    # (polling may append a customer-service message meanwhile, never anywhere but at the end)
    # (the picture itself is not kept, only its name)
    before = phone.locator(".msg:not([data-kind=image])").all_inner_texts()
    phone.reload()
    assert phone.evaluate("localStorage.getItem('fangxin.sim.openid')") == openid
    expect(phone.locator(".msg[data-kind=image]")).to_contain_text("[图片] receipt.png")
    expect(phone.locator(".msg:not([data-kind=image])").nth(len(before) - 1)).to_be_visible()
    assert phone.locator(".msg:not([data-kind=image])").all_inner_texts()[:len(before)] == before

    # the handling bureau's handler sees it arrive in the queue
    console = new_page()
    console_login(console, live.url, "samr_handler")
    row = console.locator("#queue tbody tr", has_text=number)
    expect(row).to_contain_text("待受理")
    expect(row).to_contain_text("餐饮")
    expect(row).to_contain_text("乌镇镇")
    row.get_by_role("link", name=number).click()
    expect(console.locator(".bubble").first).to_contain_text("老街饭店")
    expect(console.get_by_role("link", name="查看")).to_have_attribute("href", attachments[0].url)
    screenshot(console, "ticket-from-simulator.png")
    # a bureau that is not a party does not
    other = new_page()
    console_login(other, live.url, "postal_handler")
    expect(other.locator("#queue")).not_to_contain_text(number)

    # the handler accepts; the consumer's phone shows the customer-service message that follows
    assert "已受理" in run_action(console, "accept")
    told = phone.locator(".msg.bot[data-channel='custom'] .bubble", has_text=f"{number} 已被市场监管局受理")
    expect(told).to_have_count(1, timeout=TIMEOUT_MS)
    expect(told).to_contain_text("客服消息")
    assert any(m["api"] == "custom" and number in m["text"]["content"] for m in fake_wechat.sent(openid=openid))
    screenshot(phone, "simulator.png")


# ---------------------------------------------------------------------------------------------
# the other things a consumer can do in the simulator
@pytest.mark.browser
@pytest.mark.slow
def test_simulator_menu_voice_location_and_identity(live, db, new_page):
    from playwright.sync_api import expect

    phone = new_page()
    phone.goto(f"{live.url}/simulator")
    # the signature the page computes is WeChat's, with SubtleCrypto and with the fallback
    for parts in (["fangxin-test-token", "1764000000", "123456"], ["令牌", "1", "nonce-ü"]):
        assert phone.evaluate("p => window.fangxinSimulator.signature(...p)", parts) == sha1_signature(*parts)
    for text in ("", "abc", "放心消费" * 300, "x" * 55, "y" * 64):
        expected = hashlib.sha1(text.encode()).hexdigest()
        assert phone.evaluate("t => window.fangxinSimulator.sha1Fallback(new TextEncoder().encode(t))", text) \
            == expected, len(text)

    phone.get_by_role("button", name="帮助").click()
    assert "可以这样使用" in wait_for_bot(phone, "可以这样使用")
    say(phone, "专卖店买的羽绒服跑绒严重，店家不给退", "哪家商家")
    phone.fill("#text", "云朵服饰店")
    phone.click("#more")
    phone.click("#send-voice")
    expect(phone.locator(".msg.me[data-kind='voice']")).to_contain_text("云朵服饰店")
    wait_for_bot(phone, "哪个镇")
    phone.click("#more")
    phone.click("#open-location")
    phone.select_option("#town", label="高桥街道")
    phone.click("#send-town")
    assert "已记录位置：高桥街道" in wait_for_bot(phone, "已记录位置")
    # typed coordinates outside the city
    phone.click("#more")
    phone.click("#open-location")
    phone.fill("#lat", "31.23")
    phone.fill("#lon", "121.47")
    phone.click("#send-coords")
    assert "不在桐乡市范围内" in wait_for_bot(phone, "不在桐乡市范围内")
    openid = phone.evaluate("window.fangxinSimulator.openid()")
    with db.session() as s:
        rows = s.exec(select(InboundMessage).where(InboundMessage.openid == openid)
                      .order_by(InboundMessage.id)).all()
    assert [r.msg_type for r in rows] == ["event", "text", "voice", "location", "location"]
    assert rows[0].event == "CLICK" and rows[0].fields.get("EventKey") == "HELP"
    assert rows[2].fields.get("Recognition") == "云朵服饰店"
    assert rows[3].fields["Location_X"] == "30.585" and rows[4].fields["Location_Y"] == "121.47"

    # another consumer on the same browser: a new openid and an empty chat
    phone.get_by_role("button", name="换一个消费者").click()
    phone.wait_for_load_state()
    expect(phone.locator("#openid")).not_to_have_text(openid)
    expect(phone.locator(".msg")).to_have_count(0)


# ---------------------------------------------------------------------------------------------
# (d) screenshots for people: the queue, a ticket, the dashboard
@pytest.mark.browser
@pytest.mark.slow
def test_screenshots_of_the_queue_a_ticket_and_the_dashboard(live, db, new_page):
    from playwright.sync_api import expect

    samples = [
        dict(description="在老街面馆吃面，菜单标价28元，结账收了68元，要求退还多收的钱", sector="catering",
             merchant_name="老街面馆", town_code="330483001", amount=Decimal("40"), demand="refund"),
        dict(description="在超市买的牛奶已经过期三天，要求退货并赔偿", sector="food", merchant_name="永辉生鲜",
             town_code="330483003", amount=Decimal("36.5"), demand="compensation"),
        dict(description="药房店员说保健品能治高血压，买了两千八，吃了没用", sector="medical_products",
             merchant_name="康和大药房", town_code="330483001", amount=Decimal("2800"), demand="refund"),
        dict(description="新买的电动车电池充不进电，店家说要收钱才修", sector="general_goods", merchant_name="飞鸽车行",
             town_code="330483107", amount=Decimal("1299"), demand="repair"),
        dict(description="在饭店吃出头发，店家不肯道歉", sector="catering", merchant_name="阿坤羊肉馆",
             town_code="330483104", amount=Decimal("186"), demand="apology"),
    ]
    ids = [file_ticket(db, **sample) for sample in samples]
    handler = new_page()
    console_login(handler, live.url, "samr_handler")
    handler.goto(f"{live.url}/console/tickets/{ids[2]}")
    run_action(handler, "accept")
    handler.goto(f"{live.url}/console/tickets")
    expect(handler.locator("#queue tbody tr")).to_have_count(len(ids))
    made = [screenshot(handler, "queue.png")]
    handler.goto(f"{live.url}/console/tickets/{ids[2]}")
    expect(handler.locator("h1 .badge").first).to_have_text("调解中")
    made.append(screenshot(handler, "ticket.png"))

    office = new_page()
    console_login(office, live.url, "office")
    response = office.goto(f"{live.url}/console/dashboard")
    if response.status == 404:  # not built yet: show what the city office gets instead
        office.goto(f"{live.url}/console/")
        made.append(screenshot(office, "office-landing-no-dashboard.png"))
        warnings.warn(f"/console/dashboard does not exist yet: the city office's landing page ({office.url}) "
                      "was captured instead", stacklevel=1)
    else:
        assert response.status == 200, f"/console/dashboard answered {response.status}"
        office.wait_for_load_state("networkidle")
        made.append(screenshot(office, "dashboard.png"))
    assert all(path.stat().st_size > 10_000 for path in made), made
    print("screenshots:", *made, sep="\n  ")


# ---------------------------------------------------------------------------------------------
# no browser needed
@pytest.mark.parametrize("env", ["production", None])
def test_the_simulator_does_not_exist_outside_development(app_factory, monkeypatch, env):
    if env is None:
        monkeypatch.delenv("FANGXIN_ENV", raising=False)
    else:
        monkeypatch.setenv("FANGXIN_ENV", env)
    app = app_factory()
    assert app.extensions["fangxin_settings"].env == "production"
    client = app.test_client()
    for path in ("/simulator", "/simulator/", "/simulator/messages?openid=o1", "/simulator/static/simulator.js"):
        assert client.get(path).status_code == 404, path
    assert not [r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/simulator")]


def test_the_simulator_page_and_message_feed_in_development(app_factory, monkeypatch, fake_wechat):
    monkeypatch.setenv("FANGXIN_ENV", "development")
    app = app_factory(wechat_api_base=fake_wechat.base_url)
    client = app.test_client()
    page = client.get("/simulator")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "消费者模拟器" in html
    assert f'"token": "{TEST_SETTINGS["wechat_token"]}"' in html and 'href="/console/"' in html
    assert client.get("/simulator/static/simulator.js").status_code == 200

    api = app.extensions["wechat_endpoint"].outbox.client
    api.send_text("o-alice", "您的投诉已受理")
    api.send_text("o-bob", "别人的消息")
    api.send_template("o-alice", "TPL-CONSUMER", {"first": "投诉进度通知", "remark": "已办结"})
    feed = client.get("/simulator/messages?openid=o-alice&after=0").get_json()
    assert feed["source"] == "fake" and feed["cursor"] == 3
    assert [(m["channel"], m["text"]) for m in feed["messages"]] == [("custom", "您的投诉已受理"),
                                                                     ("template", "投诉进度通知\n已办结")]
    assert client.get("/simulator/messages?openid=o-alice&after=3").get_json()["messages"] == []
    assert client.get("/simulator/messages").status_code == 400
    # a cursor from before the fake restarted starts again from the beginning
    assert len(client.get("/simulator/messages?openid=o-alice&after=99").get_json()["messages"]) == 2

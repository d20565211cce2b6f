"""Helpers for console tests: staff accounts, signing in through the real form with its CSRF token."""
from __future__ import annotations

import io
import re
from datetime import datetime

from sqlmodel import select

from bot.core import clock
from bot.core.config import ROOT
from bot.dispatch.calendar import load_calendar
from bot.dispatch.merchants import import_merchants
from bot.dispatch.routing import Facts, submit
from bot.staff import create_staff
from models import Consumer, Merchant

PASSWORD = "console-pass-1"
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')

# one account per role (and per bureau where it matters)
ACCOUNTS = [
    ("samr_handler", "市场监管局", "handler"),
    ("samr_head", "市场监管局", "bureau_head"),
    ("commerce_handler", "商务局", "handler"),
    ("postal_handler", "邮政管理局", "handler"),
    ("desk", "市消费投诉受理中心", "triage"),
    ("office", "放心消费办", "city_office"),
    ("wutong_station", "梧桐街道消费维权服务站", "handler"),
    ("admin", "市场监管局", "admin"),
]


def make_world(db) -> dict:
    """Staff of every role, the sample merchants with a merchant account, a consumer."""
    with db.session() as s:
        text = (ROOT / "reference_data" / "merchants_sample.csv").read_text(encoding="utf-8")
        import_merchants(s, io.StringIO(text, newline=""))
        for username, bureau, role in ACCOUNTS:
            create_staff(s, username=username, bureau=bureau, role=role, password=PASSWORD, display_name=username)
        gym = s.exec(select(Merchant).where(Merchant.name == "鼎盛健身")).one()
        create_staff(s, username="gym", bureau=None, role="merchant", password=PASSWORD, merchant_id=gym.id)
        glasses = s.exec(select(Merchant).where(Merchant.name == "明视眼镜")).one()
        create_staff(s, username="glasses", bureau=None, role="merchant", password=PASSWORD, merchant_id=glasses.id)
        s.add(Consumer(openid="o-console-consumer", created_at=clock.now(), phone="13812345678"))
    return {"password": PASSWORD}


def file_ticket(db, when: datetime | None = None, **kw) -> int:
    with db.session() as s:
        consumer = s.exec(select(Consumer).where(Consumer.openid == "o-console-consumer")).one()
        facts = Facts(description=kw.pop("description", "在梧桐的饭店吃饭被多收了两百元，要求退款"),
                      sector_key=kw.pop("sector", "catering"), confidence=kw.pop("confidence", 0.95),
                      phone=kw.pop("phone", "13812345678"), **kw)
        return submit(s, facts, consumer, load_calendar(s), 0.7, when or clock.now()).id


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD):
    page = client.get("/console/login")
    return client.post("/console/login", data={"username": username, "password": password,
                                               "csrf_token": csrf_of(page.get_data(as_text=True))})

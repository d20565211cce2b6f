"""The permission sweep: every console page and API endpoint, as every role, against another bureau's ticket."""
from __future__ import annotations

import re

import pytest
from sqlmodel import select

from models import Staff, Ticket, TicketStatus
from tests.console_util import ACCOUNTS, csrf_of, file_ticket, login, make_world

SECRET_DESCRIPTION = "机密测试：电信宽带乱扣费二百八十元"
SECRET_PHONE = "13911112222"
# roles that must not see a telecom ticket of 经信局 (市场监管局 is no party to it; nor is the desk, a merchant or admin)
OUTSIDERS = ["samr_handler", "samr_head", "commerce_handler", "postal_handler", "desk", "admin", "gym", "glasses"]


@pytest.fixture
def world(db):
    make_world(db)
    ticket_id = file_ticket(db, sector="telecom", description=SECRET_DESCRIPTION, phone=SECRET_PHONE)
    with db.session() as s:
        number = s.get(Ticket, ticket_id).number
    return {"ticket_id": ticket_id, "number": number}


def leaked(body: str, world) -> list[str]:
    return [secret for secret in (SECRET_DESCRIPTION, SECRET_PHONE, world["number"], "o-console-consumer",
                                  SECRET_PHONE[:3] + "****" + SECRET_PHONE[-4:]) if secret in body]


def console_routes(app) -> list[tuple[str, str]]:
    """(method, url) for every console rule that takes a ticket id or no argument at all."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not (rule.rule.startswith("/console") or rule.rule.startswith("/api")) or "static" in rule.endpoint:
            continue
        if rule.endpoint in ("console.logout", "console.login"):
            continue  # signing out mid-sweep would turn every later check into a redirect
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, rule))
    return routes


def fill(rule, world) -> str | None:
    values = {}
    for arg in rule.arguments:
        if arg in ("ticket_id", "id"):
            values[arg] = world["ticket_id"]
        elif arg == "name":
            values[arg] = "accept"
        elif arg == "period":
            values[arg] = "2026-W48"
        elif arg == "filename":
            values[arg] = "jingxin.xlsx"
        else:
            return None  # admin routes keyed by other objects are covered by their own role checks
    return _build(rule.rule, values)


def _build(pattern: str, values: dict) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(values[m.group(1)]), pattern)


@pytest.mark.parametrize("username", OUTSIDERS)
def test_no_page_or_endpoint_leaks_another_bureaus_ticket(app, client, db, world, username):
    assert login(client, username).status_code == 302
    token = None
    api_headers = {}
    issued = _api_token(app, db, username)
    if issued:
        api_headers = {"Authorization": f"Bearer {issued}"}
    checked = 0
    for method, rule in console_routes(app):
        url = fill(rule, world)
        if url is None:
            continue
        headers = api_headers if url.startswith("/api") else {}
        if method == "GET":
            response = client.get(url, headers=headers)
        else:
            if token is None:
                token = csrf_of(client.get("/console/inbox").get_data(as_text=True))
            response = client.post(url, data={"csrf_token": token}, headers=headers)
        body = response.get_data().decode("utf-8", "ignore")  # exports may be binary
        assert not leaked(body, world), (username, method, url, response.status_code)
        if "<int:ticket_id>" in rule.rule or "<int:id>" in rule.rule:
            assert response.status_code in (403, 404), (username, method, url, response.status_code)
        checked += 1
    assert checked >= 5
    with db.session() as s:
        ticket = s.get(Ticket, world["ticket_id"])
        assert ticket.status == TicketStatus.DISPATCHED  # nobody could act on it


def _api_token(app, db, username: str) -> str | None:
    """An API token for the account, if the API offers them."""
    try:
        from bot.staff import issue_api_token
    except ImportError:
        return None
    with db.session() as s:
        staff = s.exec(select(Staff).where(Staff.username == username)).one()
        return issue_api_token(s, staff.username)


@pytest.mark.parametrize("username", [a[0] for a in ACCOUNTS if a[0] not in ("samr_handler", "samr_head")])
def test_only_the_handling_bureau_sees_the_full_phone(app, client, db, username):
    make_world(db)
    ticket_id = file_ticket(db, sector="catering", town_code="330483001", phone=SECRET_PHONE)
    login(client, username)
    body = client.get(f"/console/tickets/{ticket_id}").get_data(as_text=True)
    assert SECRET_PHONE not in body
    handler = app.test_client()
    login(handler, "samr_handler")
    assert SECRET_PHONE in handler.get(f"/console/tickets/{ticket_id}").get_data(as_text=True)


def test_the_town_station_and_co_units_see_but_cannot_act(client, db):
    make_world(db)
    ticket_id = file_ticket(db, sector="catering", town_code="330483001")
    login(client, "wutong_station")
    page = client.get(f"/console/tickets/{ticket_id}")
    assert page.status_code == 200 and "当前状态下您没有可执行的操作" in page.get_data(as_text=True)
    token = csrf_of(page.get_data(as_text=True))
    client.post(f"/console/tickets/{ticket_id}/actions/accept", data={"csrf_token": token})
    with db.session() as s:
        assert s.get(Ticket, ticket_id).status == TicketStatus.DISPATCHED

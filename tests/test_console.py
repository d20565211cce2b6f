"""The staff console through HTTP: sign-in, CSRF, expiry, the queue, a ticket and its actions."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from models import Notification, Ticket, TicketStatus
from tests.console_util import csrf_of, file_ticket, login, make_world


@pytest.fixture
def world(db):
    return make_world(db)


def test_login_with_a_wrong_password_is_refused(client, world):
    response = login(client, "samr_handler", "wrong-password")
    assert response.status_code == 401 and "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/console/tickets").status_code == 302


def test_a_form_without_its_csrf_token_is_refused(client, world):
    response = client.post("/console/login", data={"username": "samr_handler", "password": "console-pass-1"})
    assert response.status_code == 400
    login(client, "samr_handler")
    ticket_id = file_ticket(client.application.extensions["fangxin_db"])
    forged = client.post(f"/console/tickets/{ticket_id}/actions/accept", data={})
    assert forged.status_code == 400
    with client.application.extensions["fangxin_db"].session() as s:
        assert s.get(Ticket, ticket_id).status == TicketStatus.DISPATCHED


def test_sessions_expire_when_idle(client, world):
    assert login(client, "samr_handler").status_code == 302
    assert client.get("/console/tickets").status_code == 200
    with client.session_transaction() as sess:
        sess["seen_at"] = (datetime.now(timezone.utc) - timedelta(minutes=31)).isoformat()
    response = client.get("/console/tickets")
    assert response.status_code == 302 and "/console/login" in response.headers["Location"]


def test_a_disabled_account_is_signed_out(client, world, db):
    from models import Staff

    login(client, "samr_handler")
    with db.session() as s:
        s.exec(select(Staff).where(Staff.username == "samr_handler")).one().active = False
    assert client.get("/console/tickets").status_code == 302


def test_queue_filters_and_paging(client, world, db):
    for _ in range(27):
        file_ticket(db)
    other_id = file_ticket(db, sector="telecom")  # 经信局 leads; 市场监管局 is not a party
    login(client, "samr_handler")
    page1 = client.get("/console/tickets").get_data(as_text=True)
    assert "共 27 件" in page1 and "第 1 / 2 页" in page1
    assert "第 2 / 2 页" in client.get("/console/tickets?page=2").get_data(as_text=True)
    assert "共 0 件" in client.get("/console/tickets?status=accepted").get_data(as_text=True)
    assert "共 27 件" in client.get("/console/tickets?sector=catering&status=open").get_data(as_text=True)
    assert "共 0 件" in client.get("/console/tickets?overdue=1").get_data(as_text=True)
    assert "共 0 件" in client.get("/console/tickets?from=2000-01-01&to=2000-01-02").get_data(as_text=True)
    assert client.get(f"/console/tickets/{other_id}").status_code == 404


def test_a_handler_works_a_ticket_from_dispatch_to_resolution(client, world, db):
    ticket_id = file_ticket(db)
    login(client, "samr_handler")
    page = client.get(f"/console/tickets/{ticket_id}").get_data(as_text=True)
    assert "13812345678" in page  # the handler sees the full phone
    assert "受理" in page and "移交" in page and "不予受理" in page
    token = csrf_of(page)
    assert client.post(f"/console/tickets/{ticket_id}/actions/accept", data={"csrf_token": token}).status_code == 303
    page = client.get(f"/console/tickets/{ticket_id}").get_data(as_text=True)
    assert "已受理" in page and "记录调解结果" in page
    missing = client.post(f"/console/tickets/{ticket_id}/actions/record_outcome",
                          data={"csrf_token": token, "outcome": "compensation"}, follow_redirects=True)
    assert "赔偿结果需要填写金额" in missing.get_data(as_text=True)
    done = client.post(f"/console/tickets/{ticket_id}/actions/record_outcome",
                       data={"csrf_token": token, "outcome": "refund", "note": "商家退还200元"}, follow_redirects=True)
    assert "已记录调解结果" in done.get_data(as_text=True)
    with db.session() as s:
        ticket = s.get(Ticket, ticket_id)
        assert ticket.status == TicketStatus.RESOLVED
        told = s.exec(select(Notification).where(Notification.ticket_id == ticket_id,
                                                 Notification.consumer_id.is_not(None))).all()
        assert any("已办结" in n.body for n in told)


def test_a_wrong_form_field_is_a_clear_error_and_changes_nothing(client, world, db):
    ticket_id = file_ticket(db)
    login(client, "samr_handler")
    token = csrf_of(client.get(f"/console/tickets/{ticket_id}").get_data(as_text=True))
    for name, data, message in [("reject", {"reason": "because"}, "选项无效"),
                                ("hand_on", {"to_bureau_id": "999999", "reason": "x"}, "选项无效"),
                                ("hand_on", {"to_bureau_id": "", "reason": "x"}, "请填写"),
                                ("reply", {"text": ""}, "请填写")]:
        response = client.post(f"/console/tickets/{ticket_id}/actions/{name}", data={"csrf_token": token, **data},
                               follow_redirects=True)
        assert message in response.get_data(as_text=True), name
    with db.session() as s:
        assert s.get(Ticket, ticket_id).status == TicketStatus.DISPATCHED


def test_inbox_lists_new_tickets_and_marks_them_read(client, world, db):
    file_ticket(db)
    login(client, "samr_handler")
    page = client.get("/console/inbox").get_data(as_text=True)
    assert "待受理" in page and "新" in page
    assert ">新<" not in client.get("/console/inbox").get_data(as_text=True)


def test_logout_needs_the_form_and_ends_the_session(client, world):
    login(client, "samr_handler")
    token = csrf_of(client.get("/console/tickets").get_data(as_text=True))
    assert client.post("/console/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/console/tickets").status_code == 302


def test_a_sector_correction_is_stored_and_exported_as_training_data(client, world, db, tmp_path):
    import json

    ticket_id = file_ticket(db, description="外卖送来的奶茶里有异物，肚子疼了一晚上", sector="food")
    login(client, "samr_handler")
    token = csrf_of(client.get(f"/console/tickets/{ticket_id}").get_data(as_text=True))
    client.post(f"/console/tickets/{ticket_id}/actions/correct_sector", data={"csrf_token": token,
                                                                              "sector": "catering"})
    with db.session() as s:
        assert s.get(Ticket, ticket_id).sector_key == "catering"
    out = tmp_path / "corrections.jsonl"
    result = client.application.test_cli_runner().invoke(args=["corrections", "export", str(out)])
    assert result.exit_code == 0 and "1 corrections" in result.output
    record = json.loads(out.read_text(encoding="utf-8"))
    assert record["label"] == "catering" and "奶茶" in record["text"]

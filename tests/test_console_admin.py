"""The console's admin section through HTTP: role gate, staff accounts, merchants and CSV, holidays, jobs."""
from __future__ import annotations

import csv
import hashlib
import io
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from flask import url_for
from sqlmodel import func, select

from bot.core import clock
from bot.dispatch.calendar import load_calendar
from bot.dispatch.merchants import import_merchants
from bot.jobs import leader
from bot.staff import staff_for_api_token
from models import Bureau, Holiday, JobRun, Merchant, SchedulerLease, Staff
from tests.console_util import PASSWORD, csrf_of, login, make_world

SH = clock.SHANGHAI
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=SH)  # 2027 and 2028 are not in chinesecalendar 1.11
NON_ADMINS = ["samr_handler", "samr_head", "desk", "office", "wutong_station", "gym"]


@pytest.fixture
def world(db):
    return make_world(db)


@pytest.fixture
def admin(client, world):
    assert login(client, "admin").status_code == 302
    return client


def token_of(client, path: str = "/console/admin") -> str:
    return csrf_of(client.get(path).get_data(as_text=True))


def post(client, path: str, data: dict | None = None, page: str = "/console/admin", **kw):
    return client.post(path, data={"csrf_token": token_of(client, page), **(data or {})}, **kw)


def staff_row(db, username: str) -> Staff | None:
    with db.session() as s:
        return s.exec(select(Staff).where(Staff.username == username)).first()


def merchant_row(db, name: str, town: str | None = None) -> Merchant | None:
    with db.session() as s:
        query = select(Merchant).where(Merchant.name == name)
        if town is not None:
            query = query.where(Merchant.town_code == town)
        return s.exec(query).first()


def bureau_id(db, name: str) -> int:
    with db.session() as s:
        return s.exec(select(Bureau).where(Bureau.name == name)).one().id


def count(db, model) -> int:
    with db.session() as s:
        return s.exec(select(func.count()).select_from(model)).one()


def pages(db) -> list[str]:
    with db.session() as s:
        staff_id = s.exec(select(Staff).where(Staff.username == "samr_handler")).one().id
        merchant_id = s.exec(select(Merchant).where(Merchant.name == "鼎盛健身")).one().id
    return ["/console/admin", "/console/admin/jobs", "/console/admin/bureaus", "/console/admin/staff",
            "/console/admin/staff/new", f"/console/admin/staff/{staff_id}", "/console/admin/merchants",
            "/console/admin/merchants?q=淘宝&flag=advance", "/console/admin/merchants/new",
            f"/console/admin/merchants/{merchant_id}", "/console/admin/merchants/import",
            "/console/admin/merchants/export.csv", "/console/admin/holidays", "/console/admin/holidays?year=2027"]


# ---------------------------------------------------------------------------
# the role gate

def test_every_admin_page_renders_for_the_admin(admin, db, app):
    with app.test_request_context():
        assert url_for("console.admin_home") == "/console/admin"
    assert admin.get("/console/").headers["Location"].endswith("/console/admin")
    for path in pages(db):
        response = admin.get(path)
        assert response.status_code == 200, path
        if not path.endswith(".csv"):
            html = response.get_data(as_text=True)
            assert 'id="admin-nav"' in html and "系统管理" in html, path


def test_every_admin_page_is_forbidden_to_other_roles(app, db, world):
    for username in NON_ADMINS:
        forbidden_everywhere(app, db, username)


def forbidden_everywhere(app, db, username: str) -> None:
    client = app.test_client()
    assert login(client, username).status_code == 302
    for path in pages(db):
        assert client.get(path).status_code == 403, (username, path)
    # and so is every form, even with a valid CSRF token
    token = csrf_of(client.get("/console/inbox").get_data(as_text=True))
    target = staff_row(db, "samr_handler")
    for path, data in [("/console/admin/staff/new", {"username": "intruder", "role": "admin", "password": "x" * 10,
                                                      "password2": "x" * 10, "bureau_id": bureau_id(db, "市场监管局")}),
                       (f"/console/admin/staff/{target.id}/active", {"active": "0"}),
                       (f"/console/admin/staff/{target.id}/token", {}),
                       ("/console/admin/holidays", {"day": "2027-03-02", "kind": "holiday"}),
                       ("/console/admin/merchants/new", {"name": "冒名商家"})]:
        assert client.post(path, data={"csrf_token": token, **data}).status_code == 403, (username, path)
    assert staff_row(db, "intruder") is None and staff_row(db, "samr_handler").active
    assert staff_row(db, "samr_handler").api_token_digest is None
    assert count(db, Holiday) == 0 and merchant_row(db, "冒名商家") is None


def test_admin_pages_need_a_sign_in(client, db, world):
    for path in pages(db):
        response = client.get(path)
        assert response.status_code == 302 and "/console/login" in response.headers["Location"], path


def test_forms_without_a_csrf_token_are_refused(admin, db):
    target = staff_row(db, "samr_handler")
    forged = [("/console/admin/staff/new", {"username": "forged", "role": "handler", "password": "long-enough",
                                            "password2": "long-enough", "bureau_id": bureau_id(db, "市场监管局")}),
              (f"/console/admin/staff/{target.id}/active", {"active": "0"}),
              (f"/console/admin/staff/{target.id}/password", {"password": "new-password-1",
                                                               "password2": "new-password-1"}),
              (f"/console/admin/staff/{target.id}/wechat", {"openid": "oForgedOpenid123456"}),
              (f"/console/admin/staff/{target.id}/token", {}),
              ("/console/admin/merchants/new", {"name": "伪造商家"}),
              ("/console/admin/holidays", {"day": "2027-03-02", "kind": "holiday"})]
    for path, data in forged:
        assert admin.post(path, data=data).status_code == 400, path
        assert admin.post(path, data={**data, "csrf_token": "not-the-token"}).status_code == 400, path
    upload = admin.post("/console/admin/merchants/import", content_type="multipart/form-data",
                        data={"file": (io.BytesIO("name\n".encode()), "m.csv")})
    assert upload.status_code == 400
    after = staff_row(db, "samr_handler")
    assert after.active and after.password_hash == target.password_hash
    assert after.wechat_openid is None and after.api_token_digest is None
    assert staff_row(db, "forged") is None and merchant_row(db, "伪造商家") is None and count(db, Holiday) == 0


# ---------------------------------------------------------------------------
# staff accounts

def new_staff_form(db, **changes) -> dict:
    form = {"username": "zhang.san", "display_name": "张三", "role": "handler",
            "bureau_id": str(bureau_id(db, "商务局")), "merchant": "", "password": "initial-pass-1",
            "password2": "initial-pass-1"}
    form.update(changes)
    return form


def test_the_admin_creates_an_account_and_that_person_can_sign_in(admin, db, app):
    response = post(admin, "/console/admin/staff/new", new_staff_form(db), page="/console/admin/staff/new")
    assert response.status_code == 303
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "已创建账号“zhang.san”" in page and "商务局" in page
    created = staff_row(db, "zhang.san")
    assert created.role == "handler" and created.display_name == "张三" and created.active
    assert created.bureau_id == bureau_id(db, "商务局") and created.password_hash != "initial-pass-1"
    assert "zhang.san" in admin.get("/console/admin/staff?q=zhang").get_data(as_text=True)

    person = app.test_client()
    assert login(person, "zhang.san", "initial-pass-1").status_code == 302
    assert person.get("/console/tickets").status_code == 200


def test_a_merchant_account_belongs_to_a_registered_merchant(admin, db, app):
    gym = merchant_row(db, "鼎盛健身")
    form = new_staff_form(db, username="gym2", role="merchant", bureau_id="", merchant="鼎盛健身")
    assert post(admin, "/console/admin/staff/new", form, page="/console/admin/staff/new").status_code == 303
    assert staff_row(db, "gym2").merchant_id == gym.id and staff_row(db, "gym2").bureau_id is None
    ambiguous = post(admin, "/console/admin/staff/new", {**form, "username": "oldstreet", "merchant": "老街饭店"},
                     page="/console/admin/staff/new")
    assert ambiguous.status_code == 400 and "有 2 家商家名为“老街饭店”" in ambiguous.get_data(as_text=True)
    store = merchant_row(db, "老街饭店")
    by_id = post(admin, "/console/admin/staff/new", {**form, "username": "oldstreet", "merchant": str(store.id)},
                 page="/console/admin/staff/new")
    assert by_id.status_code == 303 and staff_row(db, "oldstreet").merchant_id == store.id


STAFF_FORM_ERRORS = [
    ({"username": "samr_handler"}, "username", "用户名“samr_handler”已被使用"),
    ({"username": "SAMR_Handler"}, "username", "与已有账号“samr_handler”仅大小写不同"),
    ({"username": ""}, "username", "请填写用户名"),
    ({"username": "zhang san"}, "username", "不能包含空格"),
    ({"role": "superuser"}, "role", "请选择角色"),
    ({"bureau_id": ""}, "bureau_id", "请选择所属单位"),
    ({"role": "triage"}, "bureau_id", "“分拣员”不能属于政府部门“商务局”"),
    ({"role": "merchant", "bureau_id": ""}, "merchant", "商家账号需要填写所属商家"),
    ({"role": "merchant", "bureau_id": "", "merchant": "不存在的店"}, "merchant", "商家库中没有名为“不存在的店”"),
    ({"merchant": "鼎盛健身"}, "merchant", "只有商家账号需要填写商家"),
    ({"password": "short", "password2": "short"}, "password", "密码至少 8 个字符"),
    ({"password": "x" * 129, "password2": "x" * 129}, "password", "密码不能超过 128 个字符"),
    ({"password2": "initial-pass-2"}, "password2", "两次输入的密码不一致"),
]


def test_a_wrong_field_is_a_clear_error_and_creates_nothing(admin, db):
    before = count(db, Staff)
    for changes, field, message in STAFF_FORM_ERRORS:
        response = post(admin, "/console/admin/staff/new", new_staff_form(db, **changes),
                        page="/console/admin/staff/new")
        html = response.get_data(as_text=True)
        assert response.status_code == 400, changes
        assert f'data-field="{field}">' in html and message in html, (changes, html[html.find("flash error"):][:400])
        assert "账号未创建" in html and count(db, Staff) == before, changes
        # what was typed is kept, except the passwords
        if changes.get("username"):
            assert f'value="{changes["username"]}"' in html
        assert "initial-pass-1" not in html


def test_a_disabled_account_cannot_sign_in_and_is_signed_out(admin, db, app):
    handler = app.test_client()
    assert login(handler, "samr_handler").status_code == 302
    target = staff_row(db, "samr_handler")
    page = f"/console/admin/staff/{target.id}"
    response = post(admin, f"{page}/active", {"active": "0"}, page=page)
    assert response.status_code == 303
    assert "已停用账号“samr_handler”" in admin.get(page).get_data(as_text=True)
    assert not staff_row(db, "samr_handler").active
    assert handler.get("/console/tickets").status_code == 302  # the open session ended
    assert login(app.test_client(), "samr_handler").status_code == 401
    assert "已停用" in admin.get("/console/admin/staff?state=disabled").get_data(as_text=True)

    assert post(admin, f"{page}/active", {"active": "1"}, page=page).status_code == 303
    assert login(app.test_client(), "samr_handler").status_code == 302


def test_the_admin_cannot_disable_their_own_account(admin, db):
    me = staff_row(db, "admin")
    page = f"/console/admin/staff/{me.id}"
    response = post(admin, f"{page}/active", {"active": "0"}, page=page)
    assert response.status_code == 400 and "不能停用自己的账号" in response.get_data(as_text=True)
    assert staff_row(db, "admin").active
    assert post(admin, f"{page}/active", {}, page=page).status_code == 400  # no silent default


def test_reset_password(admin, db, app):
    target = staff_row(db, "samr_head")
    page = f"/console/admin/staff/{target.id}"
    short = post(admin, f"{page}/password", {"password": "1234567", "password2": "1234567"}, page=page)
    assert short.status_code == 400 and "密码至少 8 个字符" in short.get_data(as_text=True)
    differ = post(admin, f"{page}/password", {"password": "new-pass-123", "password2": "new-pass-124"}, page=page)
    assert differ.status_code == 400 and "两次输入的密码不一致" in differ.get_data(as_text=True)
    assert staff_row(db, "samr_head").password_hash == target.password_hash

    assert post(admin, f"{page}/password", {"password": "new-pass-123", "password2": "new-pass-123"},
                page=page).status_code == 303
    assert login(app.test_client(), "samr_head", PASSWORD).status_code == 401
    assert login(app.test_client(), "samr_head", "new-pass-123").status_code == 302


def test_a_new_password_ends_the_sessions_opened_with_the_old_one(admin, db, app):
    """A password reset after a leak must throw out whoever signed in with the leaked password."""
    leaked = app.test_client()
    assert login(leaked, "samr_head").status_code == 302
    assert leaked.get("/console/tickets").status_code == 200
    target = staff_row(db, "samr_head")
    page = f"/console/admin/staff/{target.id}"
    response = post(admin, f"{page}/password", {"password": "new-pass-123", "password2": "new-pass-123"}, page=page)
    assert response.status_code == 303
    signed_out = leaked.get("/console/tickets")
    assert signed_out.status_code == 302 and "/console/login" in signed_out.headers["Location"]
    fresh = app.test_client()
    assert login(fresh, "samr_head", "new-pass-123").status_code == 302
    assert fresh.get("/console/tickets").status_code == 200

    # the admin who sets their own password stays signed in where they did it; their other sessions end
    other_admin_session = app.test_client()
    assert login(other_admin_session, "admin").status_code == 302
    me = staff_row(db, "admin")
    page = f"/console/admin/staff/{me.id}"
    assert post(admin, f"{page}/password", {"password": "admin-pass-9", "password2": "admin-pass-9"},
                page=page).status_code == 303
    assert admin.get("/console/admin").status_code == 200
    assert other_admin_session.get("/console/admin").status_code == 302


def test_an_api_token_is_shown_once_and_only_its_digest_is_stored(admin, db):
    target = staff_row(db, "samr_handler")
    page = f"/console/admin/staff/{target.id}"
    response = post(admin, f"{page}/token", page=page)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    token = html.split('<code id="token">', 1)[1].split("</code>", 1)[0]
    assert len(token) >= 40 and "只显示这一次" in html
    digest = staff_row(db, "samr_handler").api_token_digest
    assert digest == hashlib.sha256(token.encode()).hexdigest() and token not in digest
    with db.session() as s:
        assert staff_for_api_token(s, token).username == "samr_handler"
    again = admin.get(page).get_data(as_text=True)
    assert token not in again and "已签发" in again

    second = post(admin, f"{page}/token", page=page).get_data(as_text=True)
    new_token = second.split('<code id="token">', 1)[1].split("</code>", 1)[0]
    assert new_token != token
    with db.session() as s:
        assert staff_for_api_token(s, token) is None and staff_for_api_token(s, new_token) is not None

    assert post(admin, f"{page}/token/revoke", page=page).status_code == 303
    assert staff_row(db, "samr_handler").api_token_digest is None
    none_left = post(admin, f"{page}/token/revoke", page=page)
    assert none_left.status_code == 400 and "该账号没有接口令牌" in none_left.get_data(as_text=True)


def test_a_disabled_account_gets_no_token(admin, db):
    target = staff_row(db, "samr_handler")
    page = f"/console/admin/staff/{target.id}"
    post(admin, f"{page}/active", {"active": "0"}, page=page)
    response = post(admin, f"{page}/token", page=page)
    assert response.status_code == 400 and "账号已停用，不能签发接口令牌" in response.get_data(as_text=True)
    assert staff_row(db, "samr_handler").api_token_digest is None


def test_wechat_binding_is_stored_and_only_shown_masked(admin, db):
    openid = "oAbCdEfGhIjKlMnOpQrStUvWxYz0"
    target = staff_row(db, "samr_handler")
    page = f"/console/admin/staff/{target.id}"
    assert post(admin, f"{page}/wechat", {"openid": openid}, page=page).status_code == 303
    assert staff_row(db, "samr_handler").wechat_openid == openid
    for path in (page, "/console/admin/staff"):
        html = admin.get(path).get_data(as_text=True)
        assert openid not in html and "oAbC…xYz0" in html and "已绑定" in html

    bad = post(admin, f"{page}/wechat", {"openid": "not an openid!"}, page=page)
    assert bad.status_code == 400 and "openid 应为 6–64 位" in bad.get_data(as_text=True)
    other = staff_row(db, "samr_head")
    taken = post(admin, f"/console/admin/staff/{other.id}/wechat", {"openid": openid}, page=page)
    assert taken.status_code == 400 and "已绑定到账号“samr_handler”" in taken.get_data(as_text=True)
    assert openid not in taken.get_data(as_text=True)
    assert staff_row(db, "samr_head").wechat_openid is None

    assert post(admin, f"{page}/wechat/unbind", page=page).status_code == 303
    assert staff_row(db, "samr_handler").wechat_openid is None


# ---------------------------------------------------------------------------
# bureaus and jobs

def test_bureaus_list_kind_and_staff_count(admin, db):
    html = admin.get("/console/admin/bureaus").get_data(as_text=True)
    row = html[html.index("<td>市场监管局</td>"):].split("</tr>", 1)[0]
    assert "政府部门" in row and "3 人" in row  # samr_handler, samr_head, admin
    assert "投诉受理中心" in html and "镇街维权站" in html


def test_job_status_shows_the_leader_last_runs_and_next_runs(admin, db):
    from bot.jobs.tasks import JOBS

    now = clock.now()
    escalation = JOBS["escalation"]
    with db.session() as s:
        s.add(SchedulerLease(name=leader.LEASE, holder="worker-1:4242:abcd", expires_at=now + timedelta(minutes=5)))
        s.add(JobRun(job="escalation", period=escalation.period(now), holder="worker-1:4242:abcd",
                     started_at=now, finished_at=now, status="done", summary="3 warnings, 1 escalated"))
        s.add(JobRun(job="outbox", period="2020-01-01T00:00:00", holder="old", started_at=now - timedelta(days=9),
                     status="failed", summary="ConnectionError: boom"))
    for path in ("/console/admin", "/console/admin/jobs"):
        with clock.frozen(now):
            html = admin.get(path).get_data(as_text=True)
        assert "worker-1:4242:abcd" in html and "运行中" in html
        assert "3 warnings, 1 escalated" in html and "ConnectionError: boom" in html
        assert "每 5 分钟" in html and "每周一 09:00" in html
        assert clock.local(escalation.next_run(now)).strftime("%Y-%m-%d %H:%M") in html
        rows = {name: html[html.index(f'<div class="muted">{name}</div>'):].split("</tr>", 1)[0]
                for name in ("escalation", "outbox", "weekly_digest")}
        assert "未按时运行" not in rows["escalation"] and "完成" in rows["escalation"]
        assert "失败" in rows["outbox"] and "未按时运行" in rows["outbox"]
        assert "从未运行" in rows["weekly_digest"]
    leader.release(db, "worker-1:4242:abcd")
    assert "没有调度器进程持有租约" in admin.get("/console/admin").get_data(as_text=True)


# ---------------------------------------------------------------------------
# calendar

def deadline(db, start: datetime):
    with db.session() as s:
        return load_calendar(s).add_working_days(start, 1)


def test_the_overview_warns_about_years_no_calendar_covers(admin):
    with clock.frozen(NOW):
        html = admin.get("/console/admin").get_data(as_text=True)
        warning = html[html.index('id="calendar-warning"'):].split("</div>", 1)[0]
        assert "2027 年" in warning and "2028 年" in warning and "2026 年" not in warning
        assert "暂定" in warning
        post(admin, "/console/admin/holidays", {"day": "2027-02-06", "until": "2027-02-13", "kind": "holiday",
                                                "name": "春节"})
        html = admin.get("/console/admin").get_data(as_text=True)
        warning = html[html.index('id="calendar-warning"'):].split("</div>", 1)[0]
        assert "2027 年" not in warning and "2028 年" in warning
    with clock.frozen(datetime(2026, 3, 1, 9, 0, tzinfo=SH)):  # 15 months ahead ends in 2027-06: covered now
        assert 'id="calendar-ok"' in admin.get("/console/admin").get_data(as_text=True)


def test_adding_and_deleting_a_holiday_moves_a_deadline(admin, db):
    start = datetime(2027, 3, 1, 10, 0, tzinfo=SH)  # a Monday, in a year chinesecalendar does not know
    before = deadline(db, start)
    assert before.day == date(2027, 3, 2) and before.provisional

    response = post(admin, "/console/admin/holidays", {"day": "2027-03-02", "kind": "holiday", "name": "测试假日"},
                    page="/console/admin/holidays?year=2027")
    assert response.status_code == 303 and response.headers["Location"].endswith("/console/admin/holidays?year=2027")
    html = admin.get("/console/admin/holidays?year=2027").get_data(as_text=True)
    assert "已登记放假日 2027-03-02 测试假日" in html and "<td>2027-03-02</td><td>周二</td>" in html
    moved = deadline(db, start)
    assert moved.day == date(2027, 3, 3) and not moved.provisional

    deleted = post(admin, "/console/admin/holidays/2027-03-02/delete", page="/console/admin/holidays?year=2027")
    assert deleted.status_code == 303
    assert "已删除 2027-03-02" in admin.get("/console/admin/holidays?year=2027").get_data(as_text=True)
    assert deadline(db, start) == before
    assert post(admin, "/console/admin/holidays/2027-03-02/delete").status_code == 404


def test_a_make_up_working_day_and_a_holiday_range(admin, db):
    start = datetime(2027, 2, 5, 10, 0, tzinfo=SH)  # Friday before a week of holidays
    assert post(admin, "/console/admin/holidays", {"day": "2027-02-08", "until": "2027-02-12", "kind": "holiday",
                                                   "name": "春节"}).status_code == 303
    assert deadline(db, start).day == date(2027, 2, 15)
    assert post(admin, "/console/admin/holidays", {"day": "2027-02-06", "kind": "workday",
                                                   "name": "春节调休"}).status_code == 303
    assert deadline(db, start).day == date(2027, 2, 6)  # a Saturday worked
    with db.session() as s:
        rows = s.exec(select(Holiday).order_by(Holiday.day)).all()
    assert [(r.day.day, r.workday) for r in rows] == [(6, True), (8, False), (9, False), (10, False), (11, False),
                                                      (12, False)]


HOLIDAY_FORM_ERRORS = [
    ({"day": ""}, "day", "请填写日期"),
    ({"day": "2027-02-30"}, "day", "日期“2027-02-30”无效"),
    ({"day": "tomorrow"}, "day", "日期“tomorrow”无效"),
    ({"day": "1999-01-04"}, "day", "只能登记 2025–2031 年的日期"),
    ({"day": "2027-03-02", "kind": "maybe"}, "kind", "请选择“放假”或“调休上班”"),
    ({"day": "2027-03-02", "kind": "workday"}, "day", "2027-03-02 是周二，本来就是工作日"),
    ({"day": "2027-03-06", "until": "2027-03-07", "kind": "workday"}, "until", "调休上班日请逐天登记"),
    ({"day": "2027-03-05", "until": "2027-03-01"}, "until", "结束日期不能早于开始日期"),
    ({"day": "2027-12-30", "until": "2028-01-02"}, "until", "一次只能登记同一年内的日期"),
    ({"day": "2027-01-01", "until": "2027-03-01"}, "until", "一次最多登记 31 天"),
    ({"day": "2027-03-02", "name": "节" * 41}, "name", "名称不能超过 40 个字符"),
]


def test_holiday_form_errors_add_nothing(admin, db):
    for form, field, message in HOLIDAY_FORM_ERRORS:
        with clock.frozen(NOW):
            response = post(admin, "/console/admin/holidays", {"kind": "holiday", **form})
        html = response.get_data(as_text=True)
        assert response.status_code == 400 and f'data-field="{field}">' in html and message in html, form
        assert "未登记" in html and count(db, Holiday) == 0, form


def test_a_day_already_in_the_table_is_not_added_twice(admin, db):
    post(admin, "/console/admin/holidays", {"day": "2027-10-04", "kind": "holiday", "name": "国庆"})
    response = post(admin, "/console/admin/holidays", {"day": "2027-10-01", "until": "2027-10-07", "kind": "holiday"})
    assert response.status_code == 400 and "已登记过：10-04（放假）" in response.get_data(as_text=True)
    assert count(db, Holiday) == 1  # none of the other six days went in


# ---------------------------------------------------------------------------
# merchants

MERCHANT_FORM = {"name": "好又多超市", "aliases": "好又多|好又多购物", "town_code": "330483001",
                 "address": "梧桐街道复兴路9号", "contact_phone": "0573-88039999", "advance_compensation": "1",
                 "compensation_cap": "1500", "offline_return_days": "7", "direct_settlement": "1"}


def test_merchant_create_and_edit(admin, db):
    response = post(admin, "/console/admin/merchants/new", MERCHANT_FORM)
    assert response.status_code == 303
    created = merchant_row(db, "好又多超市")
    assert created.aliases == ["好又多", "好又多购物"] and created.town_code == "330483001"
    assert created.advance_compensation and created.compensation_cap == Decimal("1500.00")
    assert created.offline_return_days == 7 and created.direct_settlement and not created.is_platform
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "已保存商家“好又多超市”" in page and 'value="1500.00"' in page and 'value="好又多|好又多购物"' in page

    edit = f"/console/admin/merchants/{created.id}"
    changed = {**MERCHANT_FORM, "compensation_cap": "", "offline_return_days": "15", "direct_settlement": ""}
    assert post(admin, edit, changed, page=edit).status_code == 303
    edited = merchant_row(db, "好又多超市")
    assert edited.id == created.id and edited.compensation_cap is None and edited.offline_return_days == 15
    assert not edited.direct_settlement
    listing = admin.get("/console/admin/merchants?q=好又多购物").get_data(as_text=True)
    assert "共 1 家" in listing and "不设上限" in listing and "15 天" in listing
    assert admin.get("/console/admin/merchants/999999").status_code == 404


MERCHANT_FORM_ERRORS = [
    ({"name": ""}, "name", "请填写商家名称"),
    ({"name": "店"}, "name", "太短，无法识别商家"),
    ({"aliases": "好又多|x"}, "aliases", "别名“x”太短"),
    ({"town_code": "999"}, "town_code", "请选择桐乡的镇街"),
    ({"compensation_cap": "-5"}, "compensation_cap", "赔付上限应为大于 0、最多两位小数的金额"),
    ({"compensation_cap": "12.345"}, "compensation_cap", "赔付上限应为大于 0、最多两位小数的金额"),
    ({"advance_compensation": ""}, "compensation_cap", "请同时勾选“先行赔付”"),
    ({"offline_return_days": "3"}, "offline_return_days", "至少 7 天"),
    ({"offline_return_days": "七天"}, "offline_return_days", "应为整数"),
    ({"offline_return_days": "400"}, "offline_return_days", "不能超过 365 天"),
    ({"contact_phone": "call me"}, "contact_phone", "联系电话只能包含数字"),
    ({"name": "老街面馆"}, "name", "同一镇街已有商家“老街面馆”"),
]


def test_a_wrong_merchant_field_is_a_clear_error_and_saves_nothing(admin, db):
    before = count(db, Merchant)
    gym = merchant_row(db, "鼎盛健身")
    edit = f"/console/admin/merchants/{gym.id}"
    for changes, field, message in MERCHANT_FORM_ERRORS:
        for path, base in (("/console/admin/merchants/new", MERCHANT_FORM),
                           (edit, {**MERCHANT_FORM, "name": "鼎盛健身"})):
            response = post(admin, path, {**base, **changes}, page=edit)
            html = response.get_data(as_text=True)
            assert response.status_code == 400 and f'data-field="{field}">' in html and message in html, (path, changes)
            assert "未保存" in html, changes
    assert count(db, Merchant) == before
    assert merchant_row(db, "鼎盛健身").model_dump() == gym.model_dump()


def test_renaming_a_merchant_onto_another_in_the_same_town_is_refused(admin, db):
    noodle = merchant_row(db, "老街面馆")  # 梧桐
    gym = merchant_row(db, "鼎盛健身")     # 梧桐
    edit = f"/console/admin/merchants/{gym.id}"
    response = post(admin, edit, {"name": "老街面馆", "town_code": gym.town_code}, page=edit)
    assert response.status_code == 400 and f"（编号 {noodle.id}）" in response.get_data(as_text=True)
    # the same name in another town is another business
    assert post(admin, edit, {"name": "老街面馆", "town_code": "330483101"}, page=edit).status_code == 303


def test_merchant_search_and_paging(admin, db):
    first = admin.get("/console/admin/merchants").get_data(as_text=True)
    assert "共 32 家" in first and "第 1 / 2 页" in first
    assert "第 2 / 2 页" in admin.get("/console/admin/merchants?page=2").get_data(as_text=True)
    by_alias = admin.get("/console/admin/merchants?q=手机淘宝").get_data(as_text=True)
    assert "共 1 家" in by_alias and ">淘宝</a>" in by_alias
    assert "共 6 家" in admin.get("/console/admin/merchants?flag=platform").get_data(as_text=True)
    assert "共 6 家" in admin.get("/console/admin/merchants?town=none").get_data(as_text=True)
    assert "共 0 家" in admin.get("/console/admin/merchants?q=%25").get_data(as_text=True)  # % is not a wildcard


HEADER = "name,aliases,town,address,is_platform,advance_compensation,compensation_cap,offline_return_days," \
         "direct_settlement,contact_phone\n"


def upload(admin, content: bytes, filename: str = "merchants.csv", dry_run: bool = False):
    data = {"csrf_token": token_of(admin, "/console/admin/merchants/import"),
            "file": (io.BytesIO(content), filename)}
    if dry_run:
        data["dry_run"] = "1"
    return admin.post("/console/admin/merchants/import", data=data, content_type="multipart/form-data")


def test_csv_import_dry_run_then_import(admin, db):
    text = HEADER + ("新开茶饮店,新开茶饮,梧桐,,否,是,800,7,否,0573-88030000\n"
                     "鼎盛健身,鼎盛健身房|鼎盛,梧桐,梧桐街道振兴东路288号3楼,否,是,3000,0,是,0573-88031288\n")
    before = count(db, Merchant)
    dry = upload(admin, text.encode(), dry_run=True)
    html = dry.get_data(as_text=True)
    assert dry.status_code == 200 and "尚未写入" in html and "将新增 1 家，更新 1 家" in html
    assert count(db, Merchant) == before and not merchant_row(db, "鼎盛健身").advance_compensation

    done = upload(admin, text.encode("gb18030"))  # as Excel saves "CSV" on Chinese Windows
    assert done.status_code == 200 and "新增 1 家，更新 1 家" in done.get_data(as_text=True)
    assert count(db, Merchant) == before + 1
    gym = merchant_row(db, "鼎盛健身")
    assert gym.advance_compensation and gym.compensation_cap == Decimal("3000.00") and "鼎盛" in gym.aliases
    assert merchant_row(db, "新开茶饮店").offline_return_days == 7


def test_an_invalid_csv_imports_nothing_and_lists_the_bad_lines(admin, db):
    text = HEADER + ("好店铺甲,,梧桐,,否,否,,0,否,\n"             # line 2: fine
                     "好店铺乙,,火星,,否,否,,0,否,\n"             # line 3: no such town
                     "好店铺丙,,梧桐,,也许,否,,3,否,\n"           # line 4: bad boolean, 3 days
                     "好店铺丁,,梧桐,,否,否,500,0,否,\n"          # line 5: a cap without 先行赔付
                     "好店铺戊,,梧桐\n")                          # line 6: too few fields
    before = count(db, Merchant)
    response = upload(admin, text.encode())
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "未导入任何商家" in html
    for expected in ["第 3 行：镇街（town）“火星”不是桐乡的镇街",
                     "第 4 行：平台（is_platform）只能填“是”或“否”",
                     "第 4 行：线下无理由退货天数（offline_return_days）：无理由退货承诺至少 7 天",
                     "第 5 行：填写了赔付上限（compensation_cap），但先行赔付（advance_compensation）为“否”",
                     "第 6 行：应有 10 列，实际 3 列"]:
        assert expected in html, expected
    assert "第 2 行" not in html
    assert count(db, Merchant) == before and merchant_row(db, "好店铺甲") is None

    header = upload(admin, "name,aliases,colour\n好店铺甲,,red\n".encode())
    assert header.status_code == 400 and "第 1 行：表头缺少列" in header.get_data(as_text=True)
    assert "未知列 “colour”" in header.get_data(as_text=True)
    empty = admin.post("/console/admin/merchants/import", content_type="multipart/form-data",
                       data={"csrf_token": token_of(admin, "/console/admin/merchants/import")})
    assert empty.status_code == 400 and "请选择要导入的 CSV 文件" in empty.get_data(as_text=True)


def test_too_large_an_upload_is_a_clear_error(admin, db):
    response = upload(admin, b"x" * (3 * 1024 * 1024))
    assert response.status_code == 413 and "文件太大" in response.get_data(as_text=True)


def test_export_round_trip(admin, db):
    response = admin.get("/console/admin/merchants/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][0] == "name" and len(rows) == 1 + count(db, Merchant)
    assert ["淘宝", "淘宝网|手机淘宝", "", "", "是", "是", "10000.00", "0", "是", ""] in rows

    again = upload(admin, body, filename="export.csv")
    assert again.status_code == 200 and f"{count(db, Merchant)} 家不变" in again.get_data(as_text=True)
    assert "新增 0 家，更新 0 家" in again.get_data(as_text=True)
    with db.session() as s:  # and straight through the importer, as the CLI would
        report = import_merchants(s, io.StringIO(body.decode("utf-8-sig"), newline=""), dry_run=True)
    assert report.ok and report.unchanged == count(db, Merchant) and not report.changed

"""The dashboard: statistics over a handful of tickets in every state, the page, its role rules and its exports."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from bot.core import clock
from bot.dispatch import first_contact, mediation, statistics as stats
from bot.dispatch.access import visible_filter
from bot.dispatch.audit import Actor
from bot.dispatch.calendar import load_calendar
from bot.jobs import escalation
from models import Staff, Ticket
from tests.console_util import file_ticket, login, make_world

SH = clock.SHANGHAI
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=SH)  # a Thursday in ISO week 2026-W48 (Mon 23 Nov - Sun 29 Nov)
WUTONG, FENGMING, WUZHEN = "330483001", "330483003", "330483100"


@pytest.fixture
def world(db):
    return make_world(db)


def _handler(ticket: Ticket) -> Actor:
    return Actor(kind="staff", bureau_id=ticket.handler_bureau_id, name="经办人")


def _mediate(db, ticket_id: int, accepted: datetime, resolved: datetime, rating: str | None = None) -> None:
    """Accept, record an outcome and (optionally) rate, through the dispatch functions."""
    with db.session() as s:
        ticket, calendar = s.get(Ticket, ticket_id), load_calendar(s)
        first_contact.accept(s, ticket, _handler(ticket), calendar, now=accepted)
        mediation.record_outcome(s, ticket, _handler(ticket), "refund", calendar, now=resolved)
        if rating == "no_rating":
            mediation.close_unrated(s, ticket, now=resolved + timedelta(days=7))
        elif rating:
            mediation.rate(s, ticket, rating == "satisfied", calendar, now=resolved + timedelta(hours=1))


@pytest.fixture
def tickets(db, world) -> dict[str, int]:
    """Ten tickets as of NOW (Thursday 26 Nov 2026 15:00):

    closed: t1 satisfied (2 days), t2 no rating (4 days), t3 unsatisfied twice (7 days), t10 satisfied (1 day);
    rejected t4; withdrawn t9; open: t5 dispatched, t6 dispatched and overdue, t7 at triage, t8 with the merchant.
    """
    ids = {
        "t1": file_ticket(db, NOW - timedelta(days=3), sector="catering", town_code=WUTONG, merchant_name="老街面馆"),
        "t2": file_ticket(db, NOW - timedelta(days=10), sector="catering", town_code=WUZHEN),
        "t3": file_ticket(db, NOW - timedelta(days=9), sector="food", town_code=WUTONG),
        "t4": file_ticket(db, NOW - timedelta(days=2), sector="telecom", town_code=FENGMING),
        "t5": file_ticket(db, NOW - timedelta(days=2), sector="telecom"),
        "t6": file_ticket(db, NOW - timedelta(days=20), sector="express_delivery"),
        "t7": file_ticket(db, NOW - timedelta(hours=1), sector=None, confidence=None),
        "t8": file_ticket(db, NOW - timedelta(days=1), sector="beauty_fitness", town_code=WUTONG,
                          merchant_name="鼎盛健身"),
        "t9": file_ticket(db, NOW - timedelta(days=5), sector="catering", town_code=WUTONG),
        "t10": file_ticket(db, NOW - timedelta(days=4), sector="food", town_code=FENGMING),
    }
    day = timedelta(days=1)
    _mediate(db, ids["t1"], NOW - 3 * day, NOW - 1 * day, "satisfied")
    _mediate(db, ids["t2"], NOW - 10 * day, NOW - 6 * day, "no_rating")
    _mediate(db, ids["t3"], NOW - 9 * day, NOW - 3 * day, "unsatisfied")      # reopened under supervision
    with db.session() as s:                                                    # second outcome, still unsatisfied
        ticket = s.get(Ticket, ids["t3"])
        mediation.record_outcome(s, ticket, _handler(ticket), "refund", load_calendar(s), now=NOW - 2 * day)
        mediation.rate(s, ticket, False, load_calendar(s), now=NOW - 2 * day + timedelta(hours=1))
    _mediate(db, ids["t10"], NOW - 4 * day, NOW - 3 * day, "satisfied")
    with db.session() as s:
        t4 = s.get(Ticket, ids["t4"])
        first_contact.reject(s, t4, _handler(t4), "not_consumption", now=NOW - day)
        mediation.withdraw(s, s.get(Ticket, ids["t9"]), now=NOW - 4 * day)
        escalation.scan(s, NOW)                                                # t6 missed its acceptance deadline
    with db.session() as s:
        states = {name: (s.get(Ticket, i).status, s.get(Ticket, i).rating, s.get(Ticket, i).overdue)
                  for name, i in ids.items()}
    assert states == {"t1": ("closed", "satisfied", False), "t2": ("closed", "no_rating", False),
                      "t3": ("closed", "unsatisfied", False), "t4": ("rejected", None, False),
                      "t5": ("dispatched", None, False), "t6": ("dispatched", None, True),
                      "t7": ("triage", None, False), "t8": ("direct_settlement", None, False),
                      "t9": ("withdrawn", None, False), "t10": ("closed", "satisfied", False)}
    return ids


def staff(session, username: str) -> Staff:
    return session.exec(select(Staff).where(Staff.username == username)).one()


def names(rows) -> dict[str, int]:
    return {r.name: r.count for r in rows}


# -- statistics, directly ---------------------------------------------------------------------------
def test_targets_breakdowns_and_speed_city_wide(db, tickets):
    with db.session() as s:
        handling = stats.handling_rate(s)
        assert (handling.numerator, handling.denominator, handling.rate) == (6, 10, 0.6) and handling.below_target
        rated = stats.satisfaction(s)
        assert (rated.numerator, rated.denominator) == (2, 3) and rated.below_target  # no_rating does not count
        assert stats.overdue_rate(s)[:2] == (1, 4)
        average = stats.average_days_to_resolve(s)
        assert average.tickets == 4 and average.days == pytest.approx((2 + 4 + 7 + 1) / 4)
        assert names(stats.tickets_by_sector(s)) == {"餐饮": 3, "食品": 2, "通信": 2, "快递": 1, "待分拣": 1,
                                                     "美容美发运动健身": 1}
        assert stats.tickets_by_sector(s)[0].name == "餐饮"  # largest first
        assert names(stats.tickets_by_town(s)) == {"梧桐街道": 4, "凤鸣街道": 2, "乌镇镇": 1, "未填镇街": 3}
        assert names(stats.tickets_by_bureau(s)) == {"市场监管局": 5, "经信局": 2, "邮政管理局": 1,
                                                     "市消费投诉受理中心": 1, "商家直接和解": 1}
        overdue = stats.overdue_by_bureau(s)
        assert [(r.name, r.overdue, r.open) for r in overdue] == [
            ("邮政管理局", 1, 1), ("市消费投诉受理中心", 0, 1), ("经信局", 0, 1)]
        assert overdue[0].rate == 1.0
        weeks = stats.tickets_by_week(s, now=NOW)
        assert len(weeks) == 12 and weeks[-1] == ("2026-W48", date(2026, 11, 23), 5)
        assert {w.week: w.count for w in weeks if w.count} == {"2026-W48": 5, "2026-W47": 4, "2026-W45": 1}
        assert weeks[0].start == date(2026, 9, 7) and sum(w.count for w in weeks) == 10


def test_targets_met_and_an_empty_scope(db, world):
    with db.session() as s:
        assert stats.handling_rate(s) == (0, 0, 1.0) and stats.handling_rate(s).rate is None
        assert not stats.handling_rate(s).below_target and stats.satisfaction(s).rate is None
        assert stats.average_days_to_resolve(s) == (None, 0)
        assert stats.tickets_by_sector(s) == [] and stats.overdue_by_bureau(s) == []
        assert [w.count for w in stats.tickets_by_week(s, now=NOW)] == [0] * 12
        assert stats.hotspot_merchants(s, now=NOW) == [] and stats.hotspot_sectors(s, now=NOW) == []
    ticket_id = file_ticket(db, NOW - timedelta(days=3))
    _mediate(db, ticket_id, NOW - timedelta(days=2), NOW - timedelta(days=1), "satisfied")
    with db.session() as s:
        assert stats.handling_rate(s).rate == 1.0 and not stats.handling_rate(s).below_target
        assert stats.satisfaction(s).rate == 1.0 and not stats.satisfaction(s).below_target


def test_a_staff_filter_restricts_every_figure(db, tickets):
    with db.session() as s:
        samr = visible_filter(staff(s, "samr_head"))  # lead of catering and food, co-unit of express and beauty
        assert stats.handling_rate(s, samr)[:2] == (5, 7)
        assert names(stats.tickets_by_sector(s, samr)) == {"餐饮": 3, "食品": 2, "快递": 1, "美容美发运动健身": 1}
        assert stats.satisfaction(s, samr)[:2] == (2, 3)
        station = visible_filter(staff(s, "wutong_station"))  # the town's station sees its town
        assert names(stats.tickets_by_town(s, station)) == {"梧桐街道": 4}
        assert stats.average_days_to_resolve(s, station).days == pytest.approx((2 + 7) / 2)
        postal = visible_filter(staff(s, "postal_handler"))
        assert [(r.name, r.overdue, r.open) for r in stats.overdue_by_bureau(s, postal)] == [("邮政管理局", 1, 1)]
        assert stats.tickets_by_week(s, postal, now=NOW)[-4] == ("2026-W45", date(2026, 11, 2), 1)  # Fri 6 Nov
        admin = visible_filter(staff(s, "admin"))
        assert stats.handling_rate(s, admin)[:2] == (0, 0) and stats.tickets_by_town(s, admin) == []


def test_a_date_range_is_shanghai_calendar_days_on_submission(db, world):
    # Monday 23 Nov 00:30 in Shanghai is still Sunday 22 Nov in UTC
    early_monday = datetime(2026, 11, 23, 0, 30, tzinfo=SH)
    file_ticket(db, early_monday)
    file_ticket(db, early_monday - timedelta(hours=1))  # Sunday 23:30 Shanghai
    with db.session() as s:
        monday = stats.DateRange(date(2026, 11, 23), date(2026, 11, 23))
        sunday = stats.DateRange(None, date(2026, 11, 22))
        assert stats.handling_rate(s, period=monday).denominator == 1
        assert stats.handling_rate(s, period=sunday).denominator == 1
        assert stats.handling_rate(s, period=stats.DateRange(date(2026, 11, 22))).denominator == 2
        weeks = {w.week: w.count for w in stats.tickets_by_week(s, now=NOW)}
        assert weeks["2026-W48"] == 1 and weeks["2026-W47"] == 1


def test_hotspot_merchants_and_sectors(db, world):
    for days in (1, 2):
        file_ticket(db, NOW - timedelta(days=days), merchant_name="老街面馆", town_code=WUTONG)
    file_ticket(db, NOW - timedelta(days=8), merchant_name="老街面馆", town_code=WUTONG)  # before the window
    with db.session() as s:
        assert stats.hotspot_merchants(s, now=NOW) == []
    file_ticket(db, NOW - timedelta(hours=2), merchant_name="老街面馆", town_code=WUTONG)
    with db.session() as s:
        assert [(m.name, m.count) for m in stats.hotspot_merchants(s, now=NOW)] == [("老街面馆", 3)]
        # catering: 3 this week against 1 the week before -> doubled
        assert stats.hotspot_sectors(s, now=NOW) == [("catering", "餐饮", 3, 1)]
        assert stats.hotspot_merchants(s, now=NOW - timedelta(days=3)) == []  # as of an earlier moment
    for days in (9, 10):  # the week before now has 3: no longer doubled
        file_ticket(db, NOW - timedelta(days=days))
    with db.session() as s:
        assert stats.hotspot_sectors(s, now=NOW) == []
        assert stats.new_tickets(s, now=NOW) == 3
        postal = visible_filter(staff(s, "postal_handler"))
        assert stats.hotspot_merchants(s, postal, now=NOW) == [] and stats.new_tickets(s, postal, now=NOW) == 0


def test_the_weekly_digest_figures_come_from_the_same_functions(db, tickets):
    from bot.jobs.digests import city_figures

    with db.session() as s:
        figures = city_figures(s, NOW)
    assert figures == {"total": 10, "handled": 6, "handling_rate": 0.6, "satisfaction": 0.6667, "rated": 3,
                       "overdue_by_bureau": [("邮政管理局", 1)], "hotspot_merchants": [], "hotspot_sectors": [],
                       "this_week": 7}


# -- the page --------------------------------------------------------------------------------------
def page(client, url: str = "/console/dashboard") -> str:
    with clock.frozen(NOW):
        response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def download(client, url: str):
    with clock.frozen(NOW):
        response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response


def csv_sections(data: bytes) -> dict[str, list[list[str]]]:
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel on Chinese Windows reads UTF-8
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    sections: dict[str, list[list[str]]] = {"": []}
    current = ""
    for row in rows:
        if len(row) == 1 and row[0].startswith("【"):
            current = row[0].strip("【】")
            sections[current] = []
        elif row:
            sections[current].append(row)
    return sections


def test_the_city_office_sees_the_whole_city(client, db, tickets):
    login(client, "office")
    html = page(client)
    assert "统计范围：<strong id=\"scope\">全市</strong>" in html
    assert "60.0%" in html and "已处理 6 / 共 10 件" in html and "低于目标" in html
    assert "66.7%" in html and "满意 2 / 已评价 3 件" in html
    assert "3.5 天" in html and "<svg" in html and "通信" in html and "邮政管理局" in html
    assert "W48" in html and "100%（1/1）" in html  # week chart and the overdue rate per bureau
    assert "<script" not in html  # charts are drawn on the server


def test_a_bureau_head_sees_only_what_the_bureau_can_see(client, db, tickets):
    login(client, "samr_head")
    html = page(client)
    assert "市场监管局可见的投诉" in html and "已处理 5 / 共 7 件" in html
    assert "通信" not in html and "经信局" not in html
    sections = csv_sections(download(client, "/console/dashboard/export.csv").data)
    assert dict(sections["按行业"][1:]) == {"餐饮": "3", "食品": "2", "快递": "1", "美容美发运动健身": "1"}


def test_handlers_and_triage_see_the_dashboard_admin_and_merchants_do_not(client, db, tickets):
    assert client.get("/console/dashboard").status_code == 302  # signed out: to the login page
    for username in ("samr_handler", "desk", "wutong_station"):
        login(client, username)
        assert "已处理" in page(client)
    login(client, "desk")
    assert "已处理 0 / 共 1 件" in page(client)  # the triage desk: the ticket at triage
    for username in ("admin", "gym"):
        login(client, username)
        for url in ("/console/dashboard", "/console/dashboard/export.csv", "/console/dashboard/export.xlsx"):
            assert client.get(url).status_code == 403, (username, url)


def test_the_csv_export_has_the_figures(client, db, tickets):
    login(client, "office")
    response = download(client, "/console/dashboard/export.csv")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    sections = csv_sections(response.data)
    meta = dict(sections[""])
    assert meta["统计范围"] == "全市" and meta["提交日期"] == "全部"
    summary = {row[0]: row[1:] for row in sections["概况"][1:]}
    assert summary["纠纷处理率"] == ["60.0%", "100.0%", "6", "10"]
    assert summary["满意率"] == ["66.7%", "85.0%", "2", "3"]
    assert summary["平均办结天数"][0] == "3.5" and summary["投诉总数"][0] == "10"
    assert dict(sections["按镇街"][1:]) == {"梧桐街道": "4", "凤鸣街道": "2", "乌镇镇": "1", "未填镇街": "3"}
    assert dict(sections["按办理单位"][1:])["商家直接和解"] == "1"
    weeks = {row[0]: row[2] for row in sections["按周"][1:]}
    assert len(weeks) == 12 and weeks["2026-W48"] == "5" and weeks["2026-W47"] == "4"
    assert sections["各单位超期率"][1] == ["邮政管理局", "1", "1", "100.0%"]
    assert sections["热点商家"] == [["商家", "近7天件数"]]


def test_the_excel_export_has_the_figures(client, db, tickets):
    login(client, "office")
    response = download(client, "/console/dashboard/export.xlsx")
    assert response.data[:2] == b"PK" and "fangxin-dashboard-all.xlsx" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["概况", "按行业", "按办理单位", "按镇街", "按周", "各单位超期率", "热点商家", "热点行业"]
    summary = {row[0]: row[1:] for row in book["概况"].iter_rows(values_only=True) if row[0]}
    assert summary["统计范围"][0] == "全市"
    assert summary["纠纷处理率"][:4] == (0.6, 1.0, 6, 10)
    assert summary["满意率"][0] == pytest.approx(2 / 3) and summary["平均办结天数"][0] == 3.5
    assert book["概况"]["B7"].number_format == "0.0%"
    sectors = {row[0]: row[1] for row in book["按行业"].iter_rows(min_row=2, values_only=True)}
    assert sectors == {"餐饮": 3, "食品": 2, "通信": 2, "快递": 1, "待分拣": 1, "美容美发运动健身": 1}
    overdue = list(book["各单位超期率"].iter_rows(min_row=2, values_only=True))
    assert overdue[0] == ("邮政管理局", 1, 1, 1.0)


def test_the_date_filter_applies_to_page_and_exports(client, db, tickets):
    login(client, "office")
    html = page(client, "/console/dashboard?from=2026-11-23&to=2026-11-29")
    assert "已处理 2 / 共 5 件" in html and "2026-11-23 至 2026-11-29" in html
    assert 'href="/console/dashboard/export.csv?from=2026-11-23&amp;to=2026-11-29"' in html
    sections = csv_sections(download(client, "/console/dashboard/export.csv?from=2026-11-23&to=2026-11-29").data)
    assert dict(sections[""])["提交日期"] == "2026-11-23 至 2026-11-29"
    assert {row[0]: row[1] for row in sections["概况"][1:]}["投诉总数"] == "5"
    # reversed ends are swapped; nonsense is reported and ignored
    assert "已处理 2 / 共 5 件" in page(client, "/console/dashboard?from=2026-11-29&to=2026-11-23")
    html = page(client, "/console/dashboard?from=yesterday")
    assert "不是有效日期" in html and "共 10 件" in html
    html = page(client, "/console/dashboard?from=0001-01-01&to=9999-12-31")
    assert "超出范围" in html and "共 10 件" in html
    sections = csv_sections(download(client, "/console/dashboard/export.csv?to=2026-11-22").data)  # a Sunday
    assert sections["按周"][-1] == ["2026-W47", "2026-11-16", "4"] and dict(sections[""])["热点截至"] == "2026-11-22 当天结束"
    book = load_workbook(io.BytesIO(download(client, "/console/dashboard/export.xlsx?to=2026-11-15").data))
    assert {r[0]: r[1] for r in book["概况"].iter_rows(values_only=True) if r[0]}["投诉总数"] == 1


def test_a_hotspot_merchant_appears_after_three_tickets(client, db, world):
    login(client, "office")
    for hours in (30, 20):
        file_ticket(db, NOW - timedelta(hours=hours), merchant_name="阿坤羊肉馆", town_code="330483104")
    assert "阿坤羊肉馆" not in page(client)
    file_ticket(db, NOW - timedelta(hours=1), merchant_name="阿坤羊肉馆", town_code="330483104")
    html = page(client)
    hotspots = html[html.index('id="hotspots"'):]
    assert "阿坤羊肉馆" in hotspots and "餐饮" in hotspots  # the merchant, and catering from 0 to 3
    sections = csv_sections(download(client, "/console/dashboard/export.csv").data)
    assert sections["热点商家"][1:] == [["阿坤羊肉馆", "3"]]
    assert sections["热点行业"][1:] == [["餐饮", "3", "0"]]


def test_consumer_typed_names_never_become_formulas(client, db, world):
    for _ in range(3):
        file_ticket(db, NOW - timedelta(hours=2), merchant_name='=HYPERLINK("http://evil.example","点我")')
    login(client, "office")
    sections = csv_sections(download(client, "/console/dashboard/export.csv").data)
    assert sections["热点商家"][1][0].startswith("'=HYPERLINK")
    book = load_workbook(io.BytesIO(download(client, "/console/dashboard/export.xlsx").data))
    cell = book["热点商家"]["A2"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")
    assert 'HYPERLINK(&#34;http' in page(client)  # and escaped on the page


def test_an_empty_database_renders(client, db, world):
    login(client, "office")
    html = page(client)
    assert "暂无数据" in html and "暂无热点" in html and "已处理 0 / 共 0 件" in html
    assert "低于目标" not in html
    sections = csv_sections(download(client, "/console/dashboard/export.csv").data)
    assert {row[0]: row[1] for row in sections["概况"][1:]}["纠纷处理率"] == ""
    assert len(sections["按周"]) == 13
    load_workbook(io.BytesIO(download(client, "/console/dashboard/export.xlsx").data))


def test_the_city_office_lands_on_the_dashboard(client, db, world):
    login(client, "office")
    response = client.get("/console/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/console/dashboard")
    login(client, "samr_handler")
    assert 'href="/console/dashboard"' in client.get("/console/tickets").get_data(as_text=True)

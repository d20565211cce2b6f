"""The weekly unresolved-case digest (Monday 09:00): one per bureau, and the city-wide one for 放心消费办.

Aggregates are computed in SQL (GROUP BY), and ticket lists are streamed
into write-only .xlsx files, so a digest over a million tickets stays within
a modest amount of memory. Each message's dedup key carries the week, so a
re-run for the same week sends nothing new.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import and_, case, func, or_
from sqlmodel import Session, select

from bot.core import clock
from bot.core.spreadsheet import safe_text
from bot.dispatch.parties import bureau_by_code, notify_bureau_staff
from bot.dispatch.statistics import (  # noqa: F401  (HANDLED and the hotspot thresholds: re-exported)
    HANDLED, HOTSPOT_MERCHANT_COUNT, HOTSPOT_SECTOR_MIN, OPEN, city_figures)
from bot.wechat.outbound import notify_staff
from models import Bureau, Role, Sector, Staff, Ticket

AGE_BUCKETS = ((7, "7天内"), (30, "7-30天"), (90, "30-90天"), (None, "90天以上"))
STAGE_NAMES = {"triage": "待分拣", "direct_settlement": "商家和解中", "dispatched": "待受理", "accepted": "调解中",
               "disputed": "管辖协调中"}


def sector_names(session: Session) -> dict[str, str]:
    return {s.key: s.name for s in session.exec(select(Sector))}


def week_period(now: datetime) -> str:
    year, week, _ = clock.local(now).isocalendar()
    return f"{year}-W{week:02d}"


def _age_bucket(days: int) -> str:
    for limit, name in AGE_BUCKETS:
        if limit is None or days < limit:
            return name
    return AGE_BUCKETS[-1][1]


@dataclass
class DigestReport:
    period: str
    bureaus: dict[str, int] = field(default_factory=dict)   # bureau name -> unresolved tickets
    files: list[Path] = field(default_factory=list)
    city: dict = field(default_factory=dict)


def weekly_digest(session: Session, now: datetime, out_dir: Path, base_url: str) -> DigestReport:
    period = week_period(now)
    report = DigestReport(period=period)
    folder = out_dir / period
    folder.mkdir(parents=True, exist_ok=True)
    bureaus = {b.id: b for b in session.exec(select(Bureau))}
    responsible = or_(Ticket.handler_bureau_id == Bureau.id, Ticket.first_contact_bureau_id == Bureau.id)
    counts = session.exec(
        select(Bureau.id, func.count(Ticket.id), func.sum(case((Ticket.overdue == True, 1), else_=0)))  # noqa: E712
        .join(Ticket, and_(responsible, Ticket.status.in_(OPEN))).group_by(Bureau.id)).all()
    for bureau_id, total, overdue in counts:
        bureau = bureaus[bureau_id]
        path, by_age, by_stage, top = _bureau_file(session, bureau, now, folder, base_url)
        report.files.append(path)
        report.bureaus[bureau.name] = total
        lines = [f"【每周未办结投诉】{bureau.name}，{period}：未办结 {total} 件，其中超期 {overdue or 0} 件。",
                 "按时长：" + "，".join(f"{k} {v}" for k, v in by_age.items() if v),
                 "按阶段：" + "，".join(f"{STAGE_NAMES.get(k, k)} {v}" for k, v in by_stage.items()),
                 *top,
                 f"明细（Excel）：{base_url}/console/digests/{period}/{path.name}",
                 f"超期列表：{base_url}/console/tickets?overdue=1"]
        notify_bureau_staff(session, bureau_id, None, f"digest:{period}", "\n".join(lines),
                            roles=(Role.HANDLER, Role.BUREAU_HEAD, Role.TRIAGE, Role.CITY_OFFICE),
                            title=f"每周未办结投诉 {period}")
    report.city = city_digest(session, now, folder, base_url)
    return report


def _bureau_file(session: Session, bureau: Bureau, now: datetime, folder: Path, base_url: str):
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("未办结投诉")
    sheet.append(["单号", "是否超期", "阶段", "类别", "商家", "受理日期", "已过天数", "本单位身份", "链接"])
    names = sector_names(session)
    by_age: dict[str, int] = {name: 0 for _, name in AGE_BUCKETS}
    by_stage: dict[str, int] = defaultdict(int)
    top: list[str] = []
    query = (select(Ticket.id, Ticket.number, Ticket.overdue, Ticket.status, Ticket.sector_key, Ticket.merchant_name,
                    Ticket.created_at, Ticket.handler_bureau_id)
             .where(Ticket.status.in_(OPEN), or_(Ticket.handler_bureau_id == bureau.id,
                                                Ticket.first_contact_bureau_id == bureau.id))
             .order_by(Ticket.overdue.desc(), Ticket.created_at))
    for row in session.exec(query.execution_options(yield_per=2000)):
        age = (clock.local(now).date() - clock.local(row.created_at).date()).days
        by_age[_age_bucket(age)] += 1
        by_stage[row.status] += 1
        role = "办理" if row.handler_bureau_id == bureau.id else "首接"
        sheet.append([row.number, "超期" if row.overdue else "", STAGE_NAMES.get(row.status, row.status),
                      names.get(row.sector_key, "待分拣"), safe_text(row.merchant_name or ""),
                      clock.local(row.created_at).strftime("%Y-%m-%d"), age, role,
                      f"{base_url}/console/tickets/{row.id}"])
        if len(top) < 10:
            top.append(f"{'⚠超期 ' if row.overdue else ''}{row.number} {STAGE_NAMES.get(row.status, row.status)} "
                       f"{age}天 {row.merchant_name or ''}".rstrip())
    path = folder / f"{bureau.code}.xlsx"
    book.save(path)
    return path, by_age, dict(by_stage), top


def city_digest(session: Session, now: datetime, folder: Path, base_url: str) -> dict:
    from openpyxl import Workbook

    figures = city_figures(session, now)
    period = week_period(now)
    book = Workbook(write_only=True)
    summary = book.create_sheet("概况")
    summary.append(["指标", "数值"])
    summary.append(["投诉总数", figures["total"]])
    summary.append(["处理率（目标100%）", figures["handling_rate"]])
    summary.append(["满意率（目标85%）", figures["satisfaction"]])
    summary.append(["本周新增", figures["this_week"]])
    overdue = book.create_sheet("各单位超期")
    overdue.append(["单位", "超期件数"])
    for row in figures["overdue_by_bureau"]:
        overdue.append(list(row))
    hot = book.create_sheet("热点")
    hot.append(["类型", "名称", "近7天件数", "前7天件数"])
    for name, n in figures["hotspot_merchants"]:
        hot.append(["商家", safe_text(name), n, ""])
    for name, n, before in figures["hotspot_sectors"]:
        hot.append(["行业", name, n, before])
    path = folder / "city.xlsx"
    book.save(path)
    satisfaction = f"{figures['satisfaction']:.0%}" if figures["satisfaction"] is not None else "暂无评价"
    lines = [f"【全市每周简报】{period}：累计投诉 {figures['total']} 件，处理率 {figures['handling_rate']:.1%}"
             f"（目标100%），满意率 {satisfaction}（目标85%），本周新增 {figures['this_week']} 件。",
             "各单位超期：" + ("，".join(f"{n} {c}件" for n, c in figures["overdue_by_bureau"][:10]) or "无"),
             "热点商家（7天内≥3件）：" + ("，".join(f"{n} {c}件" for n, c in figures["hotspot_merchants"][:10]) or "无"),
             "热点行业（周环比翻倍）：" + ("，".join(f"{n} {c}件（上周{b}）" for n, c, b in figures["hotspot_sectors"])
                                   or "无"),
             f"明细（Excel）：{base_url}/console/digests/{period}/city.xlsx",
             f"仪表盘：{base_url}/console/dashboard"]
    office = bureau_by_code(session, "office")
    for staff in session.exec(select(Staff).where(Staff.active == True, or_(  # noqa: E712
            Staff.bureau_id == office.id, Staff.role == Role.CITY_OFFICE))):
        notify_staff(session, staff, dedup_key=f"city_digest:{period}:{staff.id}", kind="city_digest",
                     title=f"全市每周简报 {period}", body="\n".join(lines))
    figures["file"] = str(path)
    return figures

"""The console dashboard: the plan's targets, breakdowns and hotspots, with CSV and Excel exports.

City office staff see the whole city; bureau staff (handler, bureau head,
triage) see the tickets their bureau stands on (`visible_filter`). Charts are
inline SVG drawn here, so the page needs no JavaScript.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import render_template, request, send_file
from markupsafe import Markup, escape

from bot.console import bp
from bot.console.auth import current_staff, roles_required
from bot.core import clock
from bot.core.spreadsheet import safe_text
from bot.core.context import database
from bot.dispatch import statistics as stats
from bot.dispatch.access import visible_filter
from models import Bureau, Role, Staff

DASHBOARD_ROLES = (Role.CITY_OFFICE, Role.BUREAU_HEAD, Role.HANDLER, Role.TRIAGE)
HOTSPOT_ROWS = 30  # merchants listed on the page; the exports have them all
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)  # dates outside are typos (and would overflow)


# -- the figures -----------------------------------------------------------------------------------
@dataclass
class Dashboard:
    scope: str
    period: stats.DateRange
    generated_at: datetime
    as_of: datetime                      # hotspots and weeks are counted back from here
    handling: stats.Ratio
    satisfaction: stats.Ratio
    overdue: stats.Ratio
    resolve: stats.Average
    by_sector: list[stats.Count]
    by_bureau: list[stats.Count]
    by_town: list[stats.Count]
    by_week: list[stats.WeekCount]
    overdue_by_bureau: list[stats.BureauRate]
    hotspot_merchants: list[stats.Count]
    hotspot_sectors: list[stats.SectorSurge]
    errors: list[str] = field(default_factory=list)

    @property
    def as_of_text(self) -> str:
        if self.as_of < self.generated_at:
            return f"{self.period.end.isoformat()} 当天结束"
        return clock.local(self.as_of).strftime("%Y-%m-%d %H:%M")

    @property
    def period_text(self) -> str:
        if not self.period:
            return "全部"
        start = self.period.start.isoformat() if self.period.start else "最早"
        end = self.period.end.isoformat() if self.period.end else "今天"
        return f"{start} 至 {end}"


def build(session, staff: Staff, period: stats.DateRange, now: datetime | None = None) -> Dashboard:
    now = now or clock.now()
    where = visible_filter(staff)
    as_of = min(now, period.end_before) if period.end else now
    if staff.role == Role.CITY_OFFICE:
        scope = "全市"
    else:
        bureau = session.get(Bureau, staff.bureau_id) if staff.bureau_id else None
        scope = f"{bureau.name}可见的投诉" if bureau else "本单位可见的投诉"
    return Dashboard(
        scope=scope, period=period, generated_at=now, as_of=as_of,
        handling=stats.handling_rate(session, where, period),
        satisfaction=stats.satisfaction(session, where, period),
        overdue=stats.overdue_rate(session, where, period),
        resolve=stats.average_days_to_resolve(session, where, period),
        by_sector=stats.tickets_by_sector(session, where, period),
        by_bureau=stats.tickets_by_bureau(session, where, period),
        by_town=stats.tickets_by_town(session, where, period),
        # as_of may be the midnight after the range: the last week is the one holding the range's last day
        by_week=stats.tickets_by_week(session, where, period, now=as_of - timedelta(microseconds=1)),
        overdue_by_bureau=stats.overdue_by_bureau(session, where, period),
        hotspot_merchants=stats.hotspot_merchants(session, where, now=as_of),
        hotspot_sectors=stats.hotspot_sectors(session, where, now=as_of),
    )


def _parse_day(text: str | None, label: str, errors: list[str]) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        errors.append(f"{label}“{text}”不是有效日期（格式：2026-01-31），已忽略")
        return None
    if not EARLIEST <= day <= LATEST:
        errors.append(f"{label}“{text}”超出范围（{EARLIEST.year}–{LATEST.year} 年），已忽略")
        return None
    return day


def _request_period() -> tuple[stats.DateRange, list[str]]:
    errors: list[str] = []
    start = _parse_day(request.args.get("from"), "起始日期", errors)
    end = _parse_day(request.args.get("to"), "结束日期", errors)
    if start and end and start > end:
        errors.append("起始日期晚于结束日期，已互换")
        start, end = end, start
    return stats.DateRange(start, end), errors


def _current_dashboard() -> Dashboard:
    period, errors = _request_period()
    with database().session() as session:
        figures = build(session, current_staff(), period)
    figures.errors = errors
    return figures


def _query(period: stats.DateRange) -> dict[str, str]:
    query = {}
    if period.start:
        query["from"] = period.start.isoformat()
    if period.end:
        query["to"] = period.end.isoformat()
    return query


# -- charts: inline SVG, drawn on the server ---------------------------------------------------------
BLUE, RED, GREY = "#0b63c5", "#d64545", "#9aa5b1"
LABEL_W, BAR_W, ROW_H = 150, 250, 24
MAX_LABEL = 12


def _short(name: str) -> str:
    return name if len(name) <= MAX_LABEL else name[:MAX_LABEL - 1] + "…"


def _svg_open(width: int, height: int, title: str) -> str:
    return (f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
            f'style="max-width:{width}px;height:auto" role="img" aria-label="{escape(title)}">'
            f'<title>{escape(title)}</title>')


def _text(x: float, y: float, content: str, size: int = 12, fill: str = "#1f2933", anchor: str = "start") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{fill}">'
            f'{escape(content)}</text>')


def bar_chart(rows: list[tuple[str, float, str]], title: str, maximum: float | None = None,
              colors: list[str] | None = None) -> Markup:
    """Horizontal bars: rows of (label, value, text shown after the bar)."""
    if not rows:
        return Markup('<p class="muted">暂无数据</p>')
    top = maximum if maximum is not None else max(value for _, value, _ in rows)
    width, height = LABEL_W + BAR_W + 100, ROW_H * len(rows) + 8
    parts = [_svg_open(width, height, title)]
    for i, (label, value, text) in enumerate(rows):
        y = 4 + i * ROW_H
        length = BAR_W * value / top if top else 0
        parts += [f'<g><title>{escape(label)}：{escape(text)}</title>',
                  _text(LABEL_W - 8, y + 16, _short(label), anchor="end"),
                  f'<rect x="{LABEL_W}" y="{y + 3}" width="{BAR_W}" height="{ROW_H - 8}" fill="#f0f3f6"/>',
                  f'<rect x="{LABEL_W}" y="{y + 3}" width="{length:.1f}" height="{ROW_H - 8}" '
                  f'fill="{colors[i] if colors else BLUE}"/>',
                  _text(LABEL_W + BAR_W + 6, y + 16, text, fill="#52606d"), "</g>"]
    parts.append("</svg>")
    return Markup("".join(parts))


def column_chart(weeks: list[stats.WeekCount], title: str) -> Markup:
    """Vertical columns, one per ISO week, oldest on the left."""
    if not weeks:
        return Markup('<p class="muted">暂无数据</p>')
    top = max(w.count for w in weeks) or 1
    col, plot_h, base = 70, 150, 175
    width, height = col * len(weeks) + 20, 215
    parts = [_svg_open(width, height, title),
             f'<line x1="10" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#cbd2d9"/>']
    for i, w in enumerate(weeks):
        x, h = 10 + i * col, plot_h * w.count / top
        middle = x + col / 2
        parts += [f'<g><title>{w.week}（{w.start:%m-%d} 起）：{w.count} 件</title>',
                  f'<rect x="{x + 10}" y="{base - h:.1f}" width="{col - 20}" height="{h:.1f}" fill="{BLUE}"/>',
                  _text(middle, base - h - 4, str(w.count), size=11, anchor="middle"),
                  _text(middle, base + 15, f"W{w.week[-2:]}", size=11, fill="#52606d", anchor="middle"),
                  _text(middle, base + 30, f"{w.start:%m-%d}", size=10, fill="#7b8794", anchor="middle"), "</g>"]
    parts.append("</svg>")
    return Markup("".join(parts))


def _percent(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def charts(d: Dashboard) -> dict[str, Markup]:
    def counts(rows: list[stats.Count]) -> list[tuple[str, float, str]]:
        return [(r.name, r.count, f"{r.count} 件") for r in rows]

    overdue_rows = [(r.name, r.rate, f"{_percent(r.rate, 0)}（{r.overdue}/{r.open}）") for r in d.overdue_by_bureau]
    overdue_colors = [RED if r.overdue else GREY for r in d.overdue_by_bureau]
    return {
        "sector": bar_chart(counts(d.by_sector), "按行业统计投诉件数"),
        "bureau": bar_chart(counts(d.by_bureau), "按办理单位统计投诉件数"),
        "town": bar_chart(counts(d.by_town), "按镇街统计投诉件数"),
        "week": column_chart(d.by_week, "近12周每周投诉件数"),
        "overdue": bar_chart(overdue_rows, "各办理单位超期率（超期未办结/未办结）", maximum=1.0, colors=overdue_colors),
    }


# -- pages -----------------------------------------------------------------------------------------
@bp.get("/dashboard")
@roles_required(*DASHBOARD_ROLES)
def dashboard():
    figures = _current_dashboard()
    return render_template("console/dashboard.html", d=figures, charts=charts(figures), query=_query(figures.period),
                           percent=_percent, hotspot_rows=HOTSPOT_ROWS)


# -- exports ---------------------------------------------------------------------------------------
class Pct(float):
    """A rate: shown as a percentage in CSV, stored as a number with a % format in Excel."""


def _pct(value: float | None):
    return Pct(value) if value is not None else ""


def meta(d: Dashboard) -> list[tuple[str, str]]:
    return [("统计范围", d.scope), ("提交日期", d.period_text),
            ("生成时间", clock.local(d.generated_at).strftime("%Y-%m-%d %H:%M")),
            ("热点截至", d.as_of_text)]


def sections(d: Dashboard) -> list[tuple[str, list[str], list[list]]]:
    """The dashboard's figures as tables: (title, header, rows)."""
    avg = round(d.resolve.days, 1) if d.resolve.days is not None else ""
    return [
        ("概况", ["指标", "数值", "目标", "分子", "分母"], [
            ["纠纷处理率", _pct(d.handling.rate), Pct(stats.HANDLING_TARGET), d.handling.numerator, d.handling.denominator],
            ["满意率", _pct(d.satisfaction.rate), Pct(stats.SATISFACTION_TARGET), d.satisfaction.numerator,
             d.satisfaction.denominator],
            ["超期率（未办结）", _pct(d.overdue.rate), "", d.overdue.numerator, d.overdue.denominator],
            ["平均办结天数", avg, "", "", d.resolve.tickets],
            ["投诉总数", d.handling.denominator, "", "", ""],
        ]),
        ("按行业", ["行业", "件数"], [[r.name, r.count] for r in d.by_sector]),
        ("按办理单位", ["办理单位", "件数"], [[r.name, r.count] for r in d.by_bureau]),
        ("按镇街", ["镇街", "件数"], [[r.name, r.count] for r in d.by_town]),
        ("按周", ["周次", "起始日", "件数"], [[w.week, w.start.isoformat(), w.count] for w in d.by_week]),
        ("各单位超期率", ["办理单位", "超期件数", "未办结件数", "超期率"],
         [[r.name, r.overdue, r.open, Pct(r.rate)] for r in d.overdue_by_bureau]),
        ("热点商家", ["商家", "近7天件数"], [[r.name, r.count] for r in d.hotspot_merchants]),
        ("热点行业", ["行业", "近7天件数", "前7天件数"], [[s.name, s.count, s.before] for s in d.hotspot_sectors]),
    ]


def _csv_cell(value):
    if isinstance(value, Pct):
        return f"{value * 100:.1f}%"
    if isinstance(value, str):
        return safe_text(value)
    return value


def to_csv(d: Dashboard) -> bytes:
    """UTF-8 with a byte-order mark and CRLF, so Excel on Chinese Windows opens it without mojibake."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for key, value in meta(d):
        writer.writerow([key, safe_text(value)])
    for title, header, rows in sections(d):
        writer.writerow([])
        writer.writerow([f"【{title}】"])
        writer.writerow(header)
        writer.writerows([_csv_cell(v) for v in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(d: Dashboard) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    bold = Font(bold=True)

    def put(sheet, row: int, values: list, header: bool = False) -> None:
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=row, column=column)
            if isinstance(value, Pct):
                cell.value, cell.number_format = float(value), "0.0%"
            else:
                cell.value = value
                if isinstance(value, str):
                    cell.data_type = "s"  # never a formula, whatever the text starts with
            if header:
                cell.font = bold

    for index, (title, header, rows) in enumerate(sections(d)):
        sheet = book.create_sheet(title)
        row = 1
        if index == 0:
            for key, value in meta(d):
                put(sheet, row, [key, value])
                row += 1
            row += 1
        put(sheet, row, header, header=True)
        for values in rows:
            row += 1
            put(sheet, row, values)
        sheet.column_dimensions["A"].width = 24
        for letter in "BCDE":
            sheet.column_dimensions[letter].width = 14
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _filename(d: Dashboard, ext: str) -> str:
    stamp = "-".join(filter(None, [d.period.start and d.period.start.isoformat(),
                                   d.period.end and d.period.end.isoformat()])) or "all"
    return f"fangxin-dashboard-{stamp}.{ext}"


@bp.get("/dashboard/export.csv")
@roles_required(*DASHBOARD_ROLES)
def dashboard_export_csv():
    figures = _current_dashboard()
    return send_file(io.BytesIO(to_csv(figures)), mimetype="text/csv; charset=utf-8", as_attachment=True,
                     download_name=_filename(figures, "csv"), max_age=0)


@bp.get("/dashboard/export.xlsx")
@roles_required(*DASHBOARD_ROLES)
def dashboard_export_xlsx():
    figures = _current_dashboard()
    return send_file(io.BytesIO(to_xlsx(figures)), as_attachment=True, download_name=_filename(figures, "xlsx"),
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", max_age=0)

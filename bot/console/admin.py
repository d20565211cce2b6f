"""Administration pages of the console (role ``admin`` only; every other role gets 403).

Overview with calendar and scheduler warnings, bureaus, staff accounts (create, disable, password, WeChat
binding, API token), the merchant registry (search, edit, CSV import/export), the holiday table and job
status. Every form posts with its CSRF token; a form with a wrong field is shown again with a Chinese
message next to that field and nothing is written.
"""
from __future__ import annotations

import ast
import calendar as month_calendar
import io
import logging
import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import Response, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from werkzeug.exceptions import RequestEntityTooLarge

from bot import staff as accounts
from bot.console import bp
from bot.console.auth import current_staff, keep_session_after_password_change, roles_required
from bot.core import clock
from bot.core.context import database
from bot.dispatch.calendar import load_calendar, package_covers
from bot.dispatch.merchants import (
    MAX_RETURN_DAYS,
    CSV_COLUMNS,
    FieldProblem,
    decode_csv_bytes,
    export_merchants,
    import_merchants,
    normalise_name,
    parse_cap,
    parse_contact_phone,
    parse_return_days,
)
from bot.jobs import leader
from bot.jobs.tasks import Job, configured_jobs
from models import Bureau, BureauKind, Holiday, JobRun, Merchant, Role, SchedulerLease, Staff, TicketDeadline, Town

log = logging.getLogger(__name__)

admin_only = roles_required(Role.ADMIN)

ADMIN_PAGE_SIZE = 25
WARN_MONTHS = 15  # the calendar warning looks this far ahead

ROLE_NAMES = {Role.HANDLER: "办理人员", Role.BUREAU_HEAD: "单位负责人", Role.TRIAGE: "分拣员",
              Role.CITY_OFFICE: "放心消费办人员", Role.MERCHANT: "商家", Role.ADMIN: "系统管理员"}
KIND_NAMES = {BureauKind.GOVERNMENT: "政府部门", BureauKind.COMPANY: "企业", BureauKind.GROUP: "行业集体",
              BureauKind.DESK: "投诉受理中心", BureauKind.OFFICE: "放心消费办", BureauKind.TOWN_STATION: "镇街维权站"}
JOB_NAMES = {"escalation": "超期预警与督办", "weekly_digest": "每周未办结通报", "outbox": "消息补发"}
WEEKDAYS = "一二三四五六日"
COLUMN_NAMES = {"name": "名称", "aliases": "别名", "town": "镇街", "address": "地址", "is_platform": "平台",
                "advance_compensation": "先行赔付", "compensation_cap": "赔付上限",
                "offline_return_days": "线下无理由退货天数", "direct_settlement": "直接和解（ODR）",
                "contact_phone": "联系电话"}

_ALIAS_SPLIT = re.compile(r"[|、,，;；\r\n]+")
_MAX_HOLIDAY_SPAN = 31


class _Rollback(Exception):
    """Leave a `database().session()` block without committing."""


def _field(name: str) -> str:
    return (request.form.get(name) or "").strip()


def _checked(name: str) -> bool:
    return request.form.get(name) in ("1", "on", "true", "yes")


def _page() -> int:
    return max(1, request.args.get("page", 1, type=int) or 1)


def _add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, month_calendar.monthrange(year, month)[1]))


@bp.app_template_filter("weekday_cn")
def _weekday_cn(day: date) -> str:
    return "周" + WEEKDAYS[day.weekday()]


@bp.app_template_filter("masked_openid")
def _masked_openid(openid: str | None) -> str:
    return accounts.mask_openid(openid)


# ---------------------------------------------------------------------------
# overview and jobs

@dataclass
class JobStatus:
    job: Job
    label: str
    schedule: str
    last: JobRun | None       # the latest period, whatever its outcome
    last_done: JobRun | None  # the latest period that finished
    next_run: datetime
    late: bool                # no finished run for a slot that should have one by now


def _schedule(job: Job) -> str:
    if job.every_seconds:
        seconds = job.every_seconds
        if seconds % 3600 == 0:
            return f"每 {seconds // 3600} 小时"
        if seconds % 60 == 0:
            return f"每 {seconds // 60} 分钟"
        return f"每 {seconds} 秒"
    return f"每周{WEEKDAYS[job.weekday]} {job.hour:02d}:{job.minute:02d}"


def _expected_period(job: Job, now: datetime) -> str:
    """The latest period that should be finished by now (the slot before the current one, or an hour's grace)."""
    due = job.last_due(now)
    if job.every_seconds:
        return job.period(due - timedelta(seconds=job.every_seconds))
    return job.period(now) if now - due > timedelta(hours=1) else job.period(due - timedelta(days=1))


def _jobs() -> dict[str, Job]:
    return configured_jobs(os.environ.get("FANGXIN_JOB_INTERVALS"))


def _job_statuses(session, now: datetime) -> list[JobStatus]:
    statuses = []
    for job in _jobs().values():
        # periods sort chronologically and (job, period) is indexed: no scan of the run history
        last = session.exec(select(JobRun).where(JobRun.job == job.name)
                            .order_by(JobRun.period.desc()).limit(1)).first()
        done = session.exec(select(JobRun).where(JobRun.job == job.name, JobRun.status == "done")
                            .order_by(JobRun.period.desc()).limit(1)).first()
        late = done is None or done.period < _expected_period(job, now)
        statuses.append(JobStatus(job, JOB_NAMES.get(job.name, job.name), _schedule(job), last, done,
                                  job.next_run(now), late))
    return statuses


def _lease(session, now: datetime) -> tuple[SchedulerLease | None, bool]:
    lease = session.get(SchedulerLease, leader.LEASE)
    alive = bool(lease and lease.holder and lease.expires_at and lease.expires_at > now)
    return lease, alive


@bp.get("/admin")
@admin_only
def admin_home():
    now = clock.now()
    with database().session() as session:
        calendar = load_calendar(session)
        horizon = _add_months(now.date(), WARN_MONTHS)
        uncovered = calendar.uncovered_years(now.date(), horizon)
        provisional_open = session.exec(select(func.count()).select_from(TicketDeadline).where(
            TicketDeadline.provisional == True, TicketDeadline.met_at.is_(None))).one()  # noqa: E712
        jobs = _job_statuses(session, now)
        lease, lease_alive = _lease(session, now)
        counts = {
            "staff": session.exec(select(func.count()).select_from(Staff).where(Staff.active == True)).one(),  # noqa: E712
            "disabled": session.exec(select(func.count()).select_from(Staff).where(Staff.active == False)).one(),  # noqa: E712
            "bureaus": session.exec(select(func.count()).select_from(Bureau)).one(),
            "merchants": session.exec(select(func.count()).select_from(Merchant)).one(),
        }
    return render_template("console/admin_home.html", uncovered=uncovered, horizon=horizon,
                           provisional_open=provisional_open, jobs=jobs, lease=lease, lease_alive=lease_alive,
                           counts=counts, now=now)


@bp.get("/admin/jobs")
@admin_only
def admin_jobs():
    now = clock.now()
    with database().session() as session:
        jobs = _job_statuses(session, now)
        lease, lease_alive = _lease(session, now)
        history = {job.name: session.exec(select(JobRun).where(JobRun.job == job.name)
                                          .order_by(JobRun.period.desc()).limit(20)).all()
                   for job in _jobs().values()}
    return render_template("console/admin_jobs.html", jobs=jobs, lease=lease, lease_alive=lease_alive,
                           history=history, now=now)


# ---------------------------------------------------------------------------
# bureaus

@bp.get("/admin/bureaus")
@admin_only
def admin_bureaus():
    with database().session() as session:
        bureaus = session.exec(select(Bureau).order_by(Bureau.kind, Bureau.id)).all()
        totals = dict(session.exec(select(Staff.bureau_id, func.count()).group_by(Staff.bureau_id)).all())
        active = dict(session.exec(select(Staff.bureau_id, func.count()).where(Staff.active == True)  # noqa: E712
                                   .group_by(Staff.bureau_id)).all())
        towns = {t.code: t.name for t in session.exec(select(Town))}
    return render_template("console/admin_bureaus.html", bureaus=bureaus, totals=totals, active=active,
                           towns=towns, kinds=KIND_NAMES)


# ---------------------------------------------------------------------------
# staff

def _bureau_choices(session) -> list[tuple[str, list[Bureau]]]:
    bureaus = session.exec(select(Bureau).order_by(Bureau.id)).all()
    return [(KIND_NAMES[kind], [b for b in bureaus if b.kind == kind]) for kind in BureauKind
            if any(b.kind == kind for b in bureaus)]


@bp.get("/admin/staff")
@admin_only
def admin_staff():
    args = request.args
    page = _page()
    with database().session() as session:
        query = select(Staff)
        if args.get("q"):
            term = args["q"].strip().lower()
            query = query.where(or_(func.lower(Staff.username).contains(term, autoescape=True),
                                    func.lower(Staff.display_name).contains(term, autoescape=True)))
        if args.get("role") in ROLE_NAMES:
            query = query.where(Staff.role == args["role"])
        if args.get("bureau", type=int):
            query = query.where(Staff.bureau_id == args.get("bureau", type=int))
        if args.get("state") == "disabled":
            query = query.where(Staff.active == False)  # noqa: E712
        elif args.get("state") == "active":
            query = query.where(Staff.active == True)  # noqa: E712
        total = session.exec(select(func.count()).select_from(query.subquery())).one()
        rows = session.exec(query.order_by(Staff.active.desc(), Staff.bureau_id, Staff.username)
                            .offset((page - 1) * ADMIN_PAGE_SIZE).limit(ADMIN_PAGE_SIZE)).all()
        bureaus = {b.id: b.name for b in session.exec(select(Bureau))}
        merchants = {m.id: m.name for m in session.exec(
            select(Merchant).where(Merchant.id.in_({s.merchant_id for s in rows if s.merchant_id})))}
        choices = _bureau_choices(session)
    pages = max(1, (total + ADMIN_PAGE_SIZE - 1) // ADMIN_PAGE_SIZE)
    return render_template("console/admin_staff.html", staff=rows, total=total, page=page, pages=pages, args=args,
                           bureaus=bureaus, merchants=merchants, roles=ROLE_NAMES, bureau_choices=choices)


def _check_password(errors: dict, password: str, confirm: str) -> None:
    if len(password) < accounts.MIN_PASSWORD:
        errors["password"] = f"密码至少 {accounts.MIN_PASSWORD} 个字符"
    elif len(password) > accounts.MAX_PASSWORD:
        errors["password"] = f"密码不能超过 {accounts.MAX_PASSWORD} 个字符"
    elif password != confirm:
        errors["password2"] = "两次输入的密码不一致"


def _find_merchant(session, text: str) -> tuple[Merchant | None, str | None]:
    """The merchant named by a number or an exact name, or an error message."""
    if text.isdigit():
        merchant = session.get(Merchant, int(text))
        return (merchant, None) if merchant else (None, f"没有编号为 {text} 的商家")
    rows = session.exec(select(Merchant).where(Merchant.name == text)).all()
    if not rows:
        return None, f"商家库中没有名为“{text}”的商家（可填写商家编号）"
    if len(rows) > 1:
        ids = "、".join(str(m.id) for m in rows)
        return None, f"有 {len(rows)} 家商家名为“{text}”（编号 {ids}），请填写商家编号"
    return rows[0], None


def _validate_new_staff(session) -> tuple[dict, dict]:
    errors: dict[str, str] = {}
    username = _field("username")
    display_name = _field("display_name")
    role = _field("role")
    bureau_id = request.form.get("bureau_id", type=int)
    merchant_text = _field("merchant")
    password, confirm = request.form.get("password") or "", request.form.get("password2") or ""

    if not username:
        errors["username"] = "请填写用户名"
    elif len(username) > 60:
        errors["username"] = "用户名不能超过 60 个字符"
    elif any(ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in username):
        errors["username"] = "用户名不能包含空格或控制字符"
    else:
        taken = session.exec(select(Staff).where(func.lower(Staff.username) == username.lower())).first()
        if taken is not None:
            errors["username"] = (f"用户名“{username}”已被使用，请换一个" if taken.username == username else
                                  f"用户名“{username}”与已有账号“{taken.username}”仅大小写不同，请换一个")
    if len(display_name) > 60:
        errors["display_name"] = "姓名不能超过 60 个字符"

    bureau = None
    merchant = None
    if role not in ROLE_NAMES:
        errors["role"] = "请选择角色"
    elif role == Role.MERCHANT:
        if bureau_id:
            errors["bureau_id"] = "商家账号不属于任何单位，请选择“（无）”"
        if not merchant_text:
            errors["merchant"] = "商家账号需要填写所属商家（名称或编号）"
        else:
            merchant, problem = _find_merchant(session, merchant_text)
            if problem:
                errors["merchant"] = problem
    else:
        if merchant_text:
            errors["merchant"] = "只有商家账号需要填写商家"
        bureau = session.get(Bureau, bureau_id) if bureau_id else None
        if bureau is None:
            errors["bureau_id"] = "请选择所属单位"
        elif bureau.kind not in accounts.ROLE_BUREAU_KINDS[Role(role)]:
            allowed = "、".join(KIND_NAMES[k] for k in BureauKind if k in accounts.ROLE_BUREAU_KINDS[Role(role)])
            errors["bureau_id"] = (f"“{ROLE_NAMES[role]}”不能属于{KIND_NAMES.get(bureau.kind, bureau.kind)}"
                                   f"“{bureau.name}”；可选的单位类型：{allowed}")
    _check_password(errors, password, confirm)
    values = dict(username=username, display_name=display_name, role=role, password=password,
                  bureau=bureau.name if bureau else None, merchant_id=merchant.id if merchant else None)
    return values, errors


@bp.route("/admin/staff/new", methods=["GET", "POST"])
@admin_only
def admin_staff_new():
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            with database().session() as session:
                values, errors = _validate_new_staff(session)
                if errors:
                    raise _Rollback
                staff = accounts.create_staff(session, **values)
                staff_id, username = staff.id, staff.username
        except _Rollback:
            pass
        except IntegrityError:  # the same username created at the same moment elsewhere
            errors = {"username": f"用户名“{_field('username')}”已被使用，请换一个"}
        except accounts.StaffError as exc:
            errors = {"form": f"账号未创建：{exc}"}
        if not errors:
            log.info("admin %s created staff %s (%s)", current_staff().username, username, _field("role"))
            flash(f"已创建账号“{username}”，可以用设置的初始密码登录", "success")
            return redirect(url_for("console.admin_staff_detail", staff_id=staff_id), 303)
    with database().session() as session:
        choices = _bureau_choices(session)
    return render_template("console/admin_staff_new.html", errors=errors, form=request.form, roles=ROLE_NAMES,
                           bureau_choices=choices, min_password=accounts.MIN_PASSWORD), 400 if errors else 200


def _render_staff(staff_id: int, *, errors: dict | None = None, token: str | None = None, status: int = 200):
    with database().session() as session:
        staff = session.get(Staff, staff_id)
        if staff is None:
            abort(404)
        bureau = session.get(Bureau, staff.bureau_id) if staff.bureau_id else None
        merchant = session.get(Merchant, staff.merchant_id) if staff.merchant_id else None
    response = Response(render_template("console/admin_staff_detail.html", staff=staff, bureau=bureau,
                                        merchant=merchant, roles=ROLE_NAMES, errors=errors or {}, new_token=token,
                                        min_password=accounts.MIN_PASSWORD), status)
    if token:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/admin/staff/<int:staff_id>")
@admin_only
def admin_staff_detail(staff_id: int):
    return _render_staff(staff_id)


def _staff_change(staff_id: int, change, success: str):
    """Run `change(session, staff)` (returns an error dict, or a token); redirect or show the errors."""
    errors: dict = {}
    token = None
    try:
        with database().session() as session:
            staff = session.exec(select(Staff).where(Staff.id == staff_id).with_for_update()).first()
            if staff is None:
                abort(404)
            result = change(session, staff)
            if isinstance(result, dict) and result:
                errors = result
                raise _Rollback
            token = result if isinstance(result, str) else None
            username = staff.username
    except _Rollback:
        pass
    except accounts.StaffError as exc:
        errors = {"form": f"操作未完成：{exc}"}
    if errors:
        return _render_staff(staff_id, errors=errors, status=400)
    log.info("admin %s: %s (%s)", current_staff().username, success, username)
    flash(success.format(username=username), "success")
    if token:
        return _render_staff(staff_id, token=token)
    return redirect(url_for("console.admin_staff_detail", staff_id=staff_id), 303)


@bp.post("/admin/staff/<int:staff_id>/active")
@admin_only
def admin_staff_active(staff_id: int):
    if request.form.get("active") not in ("0", "1"):
        abort(400)
    active = request.form["active"] == "1"

    def change(session, staff):
        if not active and staff.id == current_staff().id:
            return {"active": "不能停用自己的账号"}
        accounts.set_active(session, staff, active)

    return _staff_change(staff_id, change, "已启用账号“{username}”" if active else
                         "已停用账号“{username}”：该账号不能再登录，已登录的会话也已失效")


@bp.post("/admin/staff/<int:staff_id>/password")
@admin_only
def admin_staff_password(staff_id: int):
    def change(session, staff):
        errors: dict = {}
        _check_password(errors, request.form.get("password") or "", request.form.get("password2") or "")
        if errors:
            return errors
        accounts.reset_password(session, staff, request.form["password"])
        keep_session_after_password_change(staff)

    return _staff_change(staff_id, change, "已为“{username}”设置新密码，该账号已登录的会话已失效；"
                                           "请当面或通过安全渠道告知本人")


@bp.post("/admin/staff/<int:staff_id>/wechat")
@admin_only
def admin_staff_wechat(staff_id: int):
    openid = _field("openid")

    def change(session, staff):
        if not openid:
            return {"openid": "请填写 openid"}
        if not re.fullmatch(r"[A-Za-z0-9_-]{6,64}", openid):
            return {"openid": "openid 应为 6–64 位字母、数字、“-”或“_”（在公众号后台“用户管理”中可查到）"}
        other = session.exec(select(Staff).where(Staff.wechat_openid == openid, Staff.id != staff.id)).first()
        if other is not None:
            return {"openid": f"该微信已绑定到账号“{other.username}”，请先在该账号解绑"}
        accounts.bind_wechat(session, staff, openid)

    return _staff_change(staff_id, change, "已为“{username}”绑定微信，新工单等提醒将同时发到微信")


@bp.post("/admin/staff/<int:staff_id>/wechat/unbind")
@admin_only
def admin_staff_wechat_unbind(staff_id: int):
    def change(session, staff):
        if not accounts.unbind_wechat(session, staff):
            return {"openid": "该账号没有绑定微信"}

    return _staff_change(staff_id, change, "已为“{username}”解绑微信")


@bp.post("/admin/staff/<int:staff_id>/token")
@admin_only
def admin_staff_token(staff_id: int):
    def change(session, staff):
        if not staff.active:
            return {"token": "账号已停用，不能签发接口令牌"}
        return accounts.issue_api_token(session, staff.username)

    return _staff_change(staff_id, change, "已为“{username}”签发新的接口令牌（原令牌即刻失效）")


@bp.post("/admin/staff/<int:staff_id>/token/revoke")
@admin_only
def admin_staff_token_revoke(staff_id: int):
    def change(session, staff):
        if not accounts.revoke_api_token(session, staff.username):
            return {"token": "该账号没有接口令牌"}

    return _staff_change(staff_id, change, "已吊销“{username}”的接口令牌")


# ---------------------------------------------------------------------------
# merchants

def _merchant_search(session, args) -> tuple[int, list[Merchant]]:
    query = select(Merchant)
    if args.get("q"):
        term = unicodedata.normalize("NFKC", args["q"]).strip()
        folded = term.casefold()
        # aliases are a JSON list: matched here rather than in SQL (JSON text is escaped differently per backend)
        alias_ids = [id_ for id_, aliases in session.exec(select(Merchant.id, Merchant.aliases))
                     if any(folded in unicodedata.normalize("NFKC", a).casefold() for a in aliases or [])]
        query = query.where(or_(func.lower(Merchant.name).contains(term.lower(), autoescape=True),
                                Merchant.contact_phone.contains(term, autoescape=True),
                                Merchant.id.in_(alias_ids)))
    if args.get("town") == "none":
        query = query.where(Merchant.town_code.is_(None))
    elif args.get("town"):
        query = query.where(Merchant.town_code == args["town"])
    flag = args.get("flag")
    if flag == "platform":
        query = query.where(Merchant.is_platform == True)  # noqa: E712
    elif flag == "advance":
        query = query.where(Merchant.advance_compensation == True)  # noqa: E712
    elif flag == "direct":
        query = query.where(Merchant.direct_settlement == True)  # noqa: E712
    elif flag == "returns":
        query = query.where(Merchant.offline_return_days > 0)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Merchant.name, Merchant.id)
                        .offset((_page() - 1) * ADMIN_PAGE_SIZE).limit(ADMIN_PAGE_SIZE)).all()
    return total, rows


@bp.get("/admin/merchants")
@admin_only
def admin_merchants():
    with database().session() as session:
        total, rows = _merchant_search(session, request.args)
        towns = {t.code: t.name for t in session.exec(select(Town).order_by(Town.code))}
    page = _page()
    pages = max(1, (total + ADMIN_PAGE_SIZE - 1) // ADMIN_PAGE_SIZE)
    return render_template("console/admin_merchants.html", merchants=rows, total=total, page=page, pages=pages,
                           args=request.args, towns=towns)


def _merchant_values(session, merchant_id: int | None) -> tuple[dict, dict]:
    """The form's merchant fields, checked by the rules of the CSV import, and errors per field."""
    errors: dict[str, str] = {}
    values: dict = {}
    name = unicodedata.normalize("NFKC", _field("name")).strip()
    if not name:
        errors["name"] = "请填写商家名称"
    elif len(name) > 120:
        errors["name"] = "商家名称不能超过 120 个字符"
    elif len(normalise_name(name)) < 2:
        errors["name"] = f"商家名称“{name}”太短，无法识别商家"
    values["name"] = name

    aliases: list[str] = []
    seen = {normalise_name(name)}
    for alias in _ALIAS_SPLIT.split(unicodedata.normalize("NFKC", request.form.get("aliases") or "")):
        alias = alias.strip()
        if not alias:
            continue
        if len(alias) > 120:
            errors["aliases"] = f"别名“{alias[:20]}…”超过 120 个字符"
        elif len(normalise_name(alias)) < 2:
            errors["aliases"] = f"别名“{alias}”太短，无法识别商家"
        elif normalise_name(alias) not in seen:
            seen.add(normalise_name(alias))
            aliases.append(alias)
    values["aliases"] = aliases

    town = _field("town_code")
    if town and session.get(Town, town) is None:
        errors["town_code"] = "请选择桐乡的镇街（网络平台可不选）"
    values["town_code"] = town or None

    address = _field("address")
    if len(address) > 200:
        errors["address"] = "地址不能超过 200 个字符"
    values["address"] = address or None

    values["is_platform"] = _checked("is_platform")
    values["advance_compensation"] = _checked("advance_compensation")
    values["direct_settlement"] = _checked("direct_settlement")

    try:
        values["compensation_cap"] = parse_cap(_field("compensation_cap"))
    except FieldProblem:
        values["compensation_cap"] = None
        errors["compensation_cap"] = "赔付上限应为大于 0、最多两位小数的金额（元）；不设上限请留空"
    else:
        if values["compensation_cap"] is not None and not values["advance_compensation"]:
            errors["compensation_cap"] = "填写了赔付上限，请同时勾选“先行赔付”（或清空上限）"

    try:
        values["offline_return_days"] = parse_return_days(_field("offline_return_days"))
    except FieldProblem as problem:
        values["offline_return_days"] = 0
        errors["offline_return_days"] = {
            "not_integer": "线下无理由退货天数应为整数（0 表示不承诺）",
            "below_minimum": "线下无理由退货承诺至少 7 天（0 表示不承诺）",
            "above_maximum": f"线下无理由退货天数不能超过 {MAX_RETURN_DAYS} 天"}[problem.code]

    try:
        values["contact_phone"] = parse_contact_phone(_field("contact_phone"))
    except FieldProblem:
        values["contact_phone"] = None
        errors["contact_phone"] = "联系电话只能包含数字、+、-、括号和空格（分机用“转”），最多 20 位"

    if "name" not in errors and "town_code" not in errors:
        # the import matches rows by normalised name + town: two such merchants could never be imported again
        key = normalise_name(name)
        same_town = session.exec(select(Merchant.id, Merchant.name).where(
            Merchant.town_code == values["town_code"] if values["town_code"] else Merchant.town_code.is_(None),
            Merchant.id != (merchant_id or 0))).all()
        clash = next((m for m in same_town if normalise_name(m[1]) == key), None)
        if clash is not None:
            errors["name"] = f"同一镇街已有商家“{clash[1]}”（编号 {clash[0]}），名称视为相同；请修改该商家"
    return values, errors


def _merchant_form(merchant_id: int | None):
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            with database().session() as session:
                merchant = None
                if merchant_id is not None:
                    merchant = session.exec(select(Merchant).where(Merchant.id == merchant_id)
                                            .with_for_update()).first()
                    if merchant is None:
                        abort(404)
                values, errors = _merchant_values(session, merchant_id)
                if errors:
                    raise _Rollback
                if merchant is None:
                    merchant = Merchant(**values)
                else:
                    for attr, value in values.items():
                        setattr(merchant, attr, value)
                session.add(merchant)
                session.flush()
                saved_id, saved_name = merchant.id, merchant.name
        except _Rollback:
            pass
        if not errors:
            log.info("admin %s saved merchant #%s %s", current_staff().username, saved_id, saved_name)
            flash(f"已保存商家“{saved_name}”", "success")
            return redirect(url_for("console.admin_merchant_edit", merchant_id=saved_id), 303)
    with database().session() as session:
        merchant = session.get(Merchant, merchant_id) if merchant_id is not None else None
        if merchant_id is not None and merchant is None:
            abort(404)
        towns = session.exec(select(Town).order_by(Town.code)).all()
        staff = session.exec(select(Staff).where(Staff.merchant_id == merchant_id)).all() if merchant else []
    if request.method == "POST":
        form = request.form
    elif merchant is not None:
        form = {"name": merchant.name, "aliases": "|".join(merchant.aliases or []), "town_code": merchant.town_code or "",
                "address": merchant.address or "", "contact_phone": merchant.contact_phone or "",
                "compensation_cap": "" if merchant.compensation_cap is None else f"{merchant.compensation_cap:.2f}",
                "offline_return_days": str(merchant.offline_return_days),
                "is_platform": "1" if merchant.is_platform else "",
                "advance_compensation": "1" if merchant.advance_compensation else "",
                "direct_settlement": "1" if merchant.direct_settlement else ""}
    else:
        form = {"offline_return_days": "0"}
    return render_template("console/admin_merchant_form.html", merchant=merchant, form=form, errors=errors,
                           towns=towns, staff=staff, roles=ROLE_NAMES), 400 if errors else 200


@bp.route("/admin/merchants/new", methods=["GET", "POST"])
@admin_only
def admin_merchant_new():
    return _merchant_form(None)


@bp.route("/admin/merchants/<int:merchant_id>", methods=["GET", "POST"])
@admin_only
def admin_merchant_edit(merchant_id: int):
    return _merchant_form(merchant_id)


# the importer's messages ("line 7: offline_return_days must be ...") in Chinese; unknown ones pass through
def _quoted(text: str) -> str:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return f"“{value}”" if isinstance(value, str) else text


def _col(name: str) -> str:
    return f"{COLUMN_NAMES.get(name, name)}（{name}）"


def _header_problems(text: str) -> str:
    parts = []
    for part in text.split("; "):
        kind, _, rest = part.partition(" ")
        label = {"missing": "缺少列", "unknown": "未知列", "repeated": "重复列"}.get(kind)
        names = "、".join(_quoted(name) if name[:1] in "'\"" else name for name in rest.split(", "))
        parts.append(f"{label} {names}" if label else part)
    return "；".join(parts)


_IMPORT_MESSAGES: list[tuple[re.Pattern, object]] = [(re.compile(p, re.S), t) for p, t in [
    (r"name is required", lambda m: f"{_col('name')}不能为空"),
    (r"name is longer than 120 characters", lambda m: f"{_col('name')}不能超过 120 个字符"),
    (r"name (?P<v>.+) is too short to identify a merchant", lambda m: f"{_col('name')}{_quoted(m['v'])}太短，无法识别商家"),
    (r"aliases: (?P<v>.+)… is longer than 120 characters", lambda m: f"{_col('aliases')}{_quoted(m['v'])}… 超过 120 个字符"),
    (r"aliases: (?P<v>.+) is too short to identify a merchant",
     lambda m: f"{_col('aliases')}{_quoted(m['v'])}太短，无法识别商家"),
    (r"town (?P<v>.+) is not a town of 桐乡 .*",
     lambda m: f"{_col('town')}{_quoted(m['v'])}不是桐乡的镇街（请填写镇街名称、简称或区划代码，网络平台留空）"),
    (r"address is longer than 200 characters", lambda m: f"{_col('address')}不能超过 200 个字符"),
    (r"(?P<c>\w+) must be 是/否 .*, not (?P<v>.+)",
     lambda m: f"{_col(m['c'])}只能填“是”或“否”（也可 true/false、1/0、y/n），不能是{_quoted(m['v'])}"),
    (r"compensation_cap must be an amount .*, not (?P<v>.+)",
     lambda m: f"{_col('compensation_cap')}应为大于 0、最多两位小数的金额（元；不设上限请留空），不能是{_quoted(m['v'])}"),
    (r"compensation_cap is set but advance_compensation is 否",
     lambda m: f"填写了{_col('compensation_cap')}，但{_col('advance_compensation')}为“否”"),
    (r"offline_return_days must be a whole number ≥ 0", lambda m: f"{_col('offline_return_days')}应为不小于 0 的整数"),
    (r"offline_return_days: a no-reason return pledge is at least 7 days.*",
     lambda m: f"{_col('offline_return_days')}：无理由退货承诺至少 7 天（0 表示不承诺）"),
    (r"offline_return_days must be at most (?P<n>\d+)", lambda m: f"{_col('offline_return_days')}不能超过 {m['n']} 天"),
    (r"contact_phone (?P<v>.+) is not a phone number.*",
     lambda m: f"{_col('contact_phone')}{_quoted(m['v'])}不是电话号码（数字、+、-、空格，最多 20 位）"),
    (r"name repeats line (?P<n>\d+) .*",
     lambda m: f"与第 {m['n']} 行是同一商家（名称和镇街相同）；所有别名请写在同一行"),
    (r"name matches (?P<n>\d+) merchants of the registry \(ids (?P<ids>[^)]*)\).*",
     lambda m: f"名称与商家库中 {m['n']} 家商家相同（编号 {m['ids']}），请先在商家库中合并"),
    (r"expected (?P<a>\d+) fields, found (?P<b>\d+)", lambda m: f"应有 {m['a']} 列，实际 {m['b']} 列"),
    (r"not valid CSV \((?P<e>.*)\)", lambda m: f"不是有效的 CSV 格式（{m['e']}）"),
    (r"header row required.*", lambda m: f"缺少表头行（应为：{','.join(CSV_COLUMNS)}）"),
    (r"header (?P<p>.*) \(expected: (?P<cols>.*)\)",
     lambda m: f"表头{_header_problems(m['p'])}（应为：{m['cols']}）"),
]]
_LINE = re.compile(r"^line (\d+): (.*)$", re.S)


def import_error_cn(message: str) -> tuple[int | None, str]:
    """(line number, Chinese message) of one import error."""
    match = _LINE.match(message)
    line, text = (int(match[1]), match[2]) if match else (None, message)
    for pattern, render in _IMPORT_MESSAGES:
        found = pattern.fullmatch(text)
        if found:
            return line, render(found)
    return line, text


def _import_page(report=None, errors=None, dry_run=False, filename="", status=200):
    return render_template("console/admin_merchant_import.html", report=report, errors=errors or [],
                           dry_run=dry_run, filename=filename, columns=CSV_COLUMNS, column_names=COLUMN_NAMES), status


@bp.route("/admin/merchants/import", methods=["GET", "POST"])
@admin_only
def admin_merchant_import():
    if request.method == "GET":
        return _import_page()
    dry_run = _checked("dry_run")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _import_page(errors=[(None, "请选择要导入的 CSV 文件")], dry_run=dry_run, status=400)
    data = upload.read()
    filename = upload.filename
    if not data.strip():
        return _import_page(errors=[(None, "文件是空的")], dry_run=dry_run, filename=filename, status=400)
    try:
        text = decode_csv_bytes(data)
    except UnicodeDecodeError:
        return _import_page(errors=[(None, "无法识别文件编码：请保存为 UTF-8 或 GBK 编码的 CSV")], dry_run=dry_run,
                            filename=filename, status=400)
    report = None
    try:
        with database().session() as session:
            report = import_merchants(session, io.StringIO(text, newline=""), dry_run=dry_run)
            if dry_run or not report.ok:
                raise _Rollback  # all or nothing: an invalid file writes nothing
    except _Rollback:
        pass
    if not report.ok:
        return _import_page(report, [import_error_cn(e) for e in report.errors], dry_run, filename, 400)
    log.info("admin %s imported merchants from %s%s: %d new, %d updated, %d unchanged", current_staff().username,
             filename, " (dry run)" if dry_run else "", report.inserted, report.updated, report.unchanged)
    if not dry_run:
        flash(f"已导入“{filename}”：新增 {report.inserted} 家，更新 {report.updated} 家，"
              f"未变 {report.unchanged} 家", "success")
    return _import_page(report, dry_run=dry_run, filename=filename)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc):
    staff = current_staff()
    if request.endpoint == "console.admin_merchant_import" and staff is not None and staff.role == Role.ADMIN:
        return _import_page(errors=[(None, "文件太大（上限 2 MB）；请分成几个文件导入")], status=413)
    return exc


@bp.get("/admin/merchants/export.csv")
@admin_only
def admin_merchant_export():
    buffer = io.StringIO(newline="")
    with database().session() as session:
        count = export_merchants(session, buffer)
    log.info("admin %s exported %d merchants", current_staff().username, count)
    body = ("\ufeff" + buffer.getvalue()).encode("utf-8")  # the BOM makes Excel read UTF-8
    filename = f"merchants-{clock.today():%Y%m%d}.csv"
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Content-Type": "text/csv; charset=utf-8", "Cache-Control": "no-store"})


# ---------------------------------------------------------------------------
# holidays

def _holiday_years(today: date) -> tuple[int, int]:
    """The years the table accepts: last year to five years ahead."""
    return today.year - 1, today.year + 5


def _year_status(session, years: list[int]) -> dict[int, dict]:
    counts = {}
    for day in session.exec(select(Holiday.day)):
        counts[day.year] = counts.get(day.year, 0) + 1
    return {year: {"package": package_covers(year), "rows": counts.get(year, 0)} for year in years}


def _render_holidays(year: int, errors: dict | None = None, form=None, status: int = 200):
    today = clock.today()
    low, high = _holiday_years(today)
    with database().session() as session:
        rows = session.exec(select(Holiday).where(Holiday.day >= date(year, 1, 1), Holiday.day <= date(year, 12, 31))
                            .order_by(Holiday.day)).all()
        listed = sorted({*range(today.year, today.year + 3),
                         *(d.year for d in session.exec(select(Holiday.day))), year})
        status_by_year = _year_status(session, listed)
    return render_template("console/admin_holidays.html", year=year, rows=rows, years=status_by_year,
                           errors=errors or {}, form=form or {}, low=low, high=high), status


def _default_year() -> int:
    today = clock.today()
    with database().session() as session:
        uncovered = load_calendar(session).uncovered_years(today, _add_months(today, WARN_MONTHS))
    return uncovered[0] if uncovered else today.year


@bp.get("/admin/holidays")
@admin_only
def admin_holidays():
    year = request.args.get("year", type=int) or _default_year()
    if not 1900 <= year <= 2200:
        abort(404)
    return _render_holidays(year)


def _parse_date(text: str) -> date | None:
    text = unicodedata.normalize("NFKC", text).strip().replace("/", "-").replace(".", "-")
    match = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


@bp.post("/admin/holidays")
@admin_only
def admin_holiday_add():
    errors: dict[str, str] = {}
    low, high = _holiday_years(clock.today())
    kind = _field("kind")
    name = _field("name")
    first = _parse_date(_field("day")) if _field("day") else None
    last = _parse_date(_field("until")) if _field("until") else None
    if not _field("day"):
        errors["day"] = "请填写日期"
    elif first is None:
        errors["day"] = f"日期“{_field('day')}”无效，格式应为 年-月-日，如 2027-02-06"
    elif not low <= first.year <= high:
        errors["day"] = f"只能登记 {low}–{high} 年的日期"
    if _field("until") and last is None:
        errors["until"] = f"日期“{_field('until')}”无效，格式应为 年-月-日"
    if kind not in ("holiday", "workday"):
        errors["kind"] = "请选择“放假”或“调休上班”"
    if len(name) > 40:
        errors["name"] = "名称不能超过 40 个字符"
    days: list[date] = []
    if first and not errors.get("day") and not errors.get("until"):
        last = last or first
        if last < first:
            errors["until"] = "结束日期不能早于开始日期"
        elif last.year != first.year:
            errors["until"] = "一次只能登记同一年内的日期"
        elif (last - first).days + 1 > _MAX_HOLIDAY_SPAN:
            errors["until"] = f"一次最多登记 {_MAX_HOLIDAY_SPAN} 天"
        elif kind == "workday" and last != first:
            errors["until"] = "调休上班日请逐天登记"
        else:
            days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    if kind == "workday" and days and days[0].weekday() < 5:
        errors["day"] = f"{days[0]:%Y-%m-%d} 是{_weekday_cn(days[0])}，本来就是工作日；调休上班日应为周六或周日"
    year = first.year if first and low <= first.year <= high else (request.form.get("year", type=int)
                                                                   or clock.today().year)
    if not errors:
        try:
            with database().session() as session:
                existing = session.exec(select(Holiday).where(Holiday.day.in_(days))).all()
                if existing:
                    listed = "、".join(f"{h.day:%m-%d}（{'调休上班' if h.workday else '放假'}）" for h in existing)
                    errors["day"] = f"已登记过：{listed}；如需修改请先删除"
                    raise _Rollback
                for day in days:
                    session.add(Holiday(day=day, workday=kind == "workday", name=name))
                session.flush()
        except _Rollback:
            pass
        except IntegrityError:
            errors["day"] = "该日期刚被登记过，请刷新后再试"
    if errors:
        return _render_holidays(year, errors, request.form, 400)
    label = "调休上班日" if kind == "workday" else "放假日"
    span = f"{days[0]:%Y-%m-%d}" + (f" 至 {days[-1]:%Y-%m-%d}（{len(days)} 天）" if len(days) > 1 else "")
    log.info("admin %s added %s %s %s", current_staff().username, kind, span, name)
    flash(f"已登记{label} {span}{(' ' + name) if name else ''}", "success")
    return redirect(url_for("console.admin_holidays", year=year), 303)


@bp.post("/admin/holidays/<day>/delete")
@admin_only
def admin_holiday_delete(day: str):
    parsed = _parse_date(day)
    if parsed is None:
        abort(404)
    with database().session() as session:
        row = session.get(Holiday, parsed)
        if row is None:
            abort(404)
        workday = row.workday
        session.delete(row)
    log.info("admin %s deleted holiday row %s", current_staff().username, parsed)
    flash(f"已删除 {parsed:%Y-%m-%d}（{'调休上班' if workday else '放假'}）", "success")
    return redirect(url_for("console.admin_holidays", year=parsed.year), 303)

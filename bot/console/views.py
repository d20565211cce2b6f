"""Console pages for bureau staff: the queue, a ticket's full story and its actions, the inbox, digests."""
from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from sqlalchemy import func, or_
from sqlmodel import select

from bot.console import bp
from bot.console.auth import current_staff, login_required
from bot.core import clock
from bot.core.context import database, settings
from bot.dispatch.access import phone_for, visible_filter
from bot.dispatch.actions import ACTIONS, Action, ActionError, allowed_actions, perform
from models import (
    Attachment,
    Bureau,
    InboundMessage,
    Notification,
    Role,
    Sector,
    Staff,
    Ticket,
    TicketDeadline,
    TicketEvent,
    TicketStatus,
    Town,
)

PAGE_SIZE = 25
STATUS_NAMES = {"triage": "待分拣", "direct_settlement": "商家和解中", "dispatched": "待受理", "accepted": "调解中",
                "disputed": "管辖协调中", "resolved": "已办结待评价", "rejected": "不予受理", "withdrawn": "已撤回",
                "closed": "已结案"}
EVENT_LABELS = {
    "submitted": "消费者提交投诉", "merchant_matched": "匹配到登记商家", "merchant_unmatched": "商家未登记（按原文记录）",
    "return_entitled": "符合无理由退货", "compensation_claim_opened": "适用先行赔付", "compensation_claim_refused": "先行赔付不适用",
    "routed_to_triage": "进入人工分拣", "triaged": "分拣完成", "dispatched": "转交办理", "direct_settlement_started": "转商家直接和解",
    "merchant_offer": "商家提出和解方案", "settled_directly": "直接和解成功", "direct_settlement_failed": "直接和解未成",
    "accepted": "受理", "rejected": "不予受理", "handed_on": "移交", "hand_back_refused": "退回被拒绝（管辖争议）",
    "jurisdiction_disputed": "提请管辖协调", "jurisdiction_decided": "指定办理单位", "resolved": "办结",
    "rated": "消费者评价", "reopened_for_supervision": "不满意，重新打开督办", "closed_without_rating": "未评价结案",
    "withdrawn": "消费者撤回", "supplemented": "消费者补充材料", "replied_to_consumer": "回复消费者",
    "sector_corrected": "更正类别", "deadline_warning": "时限提醒", "escalated": "督办",
    "compensation_agreed": "承诺先行赔付", "compensation_paid": "已先行赔付", "compensation_received": "消费者确认收到赔付",
    "compensation_recovery": "向供货方追偿", "compensation_refused": "先行赔付超出限额", "compensation_overdue": "先行赔付逾期未付",
}
DEADLINE_NAMES = {"triage": "分拣", "merchant_answer": "商家答复", "direct_settlement": "商家和解", "acceptance": "受理决定",
                  "jurisdiction": "管辖决定", "mediation": "调解", "compensation_payment": "先行赔付支付", "rating": "消费者评价"}


def local(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return clock.local(moment).strftime(fmt) if moment else ""


@bp.app_template_filter("local")
def _local_filter(moment, fmt="%Y-%m-%d %H:%M"):
    return local(moment, fmt)


@bp.app_template_filter("urlencode_args")
def _urlencode_args(args, **changes) -> str:
    from urllib.parse import urlencode

    merged = {k: v for k, v in args.items() if v not in ("", None)}
    merged.update({k: v for k, v in changes.items()})
    return urlencode(merged)


@bp.get("/")
@login_required
def home():
    staff = current_staff()
    from flask import current_app

    if staff.role == Role.ADMIN and "console.admin_home" in current_app.view_functions:
        return redirect(url_for("console.admin_home"))
    if staff.role == Role.CITY_OFFICE and "console.dashboard" in current_app.view_functions:
        return redirect(url_for("console.dashboard"))
    if staff.role == Role.ADMIN:
        return redirect(url_for("console.inbox"))
    return redirect(url_for("console.queue"))


def _names(session) -> tuple[dict, dict, dict]:
    sectors = {s.key: s.name for s in session.exec(select(Sector))}
    bureaus = {b.id: b.name for b in session.exec(select(Bureau))}
    towns = {t.code: t.name for t in session.exec(select(Town))}
    return sectors, bureaus, towns


def _parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@bp.get("/tickets")
@login_required
def queue():
    staff = current_staff()
    if staff.role == Role.ADMIN:
        abort(403)
    args = request.args
    page = max(1, args.get("page", 1, type=int) or 1)
    with database().session() as session:
        query = select(Ticket).where(visible_filter(staff))
        if args.get("status") in STATUS_NAMES:
            query = query.where(Ticket.status == args["status"])
        elif args.get("status") == "open":
            query = query.where(Ticket.status.in_(TicketStatus.open_states()))
        if args.get("sector"):
            query = query.where(Ticket.sector_key == args["sector"])
        if args.get("town"):
            query = query.where(Ticket.town_code == args["town"])
        if args.get("overdue") == "1":
            query = query.where(Ticket.overdue == True)  # noqa: E712
        if args.get("mine") == "1" and staff.bureau_id:
            query = query.where(Ticket.handler_bureau_id == staff.bureau_id)
        start, end = _parse_day(args.get("from")), _parse_day(args.get("to"))
        if start:
            query = query.where(Ticket.created_at >= datetime.combine(start, time(), clock.SHANGHAI))
        if end:
            query = query.where(Ticket.created_at < datetime.combine(end, time.max, clock.SHANGHAI))
        if args.get("q"):
            term = f"%{args['q'].strip()}%"
            query = query.where(or_(Ticket.number.ilike(term), Ticket.merchant_name.ilike(term)))
        total = session.exec(select(func.count()).select_from(query.subquery())).one()
        rows = session.exec(query.order_by(Ticket.overdue.desc(), Ticket.created_at.desc())
                            .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
        sectors, bureaus, towns = _names(session)
        due = {d.ticket_id: d for d in session.exec(
            select(TicketDeadline).where(TicketDeadline.ticket_id.in_([t.id for t in rows]),
                                         TicketDeadline.met_at.is_(None)).order_by(TicketDeadline.due_at.desc()))}
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    return render_template("console/queue.html", tickets=rows, total=total, page=page, pages=pages, args=args,
                           sectors=sectors, bureaus=bureaus, towns=towns, due=due, statuses=STATUS_NAMES,
                           deadline_names=DEADLINE_NAMES)


def _visible_ticket(session, ticket_id: int, for_update: bool = False) -> Ticket:
    """The ticket if the signed-in staff may see it; 404 otherwise (no hint that it exists)."""
    staff = current_staff()
    query = select(Ticket).where(Ticket.id == ticket_id, visible_filter(staff))
    if for_update:  # an action and an escalation scan on the same ticket take turns
        query = query.with_for_update(of=Ticket)
    ticket = session.exec(query).first()
    if ticket is None:
        abort(404)
    return ticket


@bp.get("/tickets/<int:ticket_id>")
@login_required
def ticket_page(ticket_id: int):
    staff = current_staff()
    with database().session() as session:
        ticket = _visible_ticket(session, ticket_id)
        sectors, bureaus, towns = _names(session)
        events = session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                              .order_by(TicketEvent.id)).all()
        deadlines = session.exec(select(TicketDeadline).where(TicketDeadline.ticket_id == ticket.id)
                                 .order_by(TicketDeadline.started_at)).all()
        messages = session.exec(select(InboundMessage).where(InboundMessage.ticket_id == ticket.id)
                                .order_by(InboundMessage.id)).all()
        attachments = session.exec(select(Attachment).where(Attachment.ticket_id == ticket.id)).all()
        actions = allowed_actions(staff, ticket)
        choices = {a.name: {p.name: Action.choices_for(session, p) for p in a.params
                            if p.kind in ("choice", "bureau", "sector")} for a in actions}
        staff_names = {s.id: s.display_name or s.username for s in session.exec(
            select(Staff).where(Staff.id.in_({e.actor_staff_id for e in events if e.actor_staff_id})))}
    reasons = []
    if staff.role in (Role.HANDLER, Role.BUREAU_HEAD, Role.TRIAGE, Role.CITY_OFFICE) and ticket.description:
        reasons = _reasons(ticket)
    return render_template("console/ticket.html", ticket=ticket, sectors=sectors, bureaus=bureaus, towns=towns,
                           events=events, deadlines=deadlines, messages=messages, attachments=attachments,
                           actions=actions, choices=choices, phone=phone_for(staff, ticket), reasons=reasons,
                           statuses=STATUS_NAMES, deadline_names=DEADLINE_NAMES, staff_names=staff_names,
                           event_labels=EVENT_LABELS,
                           errors=request.args.get("error"), now=clock.now())


def _reasons(ticket: Ticket) -> list[tuple[str, float]]:
    """The terms that weighed most for the classifier's sector (for staff only)."""
    from bot.classifier.model import ModelError
    from bot.classifier.runtime import get_classifier

    cfg = settings()
    try:
        model = get_classifier(cfg.model_path, cfg.secret_key, train_if_missing=False)
    except ModelError:
        return []
    label = ticket.classifier_top[0][0] if ticket.classifier_top else ticket.sector_key
    return model.explain(ticket.description, label) if label else []


@bp.post("/tickets/<int:ticket_id>/actions/<name>")
@login_required
def ticket_action(ticket_id: int, name: str):
    staff = current_staff()
    if name not in ACTIONS:
        abort(404)
    try:
        with database().session() as session:
            ticket = _visible_ticket(session, ticket_id, for_update=True)
            message = perform(session, staff, ticket, name, request.form.to_dict())
    except ActionError as exc:
        flash(f"操作未完成：{exc}", "error")
        return redirect(url_for("console.ticket_page", ticket_id=ticket_id, error=exc.field or "action") + "#actions"), 303
    outbox = _outbox()
    if outbox is not None:
        try:
            outbox.deliver_pending(limit=50)
        except Exception:  # delivery is retried by the outbox job; the action itself is done
            pass
    flash(message, "success")
    return redirect(url_for("console.ticket_page", ticket_id=ticket_id)), 303


def _outbox():
    from flask import current_app

    endpoint = current_app.extensions.get("wechat_endpoint")
    return endpoint.outbox if endpoint else None


@bp.get("/inbox")
@login_required
def inbox():
    staff = current_staff()
    with database().session() as session:
        notes = session.exec(select(Notification).where(Notification.staff_id == staff.id,
                                                        Notification.channel == "console")
                             .order_by(Notification.id.desc()).limit(100)).all()
        unread = [n.id for n in notes if n.read_at is None]
        for note in session.exec(select(Notification).where(Notification.id.in_(unread))):
            note.read_at = clock.now()
            session.add(note)
    return render_template("console/inbox.html", notes=notes, unread=set(unread))


@bp.get("/digests/<period>/<filename>")
@login_required
def digest_file(period: str, filename: str):
    """A weekly digest workbook: a bureau's own, or the city's for the city office."""
    staff = current_staff()
    if not filename.endswith(".xlsx") or "/" in period or ".." in period or "/" in filename:
        abort(404)
    with database().session() as session:
        own = session.get(Bureau, staff.bureau_id) if staff.bureau_id else None
    allowed = (staff.role == Role.CITY_OFFICE) or (own is not None and filename == f"{own.code}.xlsx"
                                                   and staff.role in (Role.HANDLER, Role.BUREAU_HEAD, Role.TRIAGE))
    path = Path(settings().instance_path) / "digests" / period / filename
    if not allowed or not path.is_file():
        abort(404)
    return send_file(path, as_attachment=True, download_name=f"{period}-{filename}")

"""API endpoints: tickets (list, detail, actions), the caller, sectors, bureaus, towns, the OpenAPI document.

Every endpoint except the OpenAPI document needs `Authorization: Bearer <token>`. Tickets the caller may
not see answer 404 exactly like tickets that do not exist.
"""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

from flask import current_app, g, request
from sqlalchemy import func
from sqlmodel import select
from werkzeug.exceptions import HTTPException

from bot.api import bp, serialize
from bot.core import clock
from bot.core.context import database
from bot.dispatch.access import visible_filter
from bot.dispatch.actions import ACTIONS, ActionError, perform
from bot.staff import staff_for_api_token
from models import Sector, Ticket, TicketStatus, Town

DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 100
PUBLIC_ENDPOINTS = {"api.openapi_document"}

ERROR_TEXT = {400: "请求无效", 401: "需要有效的访问令牌", 403: "无权执行此操作", 404: "未找到",
              405: "不支持该请求方法", 413: "请求体过大", 415: "不支持的内容类型", 500: "服务器内部错误"}


# -- responses ----------------------------------------------------------------------------------------------------
def json_response(payload, status: int = 200, headers: dict | None = None):
    """UTF-8 JSON with Chinese as is (Flask 3 ignores JSON_AS_ASCII, so we do not rely on its provider)."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    response = current_app.response_class(body, status=status, content_type="application/json; charset=utf-8")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def error(status: int, message: str, field: str | None = None, *, with_field: bool = False, headers=None):
    payload: dict = {"error": message}
    if field is not None or with_field:
        payload["field"] = field
    return json_response(payload, status, headers)


def bad_request(message: str, field: str | None):
    return error(400, message, field, with_field=True)


def not_found():
    return error(404, "未找到该工单")


def json_http_errors(app) -> None:
    """HTTP errors under /api/ (unknown path, wrong method, body too large, 500) answer JSON too.

    Registered on the app because routing errors never reach a blueprint's handlers; other paths keep
    whatever handler was there before (or Werkzeug's default page).
    """
    previous = app.error_handler_spec.get(None, {}).get(None, {}).get(HTTPException)
    prefix = bp.url_prefix

    def handle(exc: HTTPException):
        if request.path == prefix or request.path.startswith(prefix + "/"):
            code = exc.code or 500
            headers = {k: v for k, v in exc.get_headers() if k.lower() == "allow"}
            return error(code, ERROR_TEXT.get(code, exc.name), headers=headers)
        return previous(exc) if previous else exc

    app.register_error_handler(HTTPException, handle)


# -- authentication -----------------------------------------------------------------------------------------------
def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


@bp.before_request
def authenticate():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    token = _bearer_token()
    if token is None:
        return error(401, "缺少访问令牌（Authorization: Bearer <token>）",
                     headers={"WWW-Authenticate": 'Bearer realm="fangxin"'})
    with database().session() as session:
        staff = staff_for_api_token(session, token)
    if staff is None:
        return error(401, "访问令牌无效或账号已停用",
                     headers={"WWW-Authenticate": 'Bearer realm="fangxin", error="invalid_token"'})
    g.api_staff = staff
    return None


def current_staff():
    return g.api_staff


# -- tickets ------------------------------------------------------------------------------------------------------
class QueryError(ValueError):
    def __init__(self, message: str, field: str | None) -> None:
        super().__init__(message)
        self.field = field


def _int_arg(name: str, default: int, low: int, high: int | None = None) -> int:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise QueryError(f"「{name}」应为整数", name) from None
    if value < low or (high is not None and value > high):
        bounds = f"{low}–{high}" if high is not None else f"≥ {low}"
        raise QueryError(f"「{name}」应在 {bounds} 之间", name)
    return value


def _day_arg(name: str) -> date | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise QueryError(f"「{name}」应为日期 YYYY-MM-DD", name) from None


def _filters(session) -> list:
    """SQL conditions from the query string (besides visibility); QueryError for a value that makes no sense."""
    args = request.args
    conditions = []
    status = args.get("status")
    if status:
        if status == "open":
            conditions.append(Ticket.status.in_(TicketStatus.open_states()))
        elif status in {s.value for s in TicketStatus}:
            conditions.append(Ticket.status == status)
        else:
            raise QueryError("「status」不是有效的状态", "status")
    if args.get("sector"):
        if session.get(Sector, args["sector"]) is None:
            raise QueryError("「sector」不是有效的类别（见 /api/sectors）", "sector")
        conditions.append(Ticket.sector_key == args["sector"])
    if args.get("town"):
        if session.get(Town, args["town"]) is None:
            raise QueryError("「town」不是有效的镇街代码（见 /api/towns）", "town")
        conditions.append(Ticket.town_code == args["town"])
    overdue = args.get("overdue")
    if overdue:
        if overdue.lower() not in ("1", "0", "true", "false"):
            raise QueryError("「overdue」应为 1/0 或 true/false", "overdue")
        conditions.append(Ticket.overdue == (overdue.lower() in ("1", "true")))
    start, end = _day_arg("from"), _day_arg("to")
    if start and end and start > end:
        raise QueryError("「to」早于「from」", "to")
    if start:
        conditions.append(Ticket.created_at >= datetime.combine(start, time(), clock.SHANGHAI))
    if end:  # inclusive: the whole of that Shanghai day
        conditions.append(Ticket.created_at < datetime.combine(end + timedelta(days=1), time(), clock.SHANGHAI))
    return conditions


@bp.get("/tickets")
def list_tickets():
    staff = current_staff()
    try:
        page = _int_arg("page", 1, 1)
        per_page = _int_arg("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
        with database().session() as session:
            conditions = [visible_filter(staff), *_filters(session)]
            total = session.exec(select(func.count()).select_from(Ticket).where(*conditions)).one()
            rows = session.exec(select(Ticket).where(*conditions)
                                .order_by(Ticket.overdue.desc(), Ticket.created_at.desc(), Ticket.id.desc())
                                .offset((page - 1) * per_page).limit(per_page)).all()
            names = serialize.Names.load(session)
            due = serialize.next_deadlines(session, [t.id for t in rows])
            items = [serialize.ticket_summary(t, names, due.get(t.id)) for t in rows]
    except QueryError as exc:
        return bad_request(str(exc), exc.field)
    return json_response({"items": items, "total": total, "page": page, "per_page": per_page,
                          "pages": max(1, (total + per_page - 1) // per_page)})


def _visible_ticket(session, ticket_id: int, *, lock: bool = False) -> Ticket | None:
    query = select(Ticket).where(Ticket.id == ticket_id, visible_filter(current_staff()))
    if lock:  # the same row lock the escalation job takes: an action and a scan never interleave
        query = query.with_for_update(of=Ticket)
    return session.exec(query).first()


@bp.get("/tickets/<int:ticket_id>")
def get_ticket(ticket_id: int):
    with database().session() as session:
        ticket = _visible_ticket(session, ticket_id)
        if ticket is None:
            return not_found()
        return json_response(serialize.ticket_detail(session, current_staff(), ticket))


def _action_body(action) -> dict:
    """The JSON object of parameters; QueryError for a body that is not one, an unknown key or a wrong type."""
    if not request.get_data(cache=True):
        return {}
    try:
        body = json.loads(request.get_data(cache=True))
    except ValueError:
        raise QueryError("请求体应为 JSON 对象", None) from None
    if not isinstance(body, dict):
        raise QueryError("请求体应为 JSON 对象", None)
    known = {p.name for p in action.params}
    for key, value in body.items():
        if key not in known:
            raise QueryError(f"操作「{action.label}」没有参数「{key}」", key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int, float))):
            raise QueryError(f"参数「{key}」应为字符串或数字", key)
    return body


@bp.post("/tickets/<int:ticket_id>/actions/<name>")
def ticket_action(ticket_id: int, name: str):
    staff = current_staff()
    try:
        with database().session() as session:
            ticket = _visible_ticket(session, ticket_id, lock=True)
            if ticket is None:
                return not_found()
            action = ACTIONS.get(name)
            if action is None:
                return error(404, f"未知操作「{name}」")
            if not (staff.active and action.allowed(staff, ticket)):
                return error(403, "当前状态下您不能执行此操作")
            body = _action_body(action)
            message = perform(session, staff, ticket, name, body)
    except QueryError as exc:
        return bad_request(str(exc), exc.field)
    except ActionError as exc:  # raised inside the session: it has rolled back, nothing changed
        return bad_request(str(exc), exc.field)
    _deliver_notifications()
    with database().session() as session:
        ticket = _visible_ticket(session, ticket_id)  # the action may have taken it out of the caller's sight
        detail = serialize.ticket_detail(session, staff, ticket) if ticket is not None else None
    return json_response({"message": message, "ticket": detail})


def _deliver_notifications() -> None:
    endpoint = current_app.extensions.get("wechat_endpoint")
    if endpoint is None:
        return
    try:
        endpoint.outbox.deliver_pending(limit=50)
    except Exception:  # the outbox job retries; the action itself is done
        current_app.logger.warning("outbox delivery after an API action failed", exc_info=True)


# -- the caller and reference data ----------------------------------------------------------------------------------
@bp.get("/me")
def me():
    with database().session() as session:
        return json_response(serialize.me_doc(session, current_staff()))


@bp.get("/sectors")
def sectors():
    with database().session() as session:
        return json_response({"items": serialize.sectors_doc(session)})


@bp.get("/bureaus")
def bureaus():
    with database().session() as session:
        return json_response({"items": serialize.bureaus_doc(session)})


@bp.get("/towns")
def towns():
    with database().session() as session:
        return json_response({"items": serialize.towns_doc(session)})


@bp.get("/openapi.json")
def openapi_document():
    from bot.api.openapi import document

    return json_response(document())

"""Console sign-in: hashed passwords, CSRF-protected forms, sessions that expire or end with a new password."""
from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from bot.console import bp
from bot.core.context import database
from bot.core.security import password_stamp
from bot.staff import authenticate
from models import Role, Staff

IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired(message="请输入用户名"), Length(max=60)])
    password = PasswordField("密码", validators=[DataRequired(message="请输入密码"), Length(max=128)])


def _now() -> datetime:
    return datetime.now(timezone.utc)


def current_staff() -> Staff | None:
    """The signed-in staff member, or None (also when the session has expired or the account was disabled)."""
    if "staff" in g:
        return g.staff
    g.staff = None
    staff_id, started, seen = session.get("staff_id"), session.get("login_at"), session.get("seen_at")
    if staff_id and started and seen:
        now = _now()
        if now - datetime.fromisoformat(seen) > IDLE_TIMEOUT or now - datetime.fromisoformat(started) > ABSOLUTE_TIMEOUT:
            session.clear()
            g.expired = True
        else:
            with database().session() as db_session:
                staff = db_session.get(Staff, staff_id)
            # the session cookie is signed, not stored: it names the password it was opened with
            if staff is not None and staff.active and session.get("pw") == password_stamp(staff.password_hash):
                session["seen_at"] = now.isoformat()
                g.staff = staff
            else:
                session.clear()
    return g.staff


def login_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if current_staff() is None:
            if g.get("expired"):
                flash("登录已过期，请重新登录", "warning")
            return redirect(url_for("console.login", next=request.full_path))
        return view(*args, **kwargs)
    return wrapped


def roles_required(*roles: str):
    def decorator(view):
        @functools.wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_staff().role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/console") and not target.startswith("//"):
        return target
    return url_for("console.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        with database().session() as db_session:
            staff = authenticate(db_session, form.username.data.strip(), form.password.data)
        if staff is None:
            flash("用户名或密码错误", "error")
            status = 401
        else:
            session.clear()
            now = _now().isoformat()
            session.update(staff_id=staff.id, login_at=now, seen_at=now, pw=password_stamp(staff.password_hash))
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")))
    elif form.is_submitted():
        status = 400
    return render_template("console/login.html", form=form), status


def keep_session_after_password_change(staff: Staff) -> None:
    """An admin who sets their own password stays signed in here; their other sessions end."""
    if session.get("staff_id") == staff.id:
        session["pw"] = password_stamp(staff.password_hash)


@bp.post("/logout")
@login_required
def logout():
    session.clear()
    flash("已退出登录", "info")
    return redirect(url_for("console.login"))


@bp.app_context_processor
def inject_staff():
    from flask import current_app

    return {"me": current_staff(), "Role": Role, "has_page": lambda name: name in current_app.view_functions}

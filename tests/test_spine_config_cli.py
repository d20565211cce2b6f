"""Configuration from the environment, the clock's time zone, and the operator CLI."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest
from sqlmodel import select

from bot.core import clock
from bot.core.config import WECHAT_REAL_API, load_settings
from bot.core.security import verify_password
from models import Bureau, Staff, Ticket, TicketStatus


def test_empty_variables_count_as_unset(monkeypatch, tmp_path):
    monkeypatch.setenv("FANGXIN_INSTANCE", str(tmp_path))
    for name in ("DATABASE_URL", "WECHAT_API_BASE", "WECHAT_ENCODING_AES_KEY", "SECRET_KEY", "WECHAT_TOKEN"):
        monkeypatch.setenv(name, "")
    settings = load_settings()
    assert settings.database_url == f"sqlite:///{tmp_path / 'fangxin.db'}"
    assert settings.wechat_api_base == WECHAT_REAL_API
    assert settings.wechat_encoding_aes_key is None and not settings.safe_mode
    assert settings.wechat_token is None
    # an unset SECRET_KEY is generated once and kept in the instance folder
    assert settings.secret_key and settings.secret_key == load_settings().secret_key
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"


def test_environment_values_are_used(monkeypatch, tmp_path):
    monkeypatch.setenv("FANGXIN_INSTANCE", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db.example:5432/fx")
    monkeypatch.setenv("WECHAT_API_BASE", "http://127.0.0.1:9999/")
    monkeypatch.setenv("WECHAT_ENCODING_AES_KEY", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
    settings = load_settings()
    assert settings.database_url == "postgresql+psycopg://u@db.example:5432/fx"
    assert settings.wechat_api_base == "http://127.0.0.1:9999"
    assert settings.safe_mode


def test_clock_is_shanghai_whatever_the_machine_zone(monkeypatch):
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    try:
        moment = clock.now()
        assert moment.utcoffset().total_seconds() == 8 * 3600
        with clock.frozen(datetime(2026, 11, 24, 17, 0, tzinfo=timezone.utc)):
            assert clock.today().isoformat() == "2026-11-25"
        assert clock.parse_moment("2026-10-01T09:00").utcoffset().total_seconds() == 8 * 3600
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_staff_create_hashes_the_password(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["staff", "create", "wang", "--bureau", "市场监管局", "--role", "handler"],
                           input="s3cret-pass\n")
    assert result.exit_code == 0, result.output
    with db.session() as session:
        staff = session.exec(select(Staff).where(Staff.username == "wang")).one()
        assert staff.password_hash != "s3cret-pass" and "s3cret" not in staff.password_hash
        assert verify_password(staff.password_hash, "s3cret-pass")
        assert not verify_password(staff.password_hash, "wrong")
        assert session.get(Bureau, staff.bureau_id).name == "市场监管局"


@pytest.mark.parametrize("args, message", [
    (["nobody", "--bureau", "不存在局", "--role", "handler"], "no bureau named"),
    (["desk1", "--bureau", "市场监管局", "--role", "triage"], "does not belong"),
    (["short", "--bureau", "市场监管局", "--role", "handler"], "at least 8"),
])
def test_staff_create_refuses_bad_requests(app, args, message):
    password = "abc\n" if args[0] == "short" else "long-enough-password\n"
    result = app.test_cli_runner().invoke(args=["staff", "create", *args], input=password)
    assert result.exit_code != 0
    assert message in result.output


def test_staff_create_refuses_a_taken_username(app):
    runner = app.test_cli_runner()
    args = ["staff", "create", "li", "--bureau", "市消费投诉受理中心", "--role", "triage"]
    assert runner.invoke(args=args, input="long-enough-password\n").exit_code == 0
    result = runner.invoke(args=args, input="long-enough-password\n")
    assert result.exit_code != 0 and "taken" in result.output


def test_seed_and_tickets_list_commands(app, db):
    runner = app.test_cli_runner()
    assert "nothing to change" in runner.invoke(args=["seed"]).output
    assert "no tickets" in runner.invoke(args=["tickets", "list"]).output
    now = clock.now()
    with db.session() as session:
        session.add(Ticket(number="TX20261125-0001", status=TicketStatus.DISPATCHED, sector_key="catering",
                           created_at=now, updated_at=now))
    output = runner.invoke(args=["tickets", "list"]).output
    assert "TX20261125-0001" in output and "catering" in output
    assert runner.invoke(args=["tickets", "list", "--status", "closed"]).output.strip() == "no tickets"


def test_cli_help_lists_the_operator_commands(app):
    output = app.test_cli_runner().invoke(args=["--help"]).output
    for command in ("db", "seed", "staff", "tickets"):
        assert command in output


def test_healthz_round_trips_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json["status"] == "ok"

"""Escalation and digests: the clock moved through a ticket's life; scheduler leadership across processes."""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import func, select

from bot.core import clock
from bot.core.config import ROOT, load_settings
from bot.dispatch import compensation, first_contact, mediation
from bot.dispatch.audit import Actor
from bot.dispatch.calendar import load_calendar
from bot.dispatch.merchants import import_merchants
from bot.dispatch.routing import Facts, submit
from bot.jobs.tasks import JobContext, run_job
from bot.staff import create_staff
from models import Bureau, Consumer, JobRun, Notification, Role, SchedulerLease, Staff, Ticket, TicketEvent, \
    TicketStatus
from tests.conftest import TEST_SETTINGS

SH = clock.SHANGHAI
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=SH)  # acceptance due Wed 2 Dec (7 working days)


@pytest.fixture
def world(db, tmp_path):
    """Staff at the lead bureau, another bureau, the desk and the office; the sample merchants."""
    with db.session() as s:
        import_merchants(s, io.StringIO((ROOT / "reference_data" / "merchants_sample.csv").read_text("utf-8"),
                                        newline=""))
        for username, bureau, role in [("samr_handler", "市场监管局", Role.HANDLER),
                                       ("samr_head", "市场监管局", Role.BUREAU_HEAD),
                                       ("commerce_handler", "商务局", Role.HANDLER),
                                       ("commerce_head", "商务局", Role.BUREAU_HEAD),
                                       ("office", "放心消费办", Role.CITY_OFFICE)]:
            create_staff(s, username=username, bureau=bureau, role=role, password="long-enough-1")
        s.add(Consumer(openid="o-jobs", created_at=MONDAY))
    settings = load_settings({**TEST_SETTINGS, "database_url": db.url, "fangxin_instance": str(tmp_path)})
    return JobContext(db=db, settings=settings)


def file_ticket(db, now=MONDAY, **kw) -> str:
    with db.session() as s:
        consumer = s.exec(select(Consumer).where(Consumer.openid == "o-jobs")).one()
        facts = Facts(description=kw.pop("description", "饭店多收钱"), sector_key=kw.pop("sector", "catering"),
                      confidence=0.95, **kw)
        return submit(s, facts, consumer, load_calendar(s), 0.7, now).number


def inbox(db, username: str) -> list[Notification]:
    with db.session() as s:
        staff = s.exec(select(Staff).where(Staff.username == username)).one()
        return list(s.exec(select(Notification).where(Notification.staff_id == staff.id,
                                                      Notification.channel == "console").order_by(Notification.id)))


def kinds(db, username: str) -> list[str]:
    return [n.kind for n in inbox(db, username)]


def at(day: int, hour: int = 9, month: int = 12, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, 0, tzinfo=SH)


def ticket(db, number: str) -> Ticket:
    with db.session() as s:
        return s.exec(select(Ticket).where(Ticket.number == number)).one()


def staff_of(db, bureau_name: str) -> Actor:
    with db.session() as s:
        b = s.exec(select(Bureau).where(Bureau.name == bureau_name)).one()
        return Actor(kind="staff", bureau_id=b.id, name=b.name)


def test_a_tickets_whole_life_warning_escalations_digest_and_closing(db, world):
    number = file_ticket(db)
    assert kinds(db, "samr_handler") == ["new"]
    # Tuesday 1 Dec: more than a working day left, nothing to say
    run_job(world, "escalation", at(1, 10))
    assert kinds(db, "samr_handler") == ["new"]
    # Wednesday 2 Dec is the last day: warned at the start of it
    assert "warned 1" in run_job(world, "escalation", at(2, 8))
    assert kinds(db, "samr_handler") == ["new", "warn"] and kinds(db, "samr_head") == ["new", "warn"]
    assert "already run" in run_job(world, "escalation", at(2, 8))
    run_job(world, "escalation", at(2, 16))
    assert kinds(db, "samr_handler") == ["new", "warn"]  # a later scan sends nothing new
    # Thursday 3 Dec: missed -> overdue, level 1 to the head
    assert "level-1 1" in run_job(world, "escalation", at(3, 9))
    assert ticket(db, number).overdue
    assert kinds(db, "samr_head")[-1] == "escalate1" and kinds(db, "office") == []
    # Monday 7 Dec: three working days late (3, 4, 7 Dec) -> level 2, the city office too
    assert "level-2 1" in run_job(world, "escalation", at(7, 8))
    assert kinds(db, "office") == ["escalate2"]
    # Monday 09:00 digest: the bureau's unresolved list, and the city-wide one
    summary = run_job(world, "weekly_digest", at(7, 10))
    assert "2026-W50" in summary
    digest = [n for n in inbox(db, "samr_head") if n.kind == "digest"]
    assert len(digest) == 1 and number in digest[0].body and "超期 1 件" in digest[0].body
    city = [n for n in inbox(db, "office") if n.kind == "city_digest"]
    assert len(city) == 1 and "处理率" in city[0].body and "满意率" in city[0].body
    assert (world.digest_dir / "2026-W50" / "samr.xlsx").exists() and (world.digest_dir / "2026-W50" / "city.xlsx").exists()
    before = sum(len(inbox(db, u)) for u in ("samr_handler", "samr_head", "office"))
    assert "already run" in run_job(world, "weekly_digest", at(7, 15))
    assert "already run" in run_job(world, "weekly_digest", at(10, 15))  # same week
    assert sum(len(inbox(db, u)) for u in ("samr_handler", "samr_head", "office")) == before
    # accepted late, resolved, never rated: closed as "no rating" after 7 days
    samr = staff_of(db, "市场监管局")
    with db.session() as s:
        t = s.exec(select(Ticket).where(Ticket.number == number)).one()
        first_contact.accept(s, t, samr, load_calendar(s), now=at(8, 10))
        mediation.record_outcome(s, t, samr, "refund", load_calendar(s), now=at(9, 10))
    run_job(world, "escalation", at(15, 10))
    assert ticket(db, number).status == TicketStatus.RESOLVED
    assert "closed unrated 1" in run_job(world, "escalation", at(17, 10))
    assert ticket(db, number).rating == "no_rating" and ticket(db, number).status == TicketStatus.CLOSED


def test_after_a_hand_on_the_first_contact_owner_is_escalated_with_the_handler(db, world):
    number = file_ticket(db)
    samr, commerce = staff_of(db, "市场监管局"), staff_of(db, "商务局")
    with db.session() as s:
        t = s.exec(select(Ticket).where(Ticket.number == number)).one()
        first_contact.hand_on(s, t, samr, commerce.bureau_id, "预付卡纠纷", load_calendar(s),
                              now=at(24, 10, month=11))
    # 商务局 received it on 24 Nov: its 7 working days end on 3 Dec
    run_job(world, "escalation", at(4, 9))
    assert kinds(db, "commerce_head")[-1] == "escalate1"
    assert kinds(db, "samr_head")[-1] == "escalate1"  # the first-contact owner stays answerable
    with db.session() as s:
        event = s.exec(select(TicketEvent).where(TicketEvent.action == "escalated")).one()
        assert event.rule == "督办:level 1" and len(event.data["bureaus"]) == 2


def test_a_missed_scan_catches_up_both_levels_at_once(db, world):
    file_ticket(db)
    report = run_job(world, "escalation", at(9, 9))
    assert "level-1 1" in report and "level-2 1" in report
    assert kinds(db, "office") == ["escalate2"]
    assert {"escalate1", "escalate2"} <= set(kinds(db, "samr_head"))


def test_direct_settlement_and_compensation_timers(db, world):
    direct = file_ticket(db, sector="beauty_fitness", merchant_name="鼎盛健身", town_code="330483001")
    comp = file_ticket(db, sector="general_goods", merchant_name="百汇商场", town_code="330483001",
                       amount=Decimal("800"))
    with db.session() as s, clock.frozen(MONDAY):
        t = s.exec(select(Ticket).where(Ticket.number == comp)).one()
        compensation.agree(s, t, Actor(kind="merchant", name="百汇商场"), Decimal("800"), load_calendar(s))
    report = run_job(world, "escalation", at(1, 10))
    assert "forwarded 2" in report  # both went to direct settlement first; neither merchant answered in 5 days
    assert ticket(db, direct).status == TicketStatus.DISPATCHED
    with db.session() as s:
        flagged = s.exec(select(TicketEvent).where(TicketEvent.action == "compensation_overdue")).all()
    assert len(flagged) == 1


def test_jobs_cli_lists_and_runs_as_of_a_moment(app, db):
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["jobs", "list", "--now", "2026-11-25T10:02"])
    assert "weekly_digest" in listing.output and "next 2026-11-30 09:00:00" in listing.output
    first = runner.invoke(args=["jobs", "run", "escalation", "--now", "2026-11-25T10:02"])
    again = runner.invoke(args=["jobs", "run", "escalation", "--now", "2026-11-25T10:03"])
    assert first.exit_code == 0 and "2026-11-25T10:00:00" in first.output and "already run" in again.output
    assert runner.invoke(args=["jobs", "run", "nonsense"]).exit_code != 0


# -- several scheduler processes ---------------------------------------------------------------------------
def start_scheduler(env: dict, log: Path) -> subprocess.Popen:
    flask = str(Path(sys.executable).with_name("flask"))
    return subprocess.Popen([flask, "--app", "bot", "scheduler"], cwd=ROOT, env={**os.environ, **env},
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT)


def wait_for(predicate, timeout: float = 60, what: str = ""):
    deadline = time.time() + timeout
    while time.time() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_three_schedulers_one_leader_takeover_and_nothing_twice(db, db_url, world, tmp_path):
    now = clock.now()
    overdue_before = [file_ticket(db, now=now - timedelta(days=20)) for _ in range(3)]
    with db.session() as s:  # last week's digest was sent: this week's is the one to catch up
        last_week = now - timedelta(days=7)
        year, week, _ = last_week.isocalendar()
        s.add(JobRun(job="weekly_digest", period=f"{year}-W{week:02d}", holder="old", started_at=last_week,
                     finished_at=last_week, status="done"))
    env = {"DATABASE_URL": db_url, "FANGXIN_INSTANCE": str(tmp_path / "inst"), "SECRET_KEY": TEST_SETTINGS["secret_key"],
           "FANGXIN_SCHEDULER_TTL": "3", "FANGXIN_SCHEDULER_RENEW": "0.5",
           "FANGXIN_JOB_INTERVALS": "escalation=2,outbox=2", "WECHAT_APPID": "", "WECHAT_APPSECRET": ""}
    procs = [start_scheduler(env, tmp_path / f"scheduler{i}.log") for i in range(3)]
    try:
        def lease():
            with db.session() as s:
                row = s.get(SchedulerLease, "scheduler")
                return row.holder if row and row.holder else None

        leader = wait_for(lease, what="a leader")
        wait_for(lambda: all(ticket(db, n).overdue for n in overdue_before), what="escalation by the leader")
        wait_for(lambda: any(n.kind == "city_digest" for n in inbox(db, "office")), what="the weekly digest")
        leader_pid = int(leader.split(":")[1])
        assert leader_pid in [p.pid for p in procs]
        os.kill(leader_pid, signal.SIGKILL)
        overdue_after = [file_ticket(db, now=now - timedelta(days=20)) for _ in range(2)]
        new_leader = wait_for(lambda: (lease() if lease() != leader else None), timeout=30, what="a new leader")
        assert int(new_leader.split(":")[1]) in [p.pid for p in procs if p.pid != leader_pid]
        wait_for(lambda: all(ticket(db, n).overdue for n in overdue_after), timeout=30,
                 what="escalation by the new leader")
        time.sleep(3)  # let the new leader run a few more cycles
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    year, week, _ = now.isocalendar()
    with db.session() as s:
        digest_runs = s.exec(select(JobRun).where(JobRun.job == "weekly_digest",
                                                  JobRun.period == f"{year}-W{week:02d}")).all()
        assert len(digest_runs) == 1 and digest_runs[0].status == "done"
        city = s.exec(select(Notification).where(Notification.kind == "city_digest")).all()
        assert len(city) == 1
        level1 = s.exec(select(func.count()).select_from(TicketEvent).where(TicketEvent.action == "escalated")).one()
        # every overdue ticket escalated (level 1 and level 2: each exactly once)
        assert level1 == 2 * (len(overdue_before) + len(overdue_after))


def test_the_first_holder_takes_the_lease_at_once_and_others_wait(db):
    from bot.jobs import leader

    now = clock.now()
    assert leader.acquire(db, "a", now, timedelta(seconds=10))       # the row is created: a leads now
    assert not leader.acquire(db, "b", now, timedelta(seconds=10))   # b must wait
    assert leader.acquire(db, "a", now + timedelta(seconds=5), timedelta(seconds=10))  # renewal
    assert leader.acquire(db, "b", now + timedelta(seconds=16), timedelta(seconds=10))  # a's lease ran out


def test_enqueue_says_whether_the_notification_is_new(db):
    from bot.wechat.outbound import enqueue

    with db.session() as s:
        assert enqueue(s, dedup_key="once", kind="t", body="x")
        assert not enqueue(s, dedup_key="once", kind="t", body="x")


def test_a_consumer_typed_merchant_name_never_becomes_a_formula_in_the_digest(db, world):
    from openpyxl import load_workbook

    for _ in range(3):
        file_ticket(db, merchant_name='=HYPERLINK("http://evil.example","点我")')
    run_job(world, "weekly_digest", at(7, 10))
    book = load_workbook(world.digest_dir / "2026-W50" / "samr.xlsx")
    cells = [c for row in book.active.iter_rows() for c in row if c.value and "HYPERLINK" in str(c.value)]
    assert cells and all(c.data_type == "s" and str(c.value).startswith("'") for c in cells)


def test_a_jobs_writes_and_its_done_mark_commit_together(db, world):
    """A job that dies after writing leaves nothing half-done: its writes go with it, and the run is taken over once."""
    from bot.jobs.tasks import Job

    def writes_then(fails: bool):
        def run(ctx, session, now):
            session.add(Consumer(openid="o-written-by-a-job", created_at=now))
            if fails:
                raise RuntimeError("killed mid-run")
            return "wrote one consumer"
        return {"demo": Job("demo", "writes one row", run, every_seconds=3600)}

    with pytest.raises(RuntimeError):
        run_job(world, "demo", now=MONDAY, jobs=writes_then(fails=True))
    with db.session() as s:
        assert s.exec(select(Consumer).where(Consumer.openid == "o-written-by-a-job")).all() == []
        assert [r.status for r in s.exec(select(JobRun).where(JobRun.job == "demo"))] == ["failed"]
    assert run_job(world, "demo", now=MONDAY, jobs=writes_then(fails=False)).endswith("wrote one consumer")
    assert "already run" in run_job(world, "demo", now=MONDAY, jobs=writes_then(fails=False))
    with db.session() as s:
        assert len(s.exec(select(Consumer).where(Consumer.openid == "o-written-by-a-job")).all()) == 1
        assert [r.status for r in s.exec(select(JobRun).where(JobRun.job == "demo"))] == ["done"]

"""The jobs, their schedules (Asia/Shanghai) and the one function that runs a job for a moment.

`run_job(ctx, name, now)` is what the scheduler, `flask --app bot jobs run NAME
--now ...` and the tests all call: it claims the (job, period) row, runs the
job "as of" `now`, and records the outcome; the same period never runs twice.
A job's writes and its "done" mark are one transaction, so a process killed
in between leaves neither (and whoever takes the run over does it once).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

from sqlmodel import Session

from bot.core import clock
from bot.core.config import Settings
from bot.core.db import Database
from bot.jobs import runs

log = logging.getLogger(__name__)


@dataclass
class JobContext:
    db: Database
    settings: Settings
    outbox: object | None = None  # bot.wechat.outbound.Outbox

    @property
    def digest_dir(self) -> Path:
        return self.settings.instance_path / "digests"


@dataclass(frozen=True)
class Job:
    name: str
    description: str
    run: Callable[[JobContext, Session, datetime], str]  # writes in the session run_job commits
    delivers: bool = False                # notifications it writes go out once they are committed
    every_seconds: int | None = None      # an interval job
    weekday: int | None = None            # a weekly job: 0 = Monday
    hour: int = 0
    minute: int = 0

    def last_due(self, now: datetime) -> datetime:
        """The latest scheduled moment at or before `now`."""
        local = clock.local(now)
        if self.every_seconds:
            midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
            slots = int((local - midnight).total_seconds() // self.every_seconds)
            return midnight + timedelta(seconds=slots * self.every_seconds)
        moment = (local - timedelta(days=(local.weekday() - self.weekday) % 7)).replace(
            hour=self.hour, minute=self.minute, second=0, microsecond=0)
        return moment if moment <= local else moment - timedelta(days=7)

    def next_run(self, now: datetime) -> datetime:
        if self.every_seconds:
            return self.last_due(now) + timedelta(seconds=self.every_seconds)
        return self.last_due(now) + timedelta(days=7)

    def period(self, now: datetime) -> str:
        due = self.last_due(now)
        if self.every_seconds:
            return due.strftime("%Y-%m-%dT%H:%M:%S")
        year, week, _ = due.isocalendar()
        return f"{year}-W{week:02d}"


def _escalation(ctx: JobContext, session: Session, now: datetime) -> str:
    from bot.jobs.escalation import scan

    return scan(session, now).summary()


def _weekly_digest(ctx: JobContext, session: Session, now: datetime) -> str:
    from bot.jobs.digests import weekly_digest

    report = weekly_digest(session, now, ctx.digest_dir, ctx.settings.public_base_url)
    city = report.city
    return (f"{report.period}: {len(report.bureaus)} bureaus, {sum(report.bureaus.values())} unresolved; "
            f"handling rate {city['handling_rate']:.1%}")


def _outbox(ctx: JobContext, session: Session, now: datetime) -> str:
    if ctx.outbox is None:
        return "no outbox"
    return f"{ctx.outbox.deliver_pending(limit=500)} delivered"


JOBS: dict[str, Job] = {job.name: job for job in (
    Job("escalation", "deadline warnings, 督办 level 1/2, merchant and payment timers, unrated tickets",
        _escalation, every_seconds=300, delivers=True),
    Job("weekly_digest", "unresolved tickets per bureau and the city-wide digest, Monday 09:00",
        _weekly_digest, weekday=0, hour=9, delivers=True),
    Job("outbox", "deliver notifications that are still waiting (a safety net for after-commit delivery)",
        _outbox, every_seconds=60),
)}


def configured_jobs(overrides: str | None) -> dict[str, Job]:
    """JOBS with interval overrides such as "escalation=3,outbox=2" (seconds; FANGXIN_JOB_INTERVALS)."""
    from dataclasses import replace

    jobs = dict(JOBS)
    for item in filter(None, (overrides or "").split(",")):
        name, _, seconds = item.partition("=")
        if name.strip() in jobs and jobs[name.strip()].every_seconds:
            jobs[name.strip()] = replace(jobs[name.strip()], every_seconds=max(1, int(seconds)))
    return jobs


def run_job(ctx: JobContext, name: str, now: datetime | None = None, holder: str = "cli",
            jobs: dict[str, Job] | None = None) -> str:
    """Run one job as of `now` (its period is the schedule slot `now` falls in); once per period."""
    job = (jobs or JOBS)[name]
    now = clock.local(now or clock.now())
    period = job.period(now)
    run_id = runs.claim(ctx.db, name, period, holder, now)
    if run_id is None:
        return f"{name} {period}: already run"
    try:
        with clock.frozen(now), ctx.db.session() as session:
            summary = job.run(ctx, session, now)
            runs.mark(session, run_id, "done", summary, now)
    except Exception as exc:
        runs.finish(ctx.db, run_id, "failed", f"{exc.__class__.__name__}: {exc}", clock.now())
        raise
    if job.delivers and ctx.outbox is not None:
        ctx.outbox.deliver_pending()
    return f"{name} {period}: {summary}"


def catch_up(ctx: JobContext, now: datetime, holder: str, jobs: dict[str, Job] | None = None) -> list[str]:
    """After downtime: each job's most recent missed slot runs once (older ones coalesce into it)."""
    jobs = jobs or JOBS
    results = []
    for job in jobs.values():
        last = runs.last_done(ctx.db, job.name)
        if last is None or last.period != job.period(now):
            results.append(run_job(ctx, job.name, now, holder, jobs))
    return results

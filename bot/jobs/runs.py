"""One run of a job per period, claimed through a unique (job, period) row."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.core.db import Database
from models import JobRun

STALE_RUN = timedelta(minutes=15)


def claim(db: Database, job: str, period: str, holder: str, now: datetime) -> int | None:
    """The JobRun id if this holder should run (job, period) now; None if it is done or running elsewhere."""
    try:
        with db.session() as session:
            run = JobRun(job=job, period=period, holder=holder, started_at=now, status="running")
            session.add(run)
            session.flush()
            return run.id
    except IntegrityError:
        pass
    with db.session() as session:
        run = session.exec(select(JobRun).where(JobRun.job == job, JobRun.period == period).with_for_update()).one()
        if run.status == "done":
            return None
        if run.status == "running" and run.holder != holder and now - run.started_at < STALE_RUN:
            return None
        # failed, or left running by a process that died: take it over
        run.holder, run.started_at, run.status = holder, now, "running"
        session.add(run)
        return run.id


def mark(session: Session, run_id: int, status: str, summary: str, now: datetime) -> None:
    """Record the outcome in the caller's transaction: with the job's own writes, it commits or not with them."""
    run = session.get(JobRun, run_id)
    run.status, run.summary, run.finished_at = status, summary[:500], now
    session.add(run)


def finish(db: Database, run_id: int, status: str, summary: str, now: datetime) -> None:
    with db.session() as session:
        mark(session, run_id, status, summary, now)


def last_done(db: Database, job: str) -> JobRun | None:
    with db.session() as session:
        return session.exec(select(JobRun).where(JobRun.job == job, JobRun.status == "done")
                            .order_by(JobRun.started_at.desc())).first()

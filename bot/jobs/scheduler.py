"""The scheduler process (`flask --app bot scheduler`): APScheduler plus database leadership.

Start one on as many machines as you like against one database: they all
heartbeat the lease; the holder runs the jobs, the others stand by and take
over within one lease period if it dies. A process that becomes leader
first catches up on the slots missed while nobody was leading.
"""
from __future__ import annotations

import logging
import signal
import threading
from datetime import timedelta

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.core import clock
from bot.jobs import leader
from bot.jobs.tasks import Job, JobContext, catch_up, run_job

log = logging.getLogger(__name__)


class SchedulerService:
    def __init__(self, ctx: JobContext, jobs: dict[str, Job], ttl_seconds: float = 15, renew_seconds: float = 5,
                 holder: str | None = None) -> None:
        self.ctx = ctx
        self.jobs = jobs
        self.ttl = timedelta(seconds=ttl_seconds)
        self.renew = renew_seconds
        self.holder = holder or leader.new_holder_id()
        self.leading = False
        self._lock = threading.Lock()
        self.scheduler = BlockingScheduler(timezone=clock.SHANGHAI, job_defaults={"coalesce": True,
                                                                                   "max_instances": 1,
                                                                                   "misfire_grace_time": None})

    def _heartbeat(self) -> None:
        """Renew (or try to take) the lease; on becoming leader, catch up in a job of its own."""
        try:
            leading = leader.acquire(self.ctx.db, self.holder, clock.now(), self.ttl)
        except Exception:
            log.exception("lease heartbeat failed")
            leading = False
        with self._lock:
            was, self.leading = self.leading, leading
        if leading and not was:
            log.info("%s leads the scheduler; catching up", self.holder)
            self.scheduler.add_job(self._catch_up, id="catch_up", replace_existing=True)
        elif was and not leading:
            log.warning("%s lost the lease; standing by", self.holder)

    def _catch_up(self) -> None:
        for line in catch_up(self.ctx, clock.now(), self.holder, self.jobs):
            log.info("catch-up: %s", line)

    def _run(self, name: str) -> None:
        with self._lock:
            if not self.leading:
                return
        # leadership is re-checked right before the work: a paused leader whose lease ran out stops here
        if not leader.acquire(self.ctx.db, self.holder, clock.now(), self.ttl):
            with self._lock:
                self.leading = False
            return
        try:
            log.info("%s", run_job(self.ctx, name, clock.now(), self.holder, self.jobs))
        except Exception:
            log.exception("job %s failed", name)

    def start(self) -> None:
        self.scheduler.add_job(self._heartbeat, IntervalTrigger(seconds=self.renew), id="lease",
                               next_run_time=clock.now())
        for job in self.jobs.values():
            if job.every_seconds:
                trigger = IntervalTrigger(seconds=job.every_seconds, timezone=clock.SHANGHAI)
            else:
                trigger = CronTrigger(day_of_week=job.weekday, hour=job.hour, minute=job.minute,
                                      timezone=clock.SHANGHAI)
            self.scheduler.add_job(self._run, trigger, args=[job.name], id=job.name)

        def stop(signum, frame):
            log.info("stopping (signal %s)", signum)
            self.scheduler.shutdown(wait=False)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        log.info("scheduler %s started; jobs: %s", self.holder, ", ".join(self.jobs))
        try:
            self.scheduler.start()
        finally:
            if self.leading:
                leader.release(self.ctx.db, self.holder)

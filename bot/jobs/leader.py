"""Leader election through one database row: whoever holds an unexpired lease runs the jobs."""
from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.core.db import Database
from models import SchedulerLease

LEASE = "scheduler"


def new_holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire(db: Database, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease; True if `holder` leads until now + ttl.

    One UPDATE decides it (the row is ours, or its lease ran out), so two
    standbys racing for an expired lease cannot both win.
    """
    with db.session() as session:
        result = session.execute(
            update(SchedulerLease).where(SchedulerLease.name == LEASE,
                                         or_(SchedulerLease.holder == holder, SchedulerLease.expires_at < now,
                                             SchedulerLease.holder.is_(None)))
            .values(holder=holder, expires_at=now + ttl))
        if result.rowcount == 1:
            return True
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        result = session.execute(insert(SchedulerLease).values(name=LEASE, holder=holder, expires_at=now + ttl)
                                 .on_conflict_do_nothing(index_elements=["name"])
                                 .execution_options(preserve_rowcount=True))
        return result.rowcount == 1


def release(db: Database, holder: str) -> None:
    with db.session() as session:
        session.execute(update(SchedulerLease).where(SchedulerLease.name == LEASE, SchedulerLease.holder == holder)
                        .values(holder=None, expires_at=None))


def current(db: Database) -> SchedulerLease | None:
    with db.session() as session:
        return session.get(SchedulerLease, LEASE)

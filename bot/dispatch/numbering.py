"""Human-readable ticket numbers: TX<yyyymmdd>-<sequence of that Shanghai day>."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from bot.core import clock
from models import TicketCounter


def next_ticket_number(session: Session, at: datetime | None = None) -> str:
    """Reserve the next number of the day.

    The counter row is created if missing (ON CONFLICT DO NOTHING) and then
    incremented with UPDATE ... RETURNING, which holds the row lock until the
    caller commits: concurrent creators on any number of workers get distinct
    numbers, and a rolled-back ticket gives its number back.
    """
    day = clock.local(at or clock.now()).strftime("%Y%m%d")
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(TicketCounter).values(day=day, last=0).on_conflict_do_nothing(index_elements=["day"]))
    seq = session.execute(
        update(TicketCounter)
        .where(TicketCounter.day == day)
        .values(last=TicketCounter.last + 1)
        .returning(TicketCounter.last)
    ).scalar_one()
    return f"TX{day}-{seq:04d}"

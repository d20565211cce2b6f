"""Ticket numbers stay unique when many workers create tickets at once."""
from __future__ import annotations

import multiprocessing
import re
import threading
from datetime import datetime, timezone

from bot.core import clock
from bot.core.db import Database
from bot.dispatch.numbering import next_ticket_number
from models import Ticket, TicketStatus

MOMENT = datetime(2026, 11, 25, 23, 30, tzinfo=clock.SHANGHAI)


def create_tickets(url: str, count: int) -> list[str]:
    db = Database(url)
    numbers = []
    try:
        for _ in range(count):
            with db.session() as session:
                number = next_ticket_number(session, MOMENT)
                session.add(Ticket(number=number, status=TicketStatus.TRIAGE, created_at=MOMENT, updated_at=MOMENT))
            numbers.append(number)
    finally:
        db.dispose()
    return numbers


def test_number_format_uses_the_shanghai_day(db):
    with db.session() as session:
        first = next_ticket_number(session, MOMENT)
        second = next_ticket_number(session, MOMENT)
    assert re.fullmatch(r"TX20261125-\d{4}", first)
    assert first == "TX20261125-0001" and second == "TX20261125-0002"
    # 16:30 UTC on the 24th is 00:30 on the 25th in Shanghai
    with db.session() as session:
        assert next_ticket_number(session, datetime(2026, 11, 24, 16, 30, tzinfo=timezone.utc)).startswith("TX20261125-")


def test_a_rolled_back_ticket_gives_its_number_back(db):
    try:
        with db.session() as session:
            next_ticket_number(session, MOMENT)
            raise RuntimeError("crash mid-write")
    except RuntimeError:
        pass
    with db.session() as session:
        assert next_ticket_number(session, MOMENT) == "TX20261125-0001"


def test_numbers_unique_under_concurrent_threads(db_url):
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def worker():
        try:
            results.append(create_tickets(db_url, 15))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    numbers = [n for batch in results for n in batch]
    assert len(numbers) == 120 and len(set(numbers)) == 120
    assert sorted(numbers) == [f"TX20261125-{i:04d}" for i in range(1, 121)]


def test_numbers_unique_under_concurrent_processes(db_url):
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        batches = pool.starmap(create_tickets, [(db_url, 10)] * 4)
    numbers = [n for batch in batches for n in batch]
    assert len(set(numbers)) == 40
    assert sorted(numbers) == [f"TX20261125-{i:04d}" for i in range(1, 41)]

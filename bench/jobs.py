"""Escalation scan and weekly digest on a million tickets.

    python -m bench.jobs generate --n 1000000 [--database-url URL]   # fill a database
    python -m bench.jobs run [--database-url URL]                     # time and memory of each job

`generate` creates a fresh database (SQLite file under instance/bench/ by
default, or the PostgreSQL URL given), migrates, seeds, and bulk-loads
tickets spread over the last year: most closed, a few percent open with
their acceptance or mediation deadlines, some of those overdue, plus staff
in every bureau so the digests have recipients. `run` times one escalation
scan and one weekly digest as of now, with the peak resident memory.
"""
from __future__ import annotations

import argparse
import random
import resource
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select, text

from bot.core import clock, migrate
from bot.core.config import ROOT, load_settings, normalise_database_url
from bot.core.db import Database

DEFAULT_URL = f"sqlite:///{ROOT / 'instance' / 'bench' / 'million.db'}"
SECTORS = ["online_shopping", "telecom", "express_delivery", "tourism", "finance", "property_management",
           "education_training", "medical_products", "factory_products", "agri_inputs", "food", "catering",
           "grain_oil", "culture_entertainment", "transport", "beauty_fitness", "general_goods"]
TOWNS = ["330483001", "330483003", "330483004", "330483100", "330483101", "330483102", "330483103", "330483104",
         "330483105", "330483106", "330483107"]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(url: str, n: int, seed: int = 7) -> None:
    from bot.seed import seed as seed_reference
    from bot.staff import create_staff
    from models import Bureau, Consumer, Sector, Ticket, TicketDeadline

    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    start = time.perf_counter()
    migrate.upgrade(url)
    db = Database(url)
    rng = random.Random(seed)
    with db.session() as session:
        seed_reference(session)
        for bureau in session.exec(select(Bureau)).scalars():
            create_staff(session, username=f"head_{bureau.code}", bureau=bureau.code,
                         role="city_office" if bureau.kind == "office" else
                         "triage" if bureau.kind == "desk" else "bureau_head", password="bench-password")
        leads = {s.key: s.lead_bureau_id for s in session.exec(select(Sector)).scalars()}
        session.add(Consumer(openid="bench-consumer", created_at=clock.now()))
        session.flush()
        consumer_id = session.exec(select(Consumer.id)).scalars().one()
    now = clock.now()
    batch, deadlines, made = [], [], 0
    for i in range(n):
        created = now - timedelta(minutes=rng.randrange(365 * 24 * 60))
        age = (now - created).days
        sector = rng.choice(SECTORS)
        roll = rng.random()
        if age > 60 or roll < 0.90:
            status = rng.choice(["closed"] * 8 + ["rejected", "withdrawn"])
        elif roll < 0.95:
            status = "accepted"
        else:
            status = "dispatched"
        day = clock.local(created).strftime("%Y%m%d")
        batch.append({"number": f"TX{day}-B{i:07d}", "consumer_id": consumer_id, "status": status,
                      "sector_key": sector, "lead_bureau_id": leads[sector], "handler_bureau_id": leads[sector],
                      "first_contact_bureau_id": leads[sector], "town_code": rng.choice(TOWNS),
                      "merchant_name": f"商家{rng.randrange(20000)}", "description": "基准测试工单",
                      "classifier_top": [], "created_at": created, "updated_at": created, "overdue": False,
                      "consumer_chose_sector": False, "return_entitled": False, "compensation_claim": False,
                      "reopened": False, "confidence": 0.9,
                      "rating": rng.choice(["satisfied"] * 9 + ["unsatisfied"]) if status == "closed" else None})
        if len(batch) >= 20_000 or i == n - 1:
            with db.session() as session:
                session.execute(insert(Ticket), batch)
                rows = session.execute(select(Ticket.id, Ticket.status, Ticket.created_at, Ticket.handler_bureau_id)
                                       .where(Ticket.number.in_([b["number"] for b in batch]))).all()
                for ticket_id, status, created, bureau_id in rows:
                    kind = "mediation" if status == "accepted" else "acceptance"
                    due = created + timedelta(days=9 if kind == "acceptance" else 63)
                    met = None if status in ("accepted", "dispatched") else created + timedelta(days=3)
                    deadlines.append({"ticket_id": ticket_id, "kind": kind, "bureau_id": bureau_id,
                                      "started_at": created, "due_at": due, "met_at": met, "provisional": False,
                                      "level": 0})
                session.execute(insert(TicketDeadline), deadlines)
            made += len(batch)
            batch, deadlines = [], []
            print(f"  {made:,} tickets ({time.perf_counter() - start:.0f} s)", flush=True)
    with db.session() as session:
        if db.engine.dialect.name == "postgresql":
            session.execute(text("ANALYZE"))
    print(f"generated {n:,} tickets in {time.perf_counter() - start:.1f} s into {url}")


def run(url: str) -> None:
    from bot.jobs.tasks import JobContext, JOBS

    settings = load_settings({"database_url": url})
    ctx = JobContext(db=Database(url), settings=settings)
    with ctx.db.session() as session:
        total = session.execute(text("SELECT count(*) FROM ticket")).scalar_one()
        open_count = session.execute(text("SELECT count(*) FROM ticket WHERE status IN "
                                          "('triage','dispatched','accepted','direct_settlement','disputed')")).scalar_one()
    print(f"database: {url}\ntickets: {total:,} ({open_count:,} open)")
    now = clock.now()
    for name in ("escalation", "weekly_digest"):
        rss = peak_rss_mb()
        start = time.perf_counter()
        summary = JOBS[name].run(ctx, now)
        elapsed = time.perf_counter() - start
        print(f"{name:14} {elapsed:7.2f} s   peak RSS {peak_rss_mb():.0f} MB (was {rss:.0f} MB)   {summary}")
    # a second escalation scan finds nothing new to do: the steady-state cost every 5 minutes
    start = time.perf_counter()
    summary = JOBS["escalation"].run(ctx, now + timedelta(minutes=5))
    print(f"{'escalation (steady state)':14} {time.perf_counter() - start:7.2f} s   {summary}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--n", type=int, default=1_000_000)
    g.add_argument("--database-url", default=DEFAULT_URL)
    r = sub.add_parser("run")
    r.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()
    url = normalise_database_url(args.database_url)
    if args.command == "generate":
        generate(url, args.n)
    else:
        run(url)


if __name__ == "__main__":
    main()

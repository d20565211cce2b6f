"""The spine: migrations, seed idempotence, the sector contract and the audit trail."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from sqlmodel import func, select

from bot.core import clock, migrate
from bot.core.config import ROOT
from bot.core.db import Database
from bot.seed import seed
from models import Bureau, Sector, SectorCoUnit, Ticket, TicketEvent, TicketStatus, Town

CONTRACT = ROOT / "reference_data" / "sectors.md"
SHARED_CONTRACT = ROOT.parent / "shared" / "sectors.md"


def parse_contract(text: str) -> dict[str, tuple[str, list[str]]]:
    """key -> (lead bureau, co-units) from the markdown table of sectors.md."""
    table = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 6 and cells[0].isdigit():
            co = re.sub(r"（.*?）|\(.*?\)", "", cells[4])
            co_units = [u.strip() for u in co.split("、") if u.strip() and "各镇" not in u]
            table[cells[1]] = (cells[3], co_units)
    return table


def test_vendored_contract_matches_shared_copy():
    if not SHARED_CONTRACT.exists():
        pytest.skip("../shared/sectors.md is not beside this checkout")
    assert CONTRACT.read_text(encoding="utf-8") == SHARED_CONTRACT.read_text(encoding="utf-8")


def test_migrations_take_an_empty_database_to_head_and_back(databases):
    url = databases.empty()
    migrate.upgrade(url)
    db = Database(url)
    try:
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"ticket", "ticket_event", "bureau", "sector", "inbound_message", "notification"} <= tables
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0001"
        migrate.downgrade(url, "base")
        assert "ticket" not in set(sa.inspect(db.engine).get_table_names())
        migrate.upgrade(url)  # an older (here: empty-again) database comes back to head
        assert "ticket" in set(sa.inspect(db.engine).get_table_names())
    finally:
        db.dispose()


def test_seed_is_idempotent(db):
    with db.session() as session:  # the template was seeded once already
        counts = [session.exec(select(func.count()).select_from(m)).one() for m in (Bureau, Town, Sector, SectorCoUnit)]
        report = seed(session)
    assert not report.changed, report
    with db.session() as session:
        again = [session.exec(select(func.count()).select_from(m)).one() for m in (Bureau, Town, Sector, SectorCoUnit)]
    assert again == counts
    assert counts[1] == 11 and counts[2] == 17


def test_seed_repairs_a_tampered_row(db):
    with db.session() as session:
        sector = session.get(Sector, "telecom")
        sector.lead_bureau_id = session.exec(select(Bureau).where(Bureau.name == "公安局")).one().id
    with db.session() as session:
        report = seed(session)
        assert report.updated == ["sector telecom"]
        lead = session.get(Bureau, session.get(Sector, "telecom").lead_bureau_id)
        assert lead.name == "经信局"


def test_every_sector_leads_to_the_bureau_of_the_contract(db):
    contract = parse_contract(CONTRACT.read_text(encoding="utf-8"))
    assert len(contract) == 17
    with db.session() as session:
        names = {b.id: b.name for b in session.exec(select(Bureau))}
        for key, (lead, co_units) in contract.items():
            sector = session.get(Sector, key)
            assert sector is not None, key
            assert names[sector.lead_bureau_id] == lead, key
            rows = session.exec(select(SectorCoUnit).where(SectorCoUnit.sector_key == key)
                                .order_by(SectorCoUnit.position)).all()
            assert [names[r.bureau_id] for r in rows] == co_units, key


def test_towns_have_their_division_codes(db):
    with db.session() as session:
        towns = {t.code: t.name for t in session.exec(select(Town))}
    assert towns["330483004"] == "高桥街道"
    assert towns["330483107"] == "崇福镇"
    assert len(towns) == 11


def _ticket_with_event(db) -> int:
    now = clock.now()
    with db.session() as session:
        ticket = Ticket(number="TX20261125-9999", status=TicketStatus.TRIAGE, created_at=now, updated_at=now)
        session.add(ticket)
        session.flush()
        event = TicketEvent(ticket_id=ticket.id, at=now, actor_kind="system", action="created",
                            to_status=TicketStatus.TRIAGE)
        session.add(event)
        session.flush()
        return event.id


def test_audit_trail_refuses_update_and_delete(db):
    event_id = _ticket_with_event(db)
    for statement in (f"UPDATE ticket_event SET action='forged' WHERE id={event_id}",
                      f"DELETE FROM ticket_event WHERE id={event_id}"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(sa.text(statement))
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        with db.session() as session:
            event = session.get(TicketEvent, event_id)
            event.note = "rewritten history"
    with db.session() as session:
        event = session.get(TicketEvent, event_id)
        assert event.action == "created" and event.note is None
        # appending stays possible
        session.add(TicketEvent(ticket_id=event.ticket_id, at=clock.now(), actor_kind="system", action="noted"))

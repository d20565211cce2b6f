"""Reference data (bureaus, towns, sectors) from the versioned files in reference_data/.

`seed()` is idempotent: it inserts what is missing, corrects what differs and
reports what it changed; running it twice changes nothing the second time.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache

from sqlmodel import Session, select

from bot.core.config import ROOT
from models import Bureau, BureauKind, Sector, SectorCoUnit, Town

REFERENCE_DIR = ROOT / "reference_data"


@lru_cache(maxsize=None)
def load_reference(name: str) -> dict:
    return json.loads((REFERENCE_DIR / f"{name}.json").read_text(encoding="utf-8"))


def town_station_name(town_name: str) -> str:
    return load_reference("bureaus")["town_station_name"].format(town=town_name)


@dataclass
class SeedReport:
    inserted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated)


def _upsert(session: Session, model, key: dict, values: dict, label: str, report: SeedReport):
    row = session.exec(select(model).filter_by(**key)).first()
    if row is None:
        row = model(**key, **values)
        session.add(row)
        session.flush()
        report.inserted.append(label)
        return row
    changed = False
    for attr, value in values.items():
        if getattr(row, attr) != value:
            setattr(row, attr, value)
            changed = True
    if changed:
        session.add(row)
        session.flush()
        report.updated.append(label)
    return row


def seed(session: Session) -> SeedReport:
    report = SeedReport()
    towns = load_reference("towns")["towns"]
    for town in towns:
        _upsert(session, Town, {"code": town["code"]},
                {"name": town["name"], "short_name": town["short"]}, f"town {town['name']}", report)

    bureau_ids: dict[str, int] = {}
    for bureau in load_reference("bureaus")["bureaus"]:
        row = _upsert(session, Bureau, {"code": bureau["code"]},
                      {"name": bureau["name"], "kind": bureau["kind"], "town_code": None},
                      f"bureau {bureau['name']}", report)
        bureau_ids[row.name] = row.id
    for town in towns:
        name = town_station_name(town["name"])
        row = _upsert(session, Bureau, {"code": f"station_{town['code']}"},
                      {"name": name, "kind": BureauKind.TOWN_STATION.value, "town_code": town["code"]},
                      f"bureau {name}", report)
        bureau_ids[row.name] = row.id

    for sector in load_reference("sectors")["sectors"]:
        _upsert(session, Sector, {"key": sector["key"]},
                {"ordinal": sector["ordinal"], "name": sector["name"],
                 "lead_bureau_id": bureau_ids[sector["lead"]]},
                f"sector {sector['key']}", report)
        wanted = {bureau_ids[name]: pos for pos, name in enumerate(sector["co"])}
        existing = {row.bureau_id: row for row in session.exec(
            select(SectorCoUnit).where(SectorCoUnit.sector_key == sector["key"]))}
        for bureau_id, row in existing.items():
            if bureau_id not in wanted:
                session.delete(row)
                report.updated.append(f"sector {sector['key']} drops co-unit {bureau_id}")
        for bureau_id, pos in wanted.items():
            _upsert(session, SectorCoUnit, {"sector_key": sector["key"], "bureau_id": bureau_id},
                    {"position": pos}, f"co-unit {sector['key']}/{bureau_id}", report)
    session.flush()
    return report

"""Reference data: bureaus, towns and sectors (loaded by `flask --app bot seed`)."""
from __future__ import annotations

from sqlmodel import Field, SQLModel


class BureauBase(SQLModel):
    code: str = Field(max_length=40, unique=True, index=True)
    name: str = Field(max_length=80, unique=True)
    kind: str = Field(max_length=20)
    town_code: str | None = Field(default=None, max_length=12, foreign_key="town.code")


class Bureau(BureauBase, table=True):
    id: int | None = Field(default=None, primary_key=True)


class BureauPublic(BureauBase):
    id: int


class Town(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=12)
    name: str = Field(max_length=20, unique=True)
    short_name: str = Field(max_length=10)


class Sector(SQLModel, table=True):
    key: str = Field(primary_key=True, max_length=40)
    ordinal: int = Field(unique=True)
    name: str = Field(max_length=20)
    lead_bureau_id: int = Field(foreign_key="bureau.id")


class SectorCoUnit(SQLModel, table=True):
    __tablename__ = "sector_co_unit"

    sector_key: str = Field(foreign_key="sector.key", primary_key=True, max_length=40)
    bureau_id: int = Field(foreign_key="bureau.id", primary_key=True)
    position: int = 0

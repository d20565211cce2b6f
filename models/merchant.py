"""The merchant registry and each merchant's commitments."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import JSON, Column, Numeric
from sqlmodel import Field, SQLModel


class MerchantBase(SQLModel):
    name: str = Field(max_length=120, index=True)
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    town_code: str | None = Field(default=None, max_length=12, foreign_key="town.code")
    address: str | None = Field(default=None, max_length=200)
    is_platform: bool = False
    # 先行赔付: pays the consumer first, up to the cap (None = no cap)
    advance_compensation: bool = False
    compensation_cap: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 2)))
    # offline no-reason return pledge, in days (0 = no pledge)
    offline_return_days: int = 0
    # registered 12315 ODR direct-settlement unit
    direct_settlement: bool = False
    contact_phone: str | None = Field(default=None, max_length=20)


class Merchant(MerchantBase, table=True):
    id: int | None = Field(default=None, primary_key=True)


class MerchantPublic(MerchantBase):
    id: int

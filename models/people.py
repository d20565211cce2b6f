"""Staff accounts and consumers."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


class StaffBase(SQLModel):
    username: str = Field(max_length=60, unique=True, index=True)
    display_name: str = Field(default="", max_length=60)
    role: str = Field(max_length=20)
    bureau_id: int | None = Field(default=None, foreign_key="bureau.id", index=True)
    merchant_id: int | None = Field(default=None, foreign_key="merchant.id")
    active: bool = True


class Staff(StaffBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    password_hash: str = Field(max_length=255)
    api_token_digest: str | None = Field(default=None, max_length=64, unique=True)
    wechat_openid: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class StaffCreate(StaffBase):
    password: str = Field(min_length=8, max_length=128)


class StaffPublic(StaffBase):
    id: int


class Consumer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    openid: str = Field(max_length=64, unique=True, index=True)
    phone: str | None = Field(default=None, max_length=20)
    subscribed: bool = True
    subscribe_scene: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # last message from the consumer: the 48-hour customer-service window runs from here
    last_inbound_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))

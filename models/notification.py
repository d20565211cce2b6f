"""Every notification the service sends, once (dedup_key is unique)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


class Notification(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    dedup_key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=40)
    channel: str = Field(max_length=20)
    status: str = Field(default="pending", max_length=20)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    consumer_id: int | None = Field(default=None, foreign_key="consumer.id")
    staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    bureau_id: int | None = Field(default=None, foreign_key="bureau.id", index=True)
    title: str = Field(default="", max_length=200)
    body: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text))
    read_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))

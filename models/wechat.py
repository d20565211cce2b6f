"""What WeChat sent us, the conversation state per consumer, and the shared access token."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


class InboundMessage(SQLModel, table=True):
    """Every message WeChat delivered, kept as evidence.

    `dedup_key` is unique: `msg:<MsgId>`, or for events
    `evt:<FromUserName>:<CreateTime>:<Event>`. A retry of the same message
    finds the row and gets `reply` again instead of being processed twice.
    """

    __tablename__ = "inbound_message"

    id: int | None = Field(default=None, primary_key=True)
    dedup_key: str = Field(max_length=160, unique=True)
    openid: str = Field(max_length=64, index=True)
    msg_type: str = Field(max_length=20)
    event: str | None = Field(default=None, max_length=40)
    content: str | None = Field(default=None, sa_column=Column(Text))
    fields: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    raw_xml: str = Field(sa_column=Column(Text, nullable=False))
    create_time: int
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    state: str = Field(default="processing", max_length=20)  # processing / answered / deferred / failed
    reply: str | None = Field(default=None, sa_column=Column(Text))
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)


class Conversation(SQLModel, table=True):
    """One row per consumer: the dialogue state machine's stored state."""

    id: int | None = Field(default=None, primary_key=True)
    consumer_id: int = Field(foreign_key="consumer.id", unique=True)
    state: str = Field(default="idle", max_length=40)
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    needs_human: bool = False
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class AccessToken(SQLModel, table=True):
    """The access_token shared by every worker and node (refreshed under a row lock)."""

    __tablename__ = "access_token"

    appid: str = Field(primary_key=True, max_length=64)
    token: str | None = Field(default=None, max_length=600)
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    refreshed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))

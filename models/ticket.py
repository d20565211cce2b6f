"""Tickets, their parties, deadlines and the append-only audit trail."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Column, Index, Numeric, Text
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


class TicketBase(SQLModel):
    sector_key: str | None = Field(default=None, foreign_key="sector.key", max_length=40)
    town_code: str | None = Field(default=None, foreign_key="town.code", max_length=12)
    merchant_name: str | None = Field(default=None, max_length=120)
    amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 2)))
    purchase_date: date | None = None
    online: bool | None = None
    demand: str | None = Field(default=None, max_length=20)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    phone: str | None = Field(default=None, max_length=20)


class Ticket(TicketBase, table=True):
    __table_args__ = (
        Index("ix_ticket_status_handler", "status", "handler_bureau_id"),
        Index("ix_ticket_consumer", "consumer_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=20, unique=True)
    consumer_id: int | None = Field(default=None, foreign_key="consumer.id")
    status: str = Field(max_length=24, index=True)
    confidence: float | None = None
    classifier_top: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    consumer_chose_sector: bool = False
    lead_bureau_id: int | None = Field(default=None, foreign_key="bureau.id")
    handler_bureau_id: int | None = Field(default=None, foreign_key="bureau.id")
    first_contact_bureau_id: int | None = Field(default=None, foreign_key="bureau.id")
    merchant_id: int | None = Field(default=None, foreign_key="merchant.id", index=True)
    platform_merchant_id: int | None = Field(default=None, foreign_key="merchant.id")
    return_entitled: bool = False
    return_rule: str | None = Field(default=None, max_length=40)
    compensation_claim: bool = False
    outcome: str | None = Field(default=None, max_length=24)
    outcome_amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 2)))
    outcome_note: str | None = Field(default=None, sa_column=Column(Text))
    rejection_reason: str | None = Field(default=None, max_length=40)
    rating: str | None = Field(default=None, max_length=20)
    reopened: bool = False
    overdue: bool = False
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    accepted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class TicketPublic(TicketBase):
    """What the API shows: never the consumer's openid."""

    id: int
    number: str
    status: str
    confidence: float | None
    lead_bureau_id: int | None
    handler_bureau_id: int | None
    first_contact_bureau_id: int | None
    merchant_id: int | None
    overdue: bool
    created_at: datetime


class TicketUpdate(SQLModel):
    sector_key: str | None = None
    town_code: str | None = None
    merchant_name: str | None = None
    amount: Decimal | None = None
    demand: str | None = None


class TicketCounter(SQLModel, table=True):
    """Per-day ticket sequence (TX20261125-0007); incremented under a row lock."""

    __tablename__ = "ticket_counter"

    day: str = Field(primary_key=True, max_length=8)
    last: int = 0


class TicketParty(SQLModel, table=True):
    """A bureau's standing on a ticket; it decides who can see it."""

    __tablename__ = "ticket_party"

    ticket_id: int = Field(foreign_key="ticket.id", primary_key=True)
    bureau_id: int = Field(foreign_key="bureau.id", primary_key=True, index=True)
    role: str = Field(primary_key=True, max_length=20)


class TicketDeadline(SQLModel, table=True):
    __tablename__ = "ticket_deadline"
    __table_args__ = (Index("ix_deadline_open_due", "met_at", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    kind: str = Field(max_length=24)
    bureau_id: int | None = Field(default=None, foreign_key="bureau.id")
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    provisional: bool = False
    met_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    warned_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    level: int = 0


class TicketEvent(SQLModel, table=True):
    """The audit trail. Append-only: database triggers refuse UPDATE and DELETE."""

    __tablename__ = "ticket_event"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    actor_kind: str = Field(max_length=20)
    actor_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    actor_bureau_id: int | None = Field(default=None, foreign_key="bureau.id")
    action: str = Field(max_length=40)
    from_status: str | None = Field(default=None, max_length=24)
    to_status: str | None = Field(default=None, max_length=24)
    rule: str | None = Field(default=None, max_length=80)
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    note: str | None = Field(default=None, sa_column=Column(Text))


class Attachment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    consumer_id: int = Field(foreign_key="consumer.id")
    inbound_message_id: int | None = Field(default=None, foreign_key="inbound_message.id")
    kind: str = Field(max_length=20)  # image / voice / video / shortvideo
    media_id: str | None = Field(default=None, max_length=128)
    url: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class SectorCorrection(SQLModel, table=True):
    """A staff correction of a ticket's sector, exportable as training data."""

    __tablename__ = "sector_correction"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    from_sector: str | None = Field(default=None, max_length=40)
    to_sector: str = Field(max_length=40)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))

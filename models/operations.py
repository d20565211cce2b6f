"""Operational tables: the holiday calendar, scheduler leadership and job runs."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


class Holiday(SQLModel, table=True):
    """Admin-maintained calendar days, for years the chinesecalendar package does not cover.

    `workday` False: a statutory holiday; True: a make-up working day (调休上班).
    """

    day: date = Field(primary_key=True)
    workday: bool = False
    name: str = Field(default="", max_length=40)


class SchedulerLease(SQLModel, table=True):
    """The leader lock: one scheduler process holds it and renews it."""

    __tablename__ = "scheduler_lease"

    name: str = Field(primary_key=True, max_length=40)
    holder: str | None = Field(default=None, max_length=120)
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class JobRun(SQLModel, table=True):
    """One run of a job for one period; the unique key makes a re-run a no-op."""

    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("job", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=40)
    period: str = Field(max_length=40)
    holder: str | None = Field(default=None, max_length=120)
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    status: str = Field(default="running", max_length=20)
    summary: str | None = Field(default=None, max_length=500)


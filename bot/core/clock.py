"""The one clock of the service: Asia/Shanghai, whatever the machine says.

Stored instants are UTC; deadlines and schedules are reasoned about in
Shanghai local time. `frozen()` lets operators and tests run any code path
"as of" another moment (`jobs run NAME --now ...`).
"""
from __future__ import annotations

import contextlib
import contextvars
from datetime import date, datetime, timezone
from typing import Iterator
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
_frozen: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("fangxin_now", default=None)


def now() -> datetime:
    """The current instant, aware, in Shanghai time."""
    fixed = _frozen.get()
    if fixed is not None:
        return fixed.astimezone(SHANGHAI)
    return datetime.now(SHANGHAI)


def today() -> date:
    return now().date()


def local(moment: datetime) -> datetime:
    """An aware Shanghai datetime for any aware datetime (naive ones are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(SHANGHAI)


def parse_moment(text: str) -> datetime:
    """ISO-8601; a moment without an offset is Shanghai local time."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    return moment.astimezone(SHANGHAI)


@contextlib.contextmanager
def frozen(moment: datetime) -> Iterator[datetime]:
    """Run the block as if `now()` were `moment`."""
    token = _frozen.set(local(moment))
    try:
        yield local(moment)
    finally:
        _frozen.reset(token)

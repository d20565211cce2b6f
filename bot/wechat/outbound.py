"""The outbox: every message the service sends outside a passive reply.

Code that changes a ticket enqueues Notification rows in the same
transaction (so a rolled-back change notifies nobody, and the unique
dedup_key makes a repeated run enqueue nothing). After commit, `Outbox`
delivers them:

- to a consumer: a customer-service (客服) message inside the 48-hour window
  that follows the consumer's last message; outside it, or when WeChat
  answers 45015, a template message if one is configured; otherwise the row
  stays in the console inbox (channel "console", status "pending") for a
  person to phone the consumer;
- to staff: the console inbox always (the row itself), plus a template
  message when the staff member bound a WeChat account.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import requests
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from bot.core import clock
from bot.core.db import Database
from bot.wechat.client import OUT_OF_WINDOW, WeChatAPIError, WeChatClient
from models import Consumer, Notification, NotificationChannel, NotificationStatus, Staff

log = logging.getLogger(__name__)

SERVICE_WINDOW = timedelta(hours=48)
WECHAT = "wechat"  # channel of a consumer message not yet delivered: decided at delivery time


def enqueue(session: Session, *, dedup_key: str, kind: str, body: str, title: str = "",
            consumer_id: int | None = None, staff_id: int | None = None, bureau_id: int | None = None,
            ticket_id: int | None = None, channel: str = WECHAT, status: str = NotificationStatus.PENDING,
            payload: dict | None = None) -> bool:
    """Add a notification unless one with this dedup_key exists. True if it was new."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = dict(dedup_key=dedup_key[:200], kind=kind, channel=channel, status=status, ticket_id=ticket_id,
                  consumer_id=consumer_id, staff_id=staff_id, bureau_id=bureau_id, title=title[:200], body=body,
                  payload=payload or {}, created_at=clock.now())
    result = session.execute(insert(Notification).values(**values).on_conflict_do_nothing(index_elements=["dedup_key"])
                             .execution_options(preserve_rowcount=True))
    return bool(result.rowcount)


def notify_staff(session: Session, staff: Staff, *, dedup_key: str, kind: str, title: str, body: str,
                 ticket_id: int | None = None, payload: dict | None = None) -> None:
    """The console inbox row, and a WeChat template message if the staff member bound WeChat."""
    enqueue(session, dedup_key=f"{dedup_key}:console", kind=kind, title=title, body=body, staff_id=staff.id,
            bureau_id=staff.bureau_id, ticket_id=ticket_id, channel=NotificationChannel.CONSOLE,
            status=NotificationStatus.SENT, payload=payload)
    if staff.wechat_openid:
        enqueue(session, dedup_key=f"{dedup_key}:wechat", kind=kind, title=title, body=body, staff_id=staff.id,
                bureau_id=staff.bureau_id, ticket_id=ticket_id, channel=NotificationChannel.TEMPLATE,
                payload=payload)


@dataclass
class Outbox:
    db: Database
    client: WeChatClient | None
    consumer_template: str | None = None
    staff_template: str | None = None
    base_url: str = ""

    def send_to_consumer(self, consumer_id: int, text: str, *, kind: str, dedup_key: str,
                         ticket_id: int | None = None) -> Notification:
        """Enqueue and deliver at once (used for the rest of a long reply)."""
        with self.db.session() as session:
            enqueue(session, dedup_key=dedup_key, kind=kind, body=text, consumer_id=consumer_id, ticket_id=ticket_id)
        with self.db.session() as session:
            note_id = session.exec(select(Notification.id).where(Notification.dedup_key == dedup_key)).one()
        return self.deliver(note_id)

    def deliver_pending(self, limit: int = 200) -> int:
        """Deliver what is waiting (after a commit, and from the scheduler as a safety net)."""
        with self.db.session() as session:
            ids = session.exec(
                select(Notification.id)
                .where(Notification.status == NotificationStatus.PENDING,
                       Notification.channel.in_([WECHAT, NotificationChannel.TEMPLATE]))
                .order_by(Notification.id).limit(limit)).all()
        for note_id in ids:
            self.deliver(note_id)
        return len(ids)

    def deliver(self, note_id: int) -> Notification:
        with self.db.session() as session:
            note = session.exec(select(Notification).where(Notification.id == note_id).with_for_update()).one()
            if note.status != NotificationStatus.PENDING or note.channel == NotificationChannel.CONSOLE:
                return note
            if note.consumer_id is not None:
                consumer = session.get(Consumer, note.consumer_id)
                target = ("consumer", consumer.openid, self._in_window(consumer))
            else:
                staff = session.get(Staff, note.staff_id)
                target = ("staff", staff.wechat_openid if staff else None, False)
            # claim it so a concurrent deliverer skips it
            note.status = "sending"
            session.add(note)
            snapshot = (note.body, note.title, note.dedup_key, note.payload, note.ticket_id)
        channel, status, error = self._send(target, *snapshot)
        with self.db.session() as session:
            note = session.get(Notification, note_id)
            note.channel, note.status, note.error = channel, status, error
            if status == NotificationStatus.SENT:
                note.sent_at = clock.now()
            session.add(note)
            return note

    @staticmethod
    def _in_window(consumer: Consumer) -> bool:
        last = consumer.last_inbound_at
        return last is not None and clock.now() - last < SERVICE_WINDOW

    def _send(self, target: tuple[str, str | None, bool], body: str, title: str, dedup_key: str, payload: dict,
              ticket_id: int | None) -> tuple[str, str, str | None]:
        who, openid, window_open = target
        errors: list[str] = []
        if self.client is None or not openid:
            reason = "WeChat API not configured" if self.client is None else "no WeChat account bound"
            return NotificationChannel.CONSOLE, NotificationStatus.PENDING, reason
        if who == "consumer":
            if window_open:
                try:
                    self.client.send_text(openid, body)
                    return NotificationChannel.CUSTOMER_SERVICE, NotificationStatus.SENT, None
                except WeChatAPIError as exc:
                    errors.append(str(exc))
                    if exc.errcode != OUT_OF_WINDOW:
                        log.warning("customer-service message failed: %s", exc)
                except requests.RequestException as exc:
                    errors.append(f"customer-service: {exc.__class__.__name__}")
            else:
                errors.append("outside the 48-hour customer-service window")
        template = self.consumer_template if who == "consumer" else self.staff_template
        if template:
            data = payload.get("template_data") or {"first": (title or body)[:200], "remark": body[:200]}
            url = f"{self.base_url}/console/tickets/{ticket_id}" if (who == "staff" and ticket_id) else None
            try:
                self.client.send_template(openid, template, data, url=url, client_msg_id=dedup_key)
                return NotificationChannel.TEMPLATE, NotificationStatus.SENT, "; ".join(errors) or None
            except (WeChatAPIError, requests.RequestException) as exc:
                errors.append(f"template: {exc}")
        else:
            errors.append("no template configured")
        if who == "staff":
            return NotificationChannel.TEMPLATE, NotificationStatus.FAILED, "; ".join(errors)
        # nobody could be reached through WeChat: the console inbox keeps it for a person to follow up
        return NotificationChannel.CONSOLE, NotificationStatus.PENDING, "; ".join(errors)

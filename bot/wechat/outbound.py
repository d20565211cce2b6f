"""Messages to consumers outside a passive reply, each recorded once.

Inside the 48-hour window that follows a consumer's last message, WeChat
allows customer-service (客服) messages. Outside it (or when WeChat answers
45015) the message goes as a template message if one is configured;
otherwise, or if that fails too, it lands in the console inbox so a person
can phone the consumer. Every attempt is a Notification row; its unique
dedup_key makes a re-run send nothing new.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import requests
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.core import clock
from bot.core.db import Database
from bot.wechat.client import OUT_OF_WINDOW, WeChatAPIError, WeChatClient
from models import Consumer, Notification, NotificationChannel, NotificationStatus

log = logging.getLogger(__name__)

SERVICE_WINDOW = timedelta(hours=48)


@dataclass
class ConsumerMessenger:
    db: Database
    client: WeChatClient | None
    template_id: str | None = None
    base_url: str = ""

    def in_window(self, consumer: Consumer) -> bool:
        last = consumer.last_inbound_at
        return last is not None and clock.now() - last < SERVICE_WINDOW

    def send(self, consumer_id: int, text: str, *, kind: str, dedup_key: str, ticket_id: int | None = None,
             template_data: dict[str, str] | None = None) -> Notification:
        """Deliver `text` once (per dedup_key) by the best channel still open."""
        with self.db.session() as session:
            existing = session.exec(select(Notification).where(Notification.dedup_key == dedup_key)).first()
            if existing is not None:
                return existing
            consumer = session.get(Consumer, consumer_id)
            note = Notification(dedup_key=dedup_key, kind=kind, channel=NotificationChannel.CUSTOMER_SERVICE,
                                status=NotificationStatus.PENDING, ticket_id=ticket_id, consumer_id=consumer_id,
                                body=text, payload=template_data or {}, created_at=clock.now())
            session.add(note)
            try:
                session.flush()
            except IntegrityError:
                session.rollback()
                return session.exec(select(Notification).where(Notification.dedup_key == dedup_key)).one()
            openid, window_open = consumer.openid, self.in_window(consumer)
            note_id = note.id

        channel, status, error = self._deliver(openid, text, window_open, dedup_key, template_data)
        with self.db.session() as session:
            note = session.get(Notification, note_id)
            note.channel, note.status, note.error = channel, status, error
            if status == NotificationStatus.SENT:
                note.sent_at = clock.now()
            session.add(note)
            return note

    def _deliver(self, openid: str, text: str, window_open: bool, dedup_key: str,
                 template_data: dict[str, str] | None) -> tuple[str, str, str | None]:
        errors: list[str] = []
        if self.client is None:
            return NotificationChannel.CONSOLE, NotificationStatus.PENDING, "WeChat API not configured"
        if window_open:
            try:
                self.client.send_text(openid, text)
                return NotificationChannel.CUSTOMER_SERVICE, NotificationStatus.SENT, None
            except WeChatAPIError as exc:
                errors.append(str(exc))
                if exc.errcode != OUT_OF_WINDOW:
                    log.warning("customer-service message failed: %s", exc)
            except requests.RequestException as exc:
                errors.append(f"customer-service: {exc.__class__.__name__}")
        else:
            errors.append("outside the 48-hour customer-service window")
        if self.template_id:
            data = template_data or {"first": text[:200], "remark": ""}
            try:
                self.client.send_template(openid, self.template_id, data, client_msg_id=dedup_key)
                return NotificationChannel.TEMPLATE, NotificationStatus.SENT, "; ".join(errors) or None
            except (WeChatAPIError, requests.RequestException) as exc:
                errors.append(f"template: {exc}")
        # nobody could be reached through WeChat: the console inbox keeps it for a person to follow up
        return NotificationChannel.CONSOLE, NotificationStatus.PENDING, "; ".join(errors)

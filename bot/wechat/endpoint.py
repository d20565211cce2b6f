"""The protocol behind GET/POST /wechat, as plain objects that tests can drive.

A POST is authenticated (signature or msg_signature, replay window), decoded
(plaintext, compatible or safe mode), then processed exactly once: the
inbound row with its unique dedup_key, the consumer's row lock and
everything the handler writes (drafts, tickets) commit in ONE transaction.
A concurrent retry blocks on the unique key and then finds the committed
row, so it gets the same reply and creates nothing; a crash before commit
leaves nothing behind, so WeChat's retry processes the message afresh.

The handler runs under a time budget well inside WeChat's 5 s: past it the
request answers `success` and the reply follows as a customer-service
message when the handler finishes.
"""
from __future__ import annotations

import concurrent.futures
import contextvars
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Mapping

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.core import clock
from bot.core.config import Settings
from bot.core.db import Database
from bot.wechat.crypto import CryptoError, MessageCrypto
from bot.wechat.messages import (
    ClickEvent,
    MalformedMessage,
    Message,
    ScanEvent,
    SubscribeEvent,
    ViewEvent,
    parse_message,
    parse_xml,
)
from bot.wechat.outbound import Outbox
from bot.wechat.replies import SUCCESS, split_text, text_reply_xml
from bot.wechat.router import Router
from bot.wechat.signature import SignatureError, check_signature, check_timestamp
from models import Consumer, InboundMessage

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
DEFAULT_BUDGET_SECONDS = 3.0
FAILURE_REPLY = "抱歉，系统刚才开了小差。您的消息已经记录，工作人员会尽快跟进。"

# events that are the consumer's own action and so open the 48-hour customer-service window
_INTERACTIONS = (SubscribeEvent, ScanEvent, ClickEvent, ViewEvent)

_pool = concurrent.futures.ThreadPoolExecutor(max_workers=16, thread_name_prefix="wechat")


@dataclass
class Outcome:
    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"


@dataclass
class InboundContext:
    """What a handler gets besides the message: one transaction, the consumer (locked), the clock."""

    session: Session
    consumer: Consumer
    inbound: InboundMessage
    settings: Settings
    now: datetime
    after_commit: list[Callable[[], None]] = field(default_factory=list)


@dataclass
class Processed:
    reply: str | None
    fresh: bool
    inbound_id: int | None
    reply_time: int
    after_commit: list[Callable[[], None]] = field(default_factory=list)


class WeChatEndpoint:
    def __init__(self, settings: Settings, db: Database, router: Router, outbox: Outbox,
                 budget: float = DEFAULT_BUDGET_SECONDS) -> None:
        self.settings = settings
        self.db = db
        self.router = router
        self.outbox = outbox
        self.budget = budget
        self.crypto = (MessageCrypto(settings.wechat_token or "", settings.wechat_encoding_aes_key,
                                     settings.wechat_appid or "")
                       if settings.wechat_encoding_aes_key else None)

    # -- GET: URL verification -------------------------------------------------
    def verify(self, args: Mapping[str, str]) -> Outcome:
        if not self.settings.wechat_token:
            return Outcome(503, "WECHAT_TOKEN is not configured")
        try:
            check_signature(self.settings.wechat_token, args.get("signature"), args.get("timestamp"),
                            args.get("nonce"))
        except SignatureError:
            return Outcome(403, "")
        return Outcome(200, args.get("echostr", ""))

    # -- POST: a message -------------------------------------------------------
    def receive(self, args: Mapping[str, str], body: bytes) -> Outcome:
        token = self.settings.wechat_token
        if not token:
            return Outcome(503, "WECHAT_TOKEN is not configured")
        encrypted = args.get("encrypt_type", "raw").lower() == "aes"
        try:
            if encrypted:
                if self.crypto is None:
                    return Outcome(400, "encrypted message, but no EncodingAESKey is configured")
                envelope = parse_xml(body)
                if not envelope.get("Encrypt"):
                    return Outcome(400, "Encrypt element missing")
                xml_text = self.crypto.open(args.get("msg_signature"), args.get("timestamp"), args.get("nonce"),
                                            envelope["Encrypt"])
                check_timestamp(args.get("timestamp"))
            else:
                if self.settings.safe_mode:
                    return Outcome(403, "plaintext messages are refused in safe mode")
                check_signature(token, args.get("signature"), args.get("timestamp"), args.get("nonce"))
                check_timestamp(args.get("timestamp"))
                xml_text = body.decode("utf-8")
            message = parse_message(xml_text)
        except SignatureError as exc:
            log.warning("refused /wechat POST: %s", exc)
            return Outcome(403, "")
        except (MalformedMessage, CryptoError, UnicodeDecodeError) as exc:
            log.warning("malformed /wechat POST: %s", exc)
            return Outcome(400, f"malformed message: {exc}")

        # the handler runs in the pool with this request's context (so clock.frozen() reaches it)
        future = _pool.submit(contextvars.copy_context().run, self._process, message, xml_text)
        try:
            processed = future.result(timeout=self.budget)
        except concurrent.futures.TimeoutError:
            log.warning("reply to %s exceeded the %.1fs budget; answering later", message.dedup_key, self.budget)
            future.add_done_callback(self._deliver_late)
            return Outcome(200, SUCCESS)

        if processed.fresh:
            self._after_response(processed, skip_first=True)
        if not processed.reply:
            return Outcome(200, SUCCESS)
        first = split_text(processed.reply)[0]
        reply_xml = text_reply_xml(message.openid, message.to_user, first, processed.reply_time)
        if encrypted:
            sealed = self.crypto.seal(reply_xml, str(int(time.time())), args.get("nonce") or "")
            return Outcome(200, sealed, "application/xml; charset=utf-8")
        return Outcome(200, reply_xml, "application/xml; charset=utf-8")

    # -- exactly-once processing ----------------------------------------------
    def _process(self, message: Message, xml_text: str) -> Processed:
        try:
            return self._process_once(message, xml_text)
        except IntegrityError:
            # a concurrent delivery of the same message committed first
            return self._replay(message.dedup_key)
        except Exception:
            log.exception("handler failed for %s", message.dedup_key)
            return self._record_failure(message, xml_text)

    def _process_once(self, message: Message, xml_text: str) -> Processed:
        now = clock.now()
        with self.db.session() as session:
            existing = session.exec(select(InboundMessage).where(InboundMessage.dedup_key == message.dedup_key)).first()
            if existing is not None:
                return self._processed_from(existing, fresh=False)
            consumer = self._lock_consumer(session, message.openid, now)
            inbound = InboundMessage(dedup_key=message.dedup_key, openid=message.openid, msg_type=message.type_name,
                                     event=message.raw.get("Event") or None, content=message.summary()[:4000],
                                     fields=message.raw, raw_xml=xml_text, create_time=message.create_time,
                                     received_at=now, state="processing")
            session.add(inbound)
            session.flush()  # the unique key: a concurrent duplicate waits here, then fails
            context = InboundContext(session=session, consumer=consumer, inbound=inbound, settings=self.settings,
                                     now=now)
            reply = self.router.dispatch(message, context)
            # automatic events (LOCATION reports, job results) do not open the 48-hour window
            if message.msg_type != "event" or isinstance(message, _INTERACTIONS):
                consumer.last_inbound_at = now
                session.add(consumer)
            inbound.reply = reply
            inbound.state = "answered"
            session.add(inbound)
            session.flush()
            processed = self._processed_from(inbound, fresh=True)
            processed.after_commit = context.after_commit
        return processed

    def _lock_consumer(self, session: Session, openid: str, now: datetime) -> Consumer:
        """Create the consumer if new, then hold its row lock: one message per consumer at a time."""
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(insert(Consumer).values(openid=openid, subscribed=True, created_at=now)
                        .on_conflict_do_nothing(index_elements=["openid"]))
        return session.exec(select(Consumer).where(Consumer.openid == openid).with_for_update()).one()

    def _replay(self, dedup_key: str) -> Processed:
        with self.db.session() as session:
            row = session.exec(select(InboundMessage).where(InboundMessage.dedup_key == dedup_key)).one()
            return self._processed_from(row, fresh=False)

    def _record_failure(self, message: Message, xml_text: str) -> Processed:
        """Keep the message as evidence, apologise, and flag it for a person."""
        now = clock.now()
        try:
            with self.db.session() as session:
                existing = session.exec(
                    select(InboundMessage).where(InboundMessage.dedup_key == message.dedup_key)).first()
                if existing is not None:
                    return self._processed_from(existing, fresh=False)
                row = InboundMessage(dedup_key=message.dedup_key, openid=message.openid, msg_type=message.type_name,
                                     event=message.raw.get("Event") or None, content=message.summary()[:4000],
                                     fields=message.raw, raw_xml=xml_text, create_time=message.create_time,
                                     received_at=now, state="failed", reply=FAILURE_REPLY)
                session.add(row)
                session.flush()
                return self._processed_from(row, fresh=False)
        except IntegrityError:
            return self._replay(message.dedup_key)

    @staticmethod
    def _processed_from(row: InboundMessage, fresh: bool) -> Processed:
        reply = None if row.state == "deferred" else row.reply
        return Processed(reply=reply, fresh=fresh, inbound_id=row.id, reply_time=int(row.received_at.timestamp()))

    # -- after the response ------------------------------------------------------
    def _after_response(self, processed: Processed, skip_first: bool) -> None:
        parts = split_text(processed.reply) if processed.reply else []
        rest = parts[1:] if skip_first else parts
        _pool.submit(contextvars.copy_context().run, self._run_after, processed, rest, 1 if skip_first else 0)

    def _run_after(self, processed: Processed, parts: list[str], offset: int) -> None:
        # the reply (or its rest) first, so the consumer reads it before the notifications it caused
        if parts:
            consumer_id = self._consumer_id_of(processed.inbound_id)
            for index, part in enumerate(parts, start=offset):
                self.outbox.send_to_consumer(consumer_id, part, kind="reply",
                                             dedup_key=f"reply:{processed.inbound_id}:{index}")
        for hook in [*processed.after_commit, self.outbox.deliver_pending]:
            try:
                hook()
            except Exception:  # one failing notification must not stop the others
                log.exception("after-commit hook failed")

    def _consumer_id_of(self, inbound_id: int | None) -> int:
        with self.db.session() as session:
            row = session.get(InboundMessage, inbound_id)
            return session.exec(select(Consumer.id).where(Consumer.openid == row.openid)).one()

    def _deliver_late(self, future: concurrent.futures.Future) -> None:
        try:
            processed: Processed = future.result()
        except Exception:
            log.exception("late handler failed")
            return
        if not processed.fresh:
            return
        with self.db.session() as session:
            row = session.get(InboundMessage, processed.inbound_id)
            row.state = "deferred"
            session.add(row)
        self._run_after(processed, split_text(processed.reply) if processed.reply else [], 0)

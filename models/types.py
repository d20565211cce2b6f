"""Column types and vocabularies shared by the tables.

Vocabularies are StrEnums stored as short strings (no native DB enums), so a
new status is a code change, not a migration on PostgreSQL.
"""
from __future__ import annotations

from datetime import datetime, timezone
from enum import StrEnum

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use bot.core.clock.now()")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class BureauKind(StrEnum):
    GOVERNMENT = "government"      # a municipal bureau (局)
    COMPANY = "company"            # operators named as co-units (电信公司 ...)
    GROUP = "group"                # a collective unit (各商业银行和保险公司)
    DESK = "desk"                  # the city's complaint desk (triage)
    OFFICE = "office"              # 放心消费办, the leading-group office
    TOWN_STATION = "town_station"  # a town's consumer-rights station


class Role(StrEnum):
    HANDLER = "handler"
    BUREAU_HEAD = "bureau_head"
    TRIAGE = "triage"
    CITY_OFFICE = "city_office"
    MERCHANT = "merchant"
    ADMIN = "admin"


class TicketStatus(StrEnum):
    TRIAGE = "triage"                      # waiting at the complaint desk
    DIRECT_SETTLEMENT = "direct_settlement"  # with the merchant first (ODR)
    DISPATCHED = "dispatched"              # with a bureau, not yet accepted
    ACCEPTED = "accepted"                  # accepted, in mediation
    DISPUTED = "disputed"                  # jurisdiction dispute at the city office
    RESOLVED = "resolved"                  # outcome recorded, waiting for rating
    REJECTED = "rejected"                  # not accepted (Article 15)
    WITHDRAWN = "withdrawn"                # withdrawn by the consumer
    CLOSED = "closed"                      # rated, or closed without rating

    @classmethod
    def open_states(cls) -> tuple["TicketStatus", ...]:
        return (cls.TRIAGE, cls.DIRECT_SETTLEMENT, cls.DISPATCHED, cls.ACCEPTED, cls.DISPUTED)


class Demand(StrEnum):
    REFUND = "refund"            # 退款
    RETURN = "return"            # 退货
    EXCHANGE = "exchange"        # 换货
    REPAIR = "repair"            # 维修
    COMPENSATION = "compensation"  # 赔偿
    APOLOGY = "apology"          # 道歉
    OTHER = "other"              # 其他


class PartyRole(StrEnum):
    LEAD = "lead"                # the sector's lead bureau
    CO = "co"                    # a co-operating unit of the sector
    TOWN = "town"                # the town station of the ticket's town
    FIRST_CONTACT = "first_contact"
    HANDLER = "handler"          # current handler
    PREVIOUS = "previous"        # a bureau the ticket was handed on from


class ActorKind(StrEnum):
    CONSUMER = "consumer"
    STAFF = "staff"
    MERCHANT = "merchant"
    SYSTEM = "system"


class DeadlineKind(StrEnum):
    TRIAGE = "triage"                      # desk dispatches within 1 WD
    MERCHANT_ANSWER = "merchant_answer"    # merchant answers within 5 days
    DIRECT_SETTLEMENT = "direct_settlement"  # merchant settles within 10 WD
    ACCEPTANCE = "acceptance"              # accept / reject / hand on within 7 WD
    JURISDICTION = "jurisdiction"          # a dispute decided within 7 WD
    MEDIATION = "mediation"                # an outcome within 45 WD of acceptance
    COMPENSATION_PAYMENT = "compensation_payment"  # paid within 3 days of agreeing
    RATING = "rating"                      # consumer rates within 7 days


class NotificationChannel(StrEnum):
    CUSTOMER_SERVICE = "customer_service"  # WeChat 客服消息
    TEMPLATE = "template"                  # WeChat 模板消息
    CONSOLE = "console"                    # the console inbox
    DOWNLOAD = "download"                  # an attachment kept for download (digests)


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"

"""SQLModel tables. Tables hold data, not rules: the rules live in bot/dispatch."""
from models.merchant import Merchant, MerchantBase, MerchantPublic
from models.notification import Notification
from models.operations import Holiday, JobRun, SchedulerLease
from models.people import Consumer, Staff, StaffCreate, StaffPublic
from models.reference import Bureau, BureauPublic, Sector, SectorCoUnit, Town
from models.ticket import (
    Attachment,
    SectorCorrection,
    Ticket,
    TicketCounter,
    TicketDeadline,
    TicketEvent,
    TicketParty,
    TicketPublic,
    TicketUpdate,
)
from models.types import (
    ActorKind,
    BureauKind,
    DeadlineKind,
    Demand,
    NotificationChannel,
    NotificationStatus,
    PartyRole,
    Role,
    TicketStatus,
)
from models.wechat import AccessToken, Conversation, InboundMessage
from sqlmodel import SQLModel

metadata = SQLModel.metadata

__all__ = [name for name in dir() if not name.startswith("_")]

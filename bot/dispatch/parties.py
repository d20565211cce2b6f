"""Which bureaus stand on a ticket, and so who may see it and who is told."""
from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from bot.wechat.outbound import notify_staff
from models import Bureau, BureauKind, Role, Staff, Ticket, TicketParty


def add_party(session: Session, ticket: Ticket, bureau_id: int, role: str) -> None:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(TicketParty).values(ticket_id=ticket.id, bureau_id=bureau_id, role=role)
                    .on_conflict_do_nothing())


def parties(session: Session, ticket_id: int) -> list[TicketParty]:
    return list(session.exec(select(TicketParty).where(TicketParty.ticket_id == ticket_id)))


def bureau_ids_with_role(session: Session, ticket_id: int, role: str) -> set[int]:
    return {p.bureau_id for p in parties(session, ticket_id) if p.role == role}


def bureau_by_code(session: Session, code: str) -> Bureau:
    return session.exec(select(Bureau).where(Bureau.code == code)).one()


def town_station(session: Session, town_code: str | None) -> Bureau | None:
    if not town_code:
        return None
    return session.exec(select(Bureau).where(Bureau.kind == BureauKind.TOWN_STATION,
                                             Bureau.town_code == town_code)).first()


def notify_bureau_staff(session: Session, bureau_id: int, ticket: Ticket | None, kind: str, body: str,
                        roles: tuple[str, ...] | None = None, title: str | None = None) -> int:
    """Every active staff member of the bureau (optionally only some roles) gets it in the inbox."""
    query = select(Staff).where(Staff.bureau_id == bureau_id, Staff.active == True)  # noqa: E712
    if roles:
        query = query.where(Staff.role.in_(roles))
    scope = f"ticket:{ticket.id}" if ticket is not None else f"bureau:{bureau_id}"
    count = 0
    for staff in session.exec(query):
        notify_staff(session, staff, dedup_key=f"{scope}:{kind}:{staff.id}", kind=kind.split(":")[0],
                     title=title or f"投诉 {ticket.number}", body=body,
                     ticket_id=ticket.id if ticket is not None else None)
        count += 1
    return count


def heads_of(session: Session, bureau_id: int) -> list[Staff]:
    return list(session.exec(select(Staff).where(Staff.bureau_id == bureau_id, Staff.role == Role.BUREAU_HEAD,
                                                 Staff.active == True)))  # noqa: E712

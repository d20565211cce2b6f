"""Staff accounts: creation with validation, and authentication."""
from __future__ import annotations

from sqlalchemy import or_
from sqlmodel import Session, select

from bot.core import clock
from bot.core.security import hash_password, verify_password
from models import Bureau, BureauKind, Role, Staff

MIN_PASSWORD = 8

# which kinds of bureau each role may belong to
ROLE_BUREAU_KINDS: dict[str, set[str]] = {
    Role.HANDLER: {BureauKind.GOVERNMENT, BureauKind.COMPANY, BureauKind.GROUP, BureauKind.TOWN_STATION},
    Role.BUREAU_HEAD: {BureauKind.GOVERNMENT, BureauKind.COMPANY, BureauKind.GROUP, BureauKind.TOWN_STATION},
    Role.TRIAGE: {BureauKind.DESK},
    Role.CITY_OFFICE: {BureauKind.OFFICE},
    Role.MERCHANT: set(),
    Role.ADMIN: set(BureauKind),
}


class StaffError(ValueError):
    """A staff account request that cannot be honoured, with a message for the operator."""


def find_bureau(session: Session, name_or_code: str) -> Bureau | None:
    return session.exec(select(Bureau).where(or_(Bureau.name == name_or_code, Bureau.code == name_or_code))).first()


def create_staff(session: Session, *, username: str, bureau: str | None, role: str, password: str,
                 display_name: str = "", merchant_id: int | None = None) -> Staff:
    username = username.strip()
    if not username:
        raise StaffError("username is empty")
    if role not in {r.value for r in Role}:
        raise StaffError(f"unknown role {role!r}; one of: {', '.join(r.value for r in Role)}")
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"password must have at least {MIN_PASSWORD} characters")
    if session.exec(select(Staff).where(Staff.username == username)).first():
        raise StaffError(f"username {username!r} is taken")
    bureau_row = None
    if role == Role.MERCHANT:
        if merchant_id is None and bureau is None:
            raise StaffError("a merchant account needs --bureau (the merchant's name) or a merchant id")
    else:
        bureau_row = find_bureau(session, bureau or "")
        if bureau_row is None:
            raise StaffError(f"no bureau named {bureau!r}; run `flask --app bot seed` first?")
        if bureau_row.kind not in ROLE_BUREAU_KINDS[Role(role)]:
            raise StaffError(f"role {role} does not belong at {bureau_row.name} ({bureau_row.kind})")
    if role == Role.MERCHANT and merchant_id is None:
        from models import Merchant

        merchant = session.exec(select(Merchant).where(Merchant.name == bureau)).first()
        if merchant is None:
            raise StaffError(f"no merchant named {bureau!r} in the registry")
        merchant_id = merchant.id
    staff = Staff(username=username, display_name=display_name or username, role=role,
                  bureau_id=bureau_row.id if bureau_row else None, merchant_id=merchant_id,
                  password_hash=hash_password(password), created_at=clock.now())
    session.add(staff)
    session.flush()
    return staff


def authenticate(session: Session, username: str, password: str) -> Staff | None:
    staff = session.exec(select(Staff).where(Staff.username == username)).first()
    if staff is None or not staff.active:
        verify_password(None, password)
        return None
    return staff if verify_password(staff.password_hash, password) else None

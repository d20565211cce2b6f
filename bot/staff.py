"""Staff accounts: creation with validation, authentication, and administration (tokens, WeChat, disabling)."""
from __future__ import annotations

import re

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


# ---------------------------------------------------------------------------
# account administration (the console's admin pages; API tokens: see below)

MAX_PASSWORD = 128  # the sign-in form accepts no longer password
_OPENID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")


def set_active(session: Session, staff: Staff, active: bool) -> Staff:
    """Enable or disable an account; a disabled account cannot sign in and its open sessions end."""
    staff.active = bool(active)
    session.add(staff)
    session.flush()
    return staff


def reset_password(session: Session, staff: Staff, password: str) -> None:
    """Replace the password (stored as a scrypt hash)."""
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise StaffError(f"password must have at most {MAX_PASSWORD} characters")
    staff.password_hash = hash_password(password)
    session.add(staff)
    session.flush()


def bind_wechat(session: Session, staff: Staff, openid: str) -> None:
    """Send this account's notifications to a WeChat user (an openid of the official account) as well."""
    openid = (openid or "").strip()
    if not _OPENID.match(openid):
        raise StaffError("an openid has 6-64 letters, digits, '-' or '_'")
    other = session.exec(select(Staff).where(Staff.wechat_openid == openid, Staff.id != staff.id)).first()
    if other is not None:
        raise StaffError(f"this openid is already bound to {other.username!r}")
    staff.wechat_openid = openid
    session.add(staff)
    session.flush()


def unbind_wechat(session: Session, staff: Staff) -> bool:
    """Stop WeChat notifications for the account; False if none was bound."""
    had = staff.wechat_openid is not None
    staff.wechat_openid = None
    session.add(staff)
    session.flush()
    return had


def mask_openid(openid: str | None) -> str:
    """An openid as the console shows it: never whole ("oAbC…x9Yz")."""
    if not openid:
        return ""
    if len(openid) < 12:
        return openid[:2] + "…" + openid[-1:]
    return openid[:4] + "…" + openid[-4:]


# -- API tokens ------------------------------------------------------------------------------------------------
def issue_api_token(session: Session, username: str) -> str:
    """A new API token for `username`, replacing any earlier one; only its SHA-256 digest is stored.

    The token itself is returned once, for the operator to hand over; it cannot be recovered later.
    """
    from bot.core.security import new_token, token_digest

    staff = session.exec(select(Staff).where(Staff.username == username)).first()
    if staff is None:
        raise StaffError(f"no staff account named {username!r}")
    if not staff.active:
        raise StaffError(f"the account {username!r} is disabled")
    token = new_token()
    staff.api_token_digest = token_digest(token)
    session.add(staff)
    session.flush()
    return token


def revoke_api_token(session: Session, username: str) -> bool:
    """Forget the account's API token; False when it had none."""
    staff = session.exec(select(Staff).where(Staff.username == username)).first()
    if staff is None:
        raise StaffError(f"no staff account named {username!r}")
    had = staff.api_token_digest is not None
    staff.api_token_digest = None
    session.add(staff)
    session.flush()
    return had


def staff_for_api_token(session: Session, token: str | None) -> Staff | None:
    """The active staff member holding `token`, or None (unknown token, or a disabled account).

    The token is looked up by its SHA-256 digest (what is stored), and the stored digest is then compared in
    constant time, so neither the lookup nor the comparison tells an attacker how close a guess came.
    """
    import hmac

    from bot.core.security import token_digest

    if not token or len(token) > 256:
        return None
    digest = token_digest(token)
    staff = session.exec(select(Staff).where(Staff.api_token_digest == digest)).first()
    if staff is None or not hmac.compare_digest(staff.api_token_digest or "", digest):
        return None
    return staff if staff.active else None

"""Password hashing, API tokens and HMAC signatures."""
from __future__ import annotations

import hashlib
import hmac
import secrets

from werkzeug.security import check_password_hash, generate_password_hash


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    return check_password_hash(password_hash, password)


def password_stamp(password_hash: str | None) -> str:
    """A short fingerprint of the stored hash, kept in a console session: a new password ends older sessions."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """API tokens are stored as a SHA-256 digest; the token itself is shown once."""
    return hashlib.sha256(token.encode()).hexdigest()


def sign(secret: str, data: bytes) -> str:
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def verify_signature(secret: str, data: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, data), signature)

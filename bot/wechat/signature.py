"""WeChat request signatures: sha1 over the sorted parts, compared in constant time."""
from __future__ import annotations

import hashlib
import hmac
import time

REPLAY_WINDOW_SECONDS = 300


class SignatureError(ValueError):
    """The request was not signed with our token (or was replayed)."""


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def check_signature(token: str, signature: str | None, timestamp: str | None, nonce: str | None,
                    *extra: str) -> None:
    """Raise SignatureError unless `signature` is sha1(sorted(token, timestamp, nonce, *extra))."""
    if not signature or timestamp is None or nonce is None:
        raise SignatureError("missing signature parameters")
    expected = sha1_signature(token, timestamp, nonce, *extra)
    if not hmac.compare_digest(expected.encode(), signature.lower().encode()):
        raise SignatureError("signature mismatch")


def check_timestamp(timestamp: str | None, now: float | None = None,
                    window: int = REPLAY_WINDOW_SECONDS) -> None:
    """Refuse timestamps more than `window` seconds from now (replayed or forged requests)."""
    try:
        stamp = int(timestamp or "")
    except ValueError as exc:
        raise SignatureError("timestamp is not a number") from exc
    current = time.time() if now is None else now
    if abs(current - stamp) > window:
        raise SignatureError("stale timestamp")

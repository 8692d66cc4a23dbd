"""HMAC request signing, exactly as ../shared/upstream/CONTRACT.md says. Pure functions.

    body_sha256    = lowercase hex SHA-256 of the exact body bytes ("" when no body)
    string_to_sign = METHOD \\n body_sha256 \\n path_with_query \\n date
    signature      = lowercase hex HMAC-SHA256(key=secret, msg=string_to_sign)

Swap this module if the real upstream signs differently.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

TOKEN_HEADER = "X-MBX-Token"  # nosec B105  # a header's name
DATE_HEADER = "X-MBX-Date"
SIGNATURE_HEADER = "X-MBX-Signature"
DEFAULT_WINDOW = 300  # seconds


def body_sha256(body: bytes | None) -> str:
    return hashlib.sha256(body or b"").hexdigest()


def string_to_sign(method: str, path_with_query: str, body: bytes | None, date: str) -> str:
    return "\n".join([method.upper(), body_sha256(body), path_with_query, date])


def sign(secret: str, method: str, path_with_query: str, body: bytes | None, date: str) -> str:
    message = string_to_sign(method, path_with_query, body, date).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def signed_headers(
    token: str, secret: str, method: str, path_with_query: str, body: bytes | None, date: str | None = None
) -> dict[str, str]:
    date = date or now_iso()
    return {
        TOKEN_HEADER: token,
        DATE_HEADER: date,
        SIGNATURE_HEADER: sign(secret, method, path_with_query, body, date),
    }


def parse_date(value: str) -> datetime | None:
    """An ISO 8601 date with a UTC offset; None when malformed or without an offset."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    if parsed.tzinfo is None:
        return None
    return parsed


def date_within_window(date: str, *, now: datetime | None = None, window: int = DEFAULT_WINDOW) -> bool:
    parsed = parse_date(date)
    if parsed is None:
        return False
    now = now or datetime.now(UTC)
    return abs((now - parsed).total_seconds()) <= window


def verify(
    secret: str,
    method: str,
    path_with_query: str,
    body: bytes | None,
    date: str,
    signature: str,
    *,
    now: datetime | None = None,
    window: int = DEFAULT_WINDOW,
) -> bool:
    """True when the signature matches (constant-time) and the date is inside the window."""
    if not (secret and date and signature):
        return False
    expected = sign(secret, method, path_with_query, body, date)
    # bytes, so a non-ASCII header value is a mismatch rather than a TypeError
    matches = hmac.compare_digest(expected.encode(), str(signature).strip().lower().encode("utf-8", "replace"))
    return matches and date_within_window(date, now=now, window=window)

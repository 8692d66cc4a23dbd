"""The few typed errors every upstream failure maps to. Messages never hold a secret."""

from __future__ import annotations


class UpstreamError(Exception):
    """A call to the upstream failed. `status` is the HTTP status (None without an answer)."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None, body: object = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body

    def __str__(self) -> str:
        return f"{self.message} (HTTP {self.status})" if self.status else self.message


class TransientError(UpstreamError):
    """Connection error, time-out, 5xx or 429: worth retrying later."""

    retryable = True

    def __init__(
        self, message: str, *, status: int | None = None, body: object = None, retry_after: float | None = None
    ):
        super().__init__(message, status=status, body=body)
        self.retry_after = retry_after


class ValidationFailed(UpstreamError):
    """422: the upstream refused the payload; `field_errors` maps dotted paths to messages."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = 422,
        body: object = None,
        field_errors: dict[str, list[str]] | None = None,
    ):
        super().__init__(message, status=status, body=body)
        self.field_errors = field_errors or {}


class Conflict(UpstreamError):
    """409: the object exists already; `existing` is the upstream's copy of it."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = 409,
        body: object = None,
        existing: dict | None = None,
        field_errors: dict[str, list[str]] | None = None,
    ):
        super().__init__(message, status=status, body=body)
        self.existing = existing or {}
        self.field_errors = field_errors or {}


class AuthFailed(UpstreamError):
    """401/403: wrong token, secret or clock."""


class NotFound(UpstreamError):
    """404."""


class BadRequest(UpstreamError):
    """Any other 4xx: a permanent refusal."""

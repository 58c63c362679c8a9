"""The one HTTP status table: which arbridge error a failed response is.

Every connector starts from :data:`STATUS_ERRORS` and extends it with what its vendor means
differently (Stripe's 409 is worth retrying, a QuickBooks 403 is not an authentication
problem) and with its own error codes read from the body, which win over the status (a
ClickUp ``OAUTH_`` ECODE, a QuickBooks Fault code, a Stripe error type).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from arbridge.errors import (
    AuthError,
    ConnectorError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    TransientError,
)


@dataclass(frozen=True)
class StatusTable:
    """HTTP status -> error class. Statuses not listed: 5xx are transient (the server's side),
    other 4xx permanent (the request itself is wrong), anything below 400 is success."""

    by_status: Mapping[int, type[ConnectorError]] = field(default_factory=dict)

    def extend(self, overrides: Mapping[int, type[ConnectorError]]) -> StatusTable:
        """This table with a vendor's own meanings of some statuses."""
        return StatusTable({**self.by_status, **overrides})

    def error_class(self, status: int) -> type[ConnectorError] | None:
        """The error class of a response with ``status``; ``None`` for success."""
        if status < 400:
            return None
        if status in self.by_status:
            return self.by_status[status]
        return TransientError if status >= 500 else PermanentError

    def error(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> ConnectorError | None:
        """The error to raise for ``status`` (``None`` for success), built by :func:`make_error`."""
        cls = self.error_class(status)
        if cls is None:
            return None
        return make_error(cls, message, status=status, code=code, retry_after=retry_after)


STATUS_ERRORS = StatusTable(
    {
        400: PermanentError,
        401: AuthError,
        403: AuthError,
        404: NotFoundError,
        408: TransientError,
        429: RateLimitedError,
    }
)


def make_error(
    cls: type[ConnectorError],
    message: str,
    *,
    status: int | None = None,
    code: str | None = None,
    retry_after: float | None = None,
) -> ConnectorError:
    """An instance of ``cls``; ``retry_after`` is kept only by the transient classes."""
    if issubclass(cls, TransientError):
        return cls(message, status=status, code=code, retry_after=retry_after)
    return cls(message, status=status, code=code)


def retry_after_s(headers: Mapping[str, str] | None) -> float | None:
    """A ``Retry-After`` header given in seconds (any letter case); ``None`` when absent or
    given as an HTTP date, which the vendors arbridge talks to do not send."""
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            try:
                seconds = float(value)
            except (TypeError, ValueError):
                return None
            return max(0.0, seconds)
    return None

"""One error taxonomy for the whole daemon.

    ArbridgeError
    ├── ConfigError            start-up stops; every problem is listed at once
    └── ConnectorError         something an outside system said or failed to say
        ├── TransientError     worth retrying (optionally after ``retry_after`` seconds)
        │   └── RateLimitedError
        └── PermanentError     retrying the same request cannot help
            ├── AuthError      the credentials are refused: fix the token
            └── NotFoundError  the object is gone on the other side

Config, rule and auth errors are never retried; transient errors are retried quickly in-call and
then rescheduled by the outbox with the error recorded.
"""

from __future__ import annotations


class ArbridgeError(Exception):
    """Base of every error arbridge raises on purpose."""


class ConfigError(ArbridgeError):
    """The configuration cannot work. ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class ConnectorError(ArbridgeError):
    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        self.status = status
        self.code = code
        super().__init__(message)


class TransientError(ConnectorError):
    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


class RateLimitedError(TransientError):
    pass


class PermanentError(ConnectorError):
    pass


class AuthError(PermanentError):
    pass


class NotFoundError(PermanentError):
    pass

"""One error taxonomy for the whole daemon and its connectors.

    ArbridgeError
    ├── ConfigError            start-up stops; every problem is listed at once
    ├── HistoryImportError     a payment-history file cannot be imported; every line at fault
    ├── ScenarioError          a what-if scenario cannot be read
    ├── RuleError              one rule cannot run: it is disabled, the others run
    │   ├── YamlError          a rule file cannot be read or parsed: the whole file is rejected
    │   ├── ConditionError     a condition cannot work
    │   ├── ActionError        an action cannot work
    │   ├── TemplateProblem    a message template cannot render
    │   └── CaseError          a rule test case cannot run
    ├── WebhookRejected        a webhook delivery that must not be stored (answered 4xx)
    └── ConnectorError         something an outside system said or failed to say
        ├── TransientError     worth retrying (optionally after ``retry_after`` seconds)
        │   └── RateLimitedError
        └── PermanentError     retrying the same request cannot help
            ├── AuthError      the credentials are refused: fix the token
            ├── NotFoundError  the object is gone on the other side
            └── MappingError   an object that cannot be turned into a canonical one

Config, rule and auth errors are never retried; transient errors are retried quickly in-call and
then rescheduled by the outbox with the error recorded (``arbridge.retry`` holds the one
backoff policy; ``arbridge.http_errors`` the one HTTP status table connectors extend).
Connectors may define narrower errors (a stale QuickBooks SyncToken) under these classes.
"""

from __future__ import annotations

# Where inside a rule (or a rule test case) a problem is: ("conditions", "all", 0, "gte").
RuleLoc = tuple[str | int, ...]


class ArbridgeError(Exception):
    """Base of every error arbridge raises on purpose."""


class ConfigError(ArbridgeError):
    """The configuration cannot work. ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class HistoryImportError(ArbridgeError):
    """A history file that cannot be imported. ``problems`` holds one ``file:line: ...`` each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class ScenarioError(ArbridgeError):
    """A what-if scenario (``"top:10 delay:5d"``) that cannot be read; says what is accepted."""

    def __init__(self, text: str, problem: str, *, accepted: str) -> None:
        super().__init__(f"invalid what-if {text!r}: {problem}; accepted: {accepted}")
        self.text = text
        self.problem = problem


class RuleError(ArbridgeError):
    """A rule that cannot run: it is disabled while the rest of its pack runs, and reported as
    ``path:line:col: what is wrong``.

    Raised while a rule is compiled with ``loc``, the place inside the rule; the loader, which
    knows where each key sits in the file, turns it into the ``path:line:col`` problem. ``key``
    says the key itself is at fault (its position is reported, not its value's).
    """

    def __init__(self, message: str, *, loc: RuleLoc = (), key: bool = False) -> None:
        self.message = message
        self.loc = loc
        self.key = key
        super().__init__(message)


class YamlError(RuleError):
    """The file cannot be read or parsed; the whole file is rejected."""

    def __init__(self, path: str, line: int, col: int, message: str) -> None:
        super().__init__(message)
        self.path, self.line, self.col = path, line, col

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.message}"


class ConditionError(RuleError):
    """A condition that cannot work; ``loc`` is relative to the rule."""

    def __init__(self, loc: RuleLoc, message: str, *, key: bool = False) -> None:
        super().__init__(message, loc=loc, key=key)


class ActionError(RuleError):
    """An action that cannot work (unknown field, bad template, ...); ``loc`` is relative to
    the rule."""

    def __init__(self, loc: RuleLoc, message: str) -> None:
        super().__init__(message, loc=loc)


class TemplateProblem(RuleError):
    """The template cannot render; the message says why."""


class CaseError(RuleError):
    """A rule test case that cannot run; ``loc`` is relative to the case."""

    def __init__(self, loc: RuleLoc, message: str, *, key: bool = False) -> None:
        super().__init__(message, loc=loc, key=key)


class WebhookRejected(ArbridgeError):
    """A delivery that must not be stored. ``status`` is the HTTP status to answer with and
    ``reason`` a short text safe to return and log (never a secret or the expected signature)."""

    def __init__(self, reason: str, *, status: int = 400) -> None:
        self.reason = reason
        self.status = status
        super().__init__(reason)


class ConnectorError(ArbridgeError):
    """An outside system refused, failed or could not be reached. ``status`` is the HTTP
    status when there was one, ``code`` the vendor's own error code (a Fault code, an ECODE)."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        self.status = status
        self.code = code
        super().__init__(message)


class TransientError(ConnectorError):
    """The same request may well succeed later: retried in-call, then rescheduled. The
    server's ``retry_after`` (seconds) is a floor for the next attempt."""

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
    """Too many requests (HTTP 429 or a vendor's throttling fault); wait ``retry_after``."""


class PermanentError(ConnectorError):
    """Sending the same request again cannot help: the error is recorded, not retried."""


class AuthError(PermanentError):
    """The credentials are refused: someone must fix the token or reconnect."""


class NotFoundError(PermanentError):
    """The object is gone on the other side (deleted, or never there)."""


class MappingError(PermanentError):
    """A source object arbridge cannot represent (named, with what is wrong). Re-reading it
    cannot help, so the engine records it instead of retrying."""

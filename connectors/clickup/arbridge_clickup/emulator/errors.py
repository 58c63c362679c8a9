"""ClickUp's API errors: an HTTP status plus a ``{"err", "ECODE"}`` body.

ECODEs confirmed against the live API by the sources in ``shared/contracts/NOTES.md`` are
OAUTH_017/019/027, FIELD_011, FIELD_017 and APP_002; the others are this emulator's choice.
"""

from __future__ import annotations


class ClickUpError(Exception):
    """An API error as ClickUp reports it: an HTTP status plus ``{"err", "ECODE"}``."""

    def __init__(self, status: int, err: str, ecode: str) -> None:
        super().__init__(f"{status} {ecode}: {err}")
        self.status = status
        self.err = err
        self.ecode = ecode

    def body(self) -> dict[str, str]:
        return {"err": self.err, "ECODE": self.ecode}


def bad_request(err: str, ecode: str) -> ClickUpError:
    return ClickUpError(400, err, ecode)


def bad_param(name: str) -> ClickUpError:
    return bad_request(f"Invalid value for query parameter {name}", "INPUT_003")


def not_authorized() -> ClickUpError:
    # The live API answers an unknown list or task id exactly like a foreign one.
    return ClickUpError(401, "Team not authorized", "OAUTH_027")

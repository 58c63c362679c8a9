"""Intuit's error answers as the emulator sends them."""

from __future__ import annotations

from typing import Any

THROTTLE_XML = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<IntuitResponse time="{time}" xmlns="http://schema.intuit.com/finance/v3">
    <Fault type="SERVICE">
        <Error code="3001">
            <Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>
            <Detail>The request limit was reached.  Try again later</Detail>
        </Error>
    </Fault>
</IntuitResponse>
"""


class QboFault(Exception):
    """Raised by the emulator's handlers; rendered as ``{"Fault": ...}``."""

    def __init__(
        self, status: int, code: str, message: str, detail: str = "", kind: str = "ValidationFault"
    ) -> None:
        super().__init__(f"{code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail
        self.kind = kind

    def body(self, time: str) -> dict[str, Any]:
        return {
            "Fault": {
                "Error": [
                    {
                        "Message": self.message,
                        "Detail": self.detail,
                        "code": self.code,
                        "element": "",
                    }
                ],
                "type": self.kind,
            },
            "time": time,
        }


def auth_failed_body(now_ms: int) -> dict[str, Any]:
    """The gateway's lower-case 401 body (``error.auth-401-3200.from-issue.json``)."""
    return {
        "warnings": None,
        "intuitObject": None,
        "fault": {
            "error": [
                {
                    "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                    "detail": None,
                    "code": "3200",
                    "element": None,
                }
            ],
            "type": "AUTHENTICATION",
        },
        "report": None,
        "queryResponse": None,
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": None,
        "requestId": None,
        "time": now_ms,
        "status": None,
        "cdcresponse": [],
    }


def not_found(entity: str, entity_id: str) -> QboFault:
    return QboFault(
        400,
        "610",
        "Object Not Found",
        f"Object Not Found : Something you're trying to use has been made inactive. Check the "
        f"fields with accounts, customers, items, vendors or employees. ({entity} {entity_id})",
    )


def stale(entity: str, entity_id: str) -> QboFault:
    return QboFault(
        400,
        "5010",
        "Stale Object Error",
        "Stale Object Error : You and API API were working on this at the same time. API API "
        f"finished before you did, so your work was not saved. ({entity} {entity_id})",
    )

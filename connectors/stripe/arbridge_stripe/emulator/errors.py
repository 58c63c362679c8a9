"""Stripe's error envelope: ``{"error": {"type", "message", "code"?, "param"?}}``."""

from __future__ import annotations

from typing import Any


class StripeApiError(Exception):
    """An API error to answer with; raised by the state and rendered by the app."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code is not None:
            error["code"] = self.code
        if self.param is not None:
            error["param"] = self.param
        return {"error": error}


def missing(kind: str, object_id: str, param: str = "id") -> StripeApiError:
    return StripeApiError(
        404, f"No such {kind}: '{object_id}'", code="resource_missing", param=param
    )


def bad_state(message: str) -> StripeApiError:
    return StripeApiError(400, message, code="invoice_not_editable")

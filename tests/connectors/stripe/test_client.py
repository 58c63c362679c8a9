"""The client's error table and request shape, against respx (failures the emulator does not
model) at Stripe's real default address."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import respx
from arbridge_stripe.client import StripeApi
from arbridge_stripe.settings import StripeSettings

from arbridge.errors import AuthError, PermanentError, TransientError

KEY = "rk_live_51SuperSecretRestrictedKeyValue"
API = "https://api.stripe.com"


@pytest.fixture
def api() -> Iterator[StripeApi]:
    client = StripeApi(StripeSettings(api_key=KEY, max_network_retries=0), sleep=lambda _: None)
    yield client
    client.close()


def error(status: int, kind: str, message: str, code: str | None = None) -> httpx.Response:
    body: dict[str, object] = {"error": {"type": kind, "message": message}}
    if code:
        body["error"] = {**body["error"], "code": code}  # type: ignore[dict-item]
    return httpx.Response(status, json=body, headers={"Request-Id": "req_abc"})


@respx.mock
def test_requests_go_to_stripe_with_the_pinned_version(api: StripeApi) -> None:
    route = respx.get(f"{API}/v1/customers/cus_1").mock(
        return_value=httpx.Response(200, json={"id": "cus_1", "object": "customer"})
    )
    assert api.retrieve_customer("cus_1", "acct_1X") == {"id": "cus_1", "object": "customer"}
    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.headers["Stripe-Version"] == "2026-10-28.endive"
    assert request.headers["Stripe-Account"] == "acct_1X"


@respx.mock
@pytest.mark.parametrize(
    "body",
    [
        {"id": "in_1", "object": "invoice", "deleted": True},
        {"id": "in_1", "object": "invoice", "status": "deleted"},
    ],
)
def test_deleted_invoice_shapes_read_as_gone(api: StripeApi, body: dict[str, object]) -> None:
    respx.get(f"{API}/v1/invoices/in_1").mock(return_value=httpx.Response(200, json=body))
    assert api.retrieve_invoice("in_1", None) is None


@respx.mock
def test_permission_error_names_the_restricted_key(api: StripeApi) -> None:
    respx.get(f"{API}/v1/disputes/dp_1").mock(
        return_value=error(403, "invalid_request_error", f"The key {KEY} lacks rak_dispute_read")
    )
    with pytest.raises(AuthError) as caught:
        api.retrieve_dispute("dp_1", None)
    assert "restricted key" in str(caught.value)
    assert KEY not in str(caught.value)
    assert caught.value.status == 403


@respx.mock
def test_lock_timeout_is_transient_and_bad_request_permanent(api: StripeApi) -> None:
    respx.get(f"{API}/v1/disputes/dp_1").mock(
        return_value=error(409, "invalid_request_error", "busy", "lock_timeout")
    )
    with pytest.raises(TransientError) as busy:
        api.retrieve_dispute("dp_1", None)
    assert busy.value.code == "lock_timeout"
    assert "req_abc" in str(busy.value)
    respx.get(f"{API}/v1/disputes/dp_2").mock(
        return_value=error(400, "invalid_request_error", "bad param", "parameter_unknown")
    )
    with pytest.raises(PermanentError) as bad:
        api.retrieve_dispute("dp_2", None)
    assert not isinstance(bad.value, AuthError)


@respx.mock
def test_connection_errors_are_transient(api: StripeApi) -> None:
    respx.get(f"{API}/v1/events").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(TransientError, match="Stripe events failed"):
        api.check()


def test_repr_hides_the_key(api: StripeApi) -> None:
    assert KEY not in repr(api)

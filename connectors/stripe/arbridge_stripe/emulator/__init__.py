"""A local Stripe API emulator: real HTTP, Stripe's v1 request and response shapes.

state = StripeState(FakeClock(...))
app = create_app(state, api_keys={DEMO_API_KEY})
with LoopbackServer(app) as server:  # from arbridge.testing
    StripeClient(DEMO_API_KEY, base_addresses={"api": server.base_url}).v1.invoices.list()
"""

from arbridge_stripe.emulator.app import EmulatorApp, create_app
from arbridge_stripe.emulator.errors import StripeApiError
from arbridge_stripe.emulator.facade import DEMO_API_KEY, DEMO_WEBHOOK_SECRET, StripeEmulator
from arbridge_stripe.emulator.forms import FormError, parse_form
from arbridge_stripe.emulator.objects import API_VERSION
from arbridge_stripe.emulator.ratelimit import LIVE_MODE_RATE, TEST_MODE_RATE, TokenBucket
from arbridge_stripe.emulator.state import RETENTION, StripeState
from arbridge_stripe.emulator.webhooks import (
    Delivery,
    DeliveryKnobs,
    DeliveryStats,
    WebhookSender,
    signature_header,
)

__all__ = [
    "API_VERSION",
    "DEMO_API_KEY",
    "DEMO_WEBHOOK_SECRET",
    "LIVE_MODE_RATE",
    "RETENTION",
    "TEST_MODE_RATE",
    "Delivery",
    "DeliveryKnobs",
    "DeliveryStats",
    "EmulatorApp",
    "FormError",
    "StripeApiError",
    "StripeEmulator",
    "StripeState",
    "TokenBucket",
    "WebhookSender",
    "create_app",
    "parse_form",
    "signature_header",
]

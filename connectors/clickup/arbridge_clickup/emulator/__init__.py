"""A local ClickUp API v2 emulator: real HTTP, ClickUp's request and response shapes.

state = default_workspace()
app = create_app(state, rate_limit=None)
with LoopbackServer(app) as server:  # from arbridge.testing
    httpx.get(f"{server.base_url}/api/v2/team", headers={"Authorization": DEMO_TOKEN})
"""

from arbridge_clickup.emulator.app import (
    API_PREFIX,
    ConnectionDropped,
    DeliveryAttempt,
    EmulatorApp,
    WebhookDispatcher,
    create_app,
)
from arbridge_clickup.emulator.board import render_board
from arbridge_clickup.emulator.faults import (
    FaultConfig,
    FaultDecision,
    FaultInjector,
    RateDecision,
    RateLimiter,
)
from arbridge_clickup.emulator.state import (
    BOT_USER_ID,
    DEMO_LIST_ID,
    DEMO_TEAM_ID,
    DEMO_TOKEN,
    PEOPLE_TOKENS,
    ClickUpError,
    Comment,
    EmulatorState,
    FieldDef,
    FieldFilter,
    FieldOption,
    FieldSpec,
    Status,
    Task,
    TaskList,
    TaskQuery,
    Team,
    Token,
    User,
    Webhook,
    WebhookDelivery,
    default_workspace,
    js_number,
    read_value,
    sign_body,
    validate_value,
)

__all__ = [
    "API_PREFIX",
    "BOT_USER_ID",
    "DEMO_LIST_ID",
    "DEMO_TEAM_ID",
    "DEMO_TOKEN",
    "PEOPLE_TOKENS",
    "ClickUpError",
    "Comment",
    "ConnectionDropped",
    "DeliveryAttempt",
    "EmulatorApp",
    "EmulatorState",
    "FaultConfig",
    "FaultDecision",
    "FaultInjector",
    "FieldDef",
    "FieldFilter",
    "FieldOption",
    "FieldSpec",
    "RateDecision",
    "RateLimiter",
    "Status",
    "Task",
    "TaskList",
    "TaskQuery",
    "Team",
    "Token",
    "User",
    "Webhook",
    "WebhookDelivery",
    "WebhookDispatcher",
    "create_app",
    "default_workspace",
    "js_number",
    "read_value",
    "render_board",
    "sign_body",
    "validate_value",
]

"""A local ClickUp API v2 emulator: real HTTP, ClickUp's request and response shapes.

state = default_workspace()
app = create_app(state, rate_limit=None)
with LoopbackServer(app) as server:  # from arbridge.testing
    httpx.get(f"{server.base_url}/api/v2/team", headers={"Authorization": DEMO_TOKEN})
"""

from arbridge_clickup.emulator.app import API_PREFIX, ConnectionDropped, EmulatorApp, create_app
from arbridge_clickup.emulator.board import render_board
from arbridge_clickup.emulator.errors import ClickUpError
from arbridge_clickup.emulator.events import WebhookDelivery, sign_body
from arbridge_clickup.emulator.faults import (
    FaultConfig,
    FaultDecision,
    FaultInjector,
    RateDecision,
    RateLimiter,
)
from arbridge_clickup.emulator.fields import js_number, read_value, validate_value
from arbridge_clickup.emulator.fixture import (
    BOT_USER_ID,
    DEMO_LIST_ID,
    DEMO_TEAM_ID,
    DEMO_TOKEN,
    PEOPLE_TOKENS,
    default_workspace,
)
from arbridge_clickup.emulator.model import (
    Comment,
    Status,
    Task,
    TaskList,
    Team,
    Token,
    User,
    Webhook,
)
from arbridge_clickup.emulator.query import FieldFilter, TaskQuery
from arbridge_clickup.emulator.state import EmulatorState
from arbridge_clickup.emulator.webhooks import DeliveryAttempt, WebhookDispatcher
from arbridge_clickup.emulator.workspace import FieldDef, FieldOption, FieldSpec, Workspace

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
    "Workspace",
    "create_app",
    "default_workspace",
    "js_number",
    "read_value",
    "render_board",
    "sign_body",
    "validate_value",
]

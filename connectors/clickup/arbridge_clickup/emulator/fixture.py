"""The demo workspace: team 9000 with an accounts-receivable list, its people and tokens."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from arbridge_clickup.emulator.model import Task, User
from arbridge_clickup.emulator.state import EmulatorState
from arbridge_clickup.emulator.workspace import FieldSpec, Workspace

DEMO_TEAM_ID = "9000"
DEMO_LIST_ID = "900100"
DEMO_TOKEN = "pk_demo_token"  # noqa: S105 - the fixture's well-known token
BOT_USER_ID = 81000

RECEIVABLE_STATUSES: tuple[tuple[str, str, str], ...] = (
    ("draft", "open", "#d3d3d3"),
    ("open", "custom", "#4194f6"),
    ("overdue", "custom", "#e50000"),
    ("partially paid", "custom", "#f9d900"),
    ("promise to pay", "custom", "#81b1ff"),
    ("disputed", "custom", "#ff7800"),
    ("escalated", "custom", "#b660e0"),
    ("paid", "closed", "#6bc950"),
    ("void", "closed", "#667684"),
    ("uncollectible", "closed", "#3e3e3e"),
)

_DAY_MS = 86_400_000


def _days_overdue(state: Workspace, task: Task) -> Any:
    """The "Days overdue" formula: whole days past the "Due date" field, never negative."""
    due = task.values.get(state.field_by_name(task.list_id, "Due date").id)
    if due is None:
        return None
    return str(max(0, (state.now_ms() - int(due)) // _DAY_MS))


RECEIVABLE_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("arbridge key", "short_text"),
    FieldSpec("Invoice number", "short_text"),
    FieldSpec("Customer", "short_text"),
    FieldSpec("Source", "drop_down", ("quickbooks", "stripe")),
    FieldSpec(
        "Invoice status",
        "drop_down",
        ("draft", "open", "partially_paid", "paid", "void", "uncollectible", "disputed"),
    ),
    FieldSpec("Currency", "short_text"),
    FieldSpec("Invoice total", "number"),
    FieldSpec("Amount due", "number"),
    FieldSpec("Issue date", "date"),
    FieldSpec("Due date", "date"),
    FieldSpec("Aging", "drop_down", ("current", "1-30", "31-60", "61-90", "90+")),
    FieldSpec("Invoice link", "url"),
    FieldSpec("Risk score", "number"),
    FieldSpec("Predicted pay date", "date"),
    FieldSpec("Reminders sent", "number"),
    # Filled in by collectors, read by arbridge (clickup.promise_to_pay_field), never written.
    FieldSpec("Promise to pay date", "date"),
    # Set by the large_invoices pack's set_field action.
    FieldSpec("Collection owner", "short_text"),
    FieldSpec("Queue rank", "number"),
    FieldSpec("Invoice checks", "text"),
    FieldSpec(
        "Days overdue",
        "formula",
        type_config={"formula": "MAX(0, DAYS(TODAY(), {Due date}))"},
        formula=_days_overdue,
    ),
)

DEMO_USERS = (
    User(BOT_USER_ID, "arbridge-bot", "bot@example.com", "#7b68ee"),
    User(81001, "Ada Collector", "ada@example.com", "#0ab4ff"),
    User(81002, "Sam Senior", "sam@example.com", "#ff7800"),
    User(81003, "Mia Manager", "mia@example.com", "#2ecd6f"),
)
# Extra personal tokens let tests and the demo act as people, so their changes carry their name.
PEOPLE_TOKENS = {"pk_ada_token": 81001, "pk_sam_token": 81002, "pk_mia_token": 81003}


def default_workspace(*, clock: Callable[[], float] = time.time, seed: int = 0) -> EmulatorState:
    """The fixture used by the demo and the tests: team 9000 with the "Receivables" list."""
    state = EmulatorState(clock=clock, seed=seed)
    for user in DEMO_USERS:
        state.add_user(
            User(
                user.id,
                user.username,
                user.email,
                user.color,
                f"https://attachments.example.com/profilePictures/{user.id}.png",
            )
        )
    state.add_team(DEMO_TEAM_ID, "Arbridge Demo", [u.id for u in DEMO_USERS], custom_id_prefix="AR")
    state.add_space("9001", DEMO_TEAM_ID, "Finance")
    state.add_folder("9002", "9001", "Accounts Receivable")
    state.add_list(
        DEMO_LIST_ID,
        "9002",
        "Receivables",
        statuses=RECEIVABLE_STATUSES,
        fields=RECEIVABLE_FIELDS,
    )
    state.add_token(DEMO_TOKEN, BOT_USER_ID, [DEMO_TEAM_ID])
    for token, user_id in PEOPLE_TOKENS.items():
        state.add_token(token, user_id, [DEMO_TEAM_ID])
    return state

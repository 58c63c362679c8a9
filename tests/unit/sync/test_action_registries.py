"""Every intent has a contribution and every operation kind a sink method: an action added
without one fails here, not in production."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import get_args

import pytest

from arbridge.automation.intents import AddTag, Intent, PostComment, SetField, SetStatus
from arbridge.core.ops import OpKind
from arbridge.loop.apply import _SINK_METHODS
from arbridge.loop.contributions import Wanted, contribute, marker_for, registered
from arbridge.store.tables import CollectionRow

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_every_intent_type_has_a_contribution() -> None:
    (union, _) = get_args(Intent)
    assert set(get_args(union)) == registered()


def test_every_operation_on_an_existing_task_has_a_sink_method() -> None:
    assert set(_SINK_METHODS) == set(OpKind) - {OpKind.CREATE_TASK}


def test_contributions_split_task_state_from_effects_in_action_order() -> None:
    wanted = Wanted(row=CollectionRow(invoice_key="k", updated_at=NOW), now=NOW)
    contribute(
        [
            PostComment(text="Pay", key="occ-1", reminder=True, mentions=("ana@x",)),
            SetStatus(status="disputed"),
            AddTag(tag="chased"),
            SetField(field="Stage", value="firm"),
        ],
        wanted,
    )
    assert wanted.row.status == "disputed"
    assert wanted.row.tags == ["chased"]
    assert wanted.row.reminders_sent == 1
    assert wanted.reminders == 1
    assert [(op.kind, op.payload) for op in wanted.effects] == [
        (OpKind.POST_COMMENT, {"text": "Pay\n\n@ana@x", "marker": marker_for("occ-1")}),
        (OpKind.ADD_TAG, {"tag": "chased"}),
        (OpKind.SET_RULE_FIELD, {"field": "Stage", "value": "firm"}),
    ]


def test_an_intent_without_a_contribution_is_refused() -> None:
    wanted = Wanted(row=CollectionRow(invoice_key="k", updated_at=NOW), now=NOW)
    with pytest.raises(TypeError, match="no contribution"):
        contribute([CollectionRow(invoice_key="x", updated_at=NOW)], wanted)

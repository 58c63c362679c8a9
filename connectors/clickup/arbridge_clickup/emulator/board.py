"""A read-only HTML board of the emulator's tasks: a column per status, refreshed every few seconds.

Every value shown comes from API callers, so everything is escaped before it reaches the page.
"""

from __future__ import annotations

import time
from html import escape

from arbridge_clickup.emulator.model import Task, TaskList
from arbridge_clickup.emulator.state import EmulatorState

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1rem; background: #f4f5f7; color: #222; }
h1 { font-size: 1.3rem; margin: 0 0 .5rem; }
h2 { font-size: 1.1rem; margin: 1.2rem 0 .5rem; }
.board { display: flex; gap: .75rem; overflow-x: auto; align-items: flex-start; }
.column { background: #ebecf0; border-radius: 6px; min-width: 15rem; max-width: 18rem;
  padding: .5rem; border-top: 4px solid var(--status-color); }
.column h3 { font-size: .85rem; text-transform: uppercase; margin: 0 0 .5rem; }
.card { background: #fff; border-radius: 4px; padding: .5rem; margin-bottom: .5rem;
  box-shadow: 0 1px 1px rgba(0, 0, 0, .15); font-size: .8rem; }
.card h4 { font-size: .9rem; margin: 0 0 .25rem; }
.card dl { display: grid; grid-template-columns: auto 1fr; gap: 0 .5rem; margin: .25rem 0 0; }
.card dt { color: #666; }
.card dd { margin: 0; overflow-wrap: anywhere; }
.meta { color: #555; margin: 0; }
"""


def render_board(
    state: EmulatorState, *, list_id: str | None = None, refresh_seconds: int = 3
) -> str:
    """The whole page for one list, or for every list when ``list_id`` is None."""
    with state.lock:
        if list_id is not None:
            lists = [state.lists[list_id]]
        else:
            lists = sorted(state.lists.values(), key=lambda lst: lst.orderindex)
        sections = "".join(_list_section(state, lst) for lst in lists)
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='refresh' content='{int(refresh_seconds)}'>"
        "<title>ClickUp emulator board</title>"
        f"<style>{_STYLE}</style></head><body>"
        "<h1>ClickUp emulator board</h1>"
        f"<p class='meta'>Read-only. Refreshes every {int(refresh_seconds)} s.</p>"
        f"{sections}</body></html>"
    )


def _list_section(state: EmulatorState, lst: TaskList) -> str:
    tasks = state.tasks_in_list(lst.id)
    columns = []
    for status in lst.statuses:
        cards = [_card(state, t) for t in tasks if t.status == status.name]
        columns.append(
            f"<section class='column' style='--status-color: {escape(status.color)}'>"
            f"<h3>{escape(status.name)} ({len(cards)})</h3>{''.join(cards)}</section>"
        )
    return f"<h2>{escape(lst.name)}</h2><div class='board'>{''.join(columns)}</div>"


def _card(state: EmulatorState, task: Task) -> str:
    lines = []
    if task.due_date is not None:
        due = time.strftime("%Y-%m-%d", time.gmtime(task.due_date / 1000))
        lines.append(f"<p class='meta'>Due {escape(due)}</p>")
    if task.assignees:
        names = ", ".join(state.users[uid].username for uid in task.assignees)
        lines.append(f"<p class='meta'>Assigned to {escape(names)}</p>")
    rows = []
    for fid in state.lists[task.list_id].field_ids:
        fdef = state.fields[fid]
        shown = state.display_value(task, fdef)
        if shown is not None:
            rows.append(f"<dt>{escape(fdef.name)}</dt><dd>{escape(shown)}</dd>")
    fields = f"<dl>{''.join(rows)}</dl>" if rows else ""
    return (
        f"<article class='card' id='task-{escape(task.id)}'>"
        f"<h4>{escape(task.name)}</h4>{''.join(lines)}{fields}</article>"
    )

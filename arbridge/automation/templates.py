"""Comment templates: Jinja2 in a sandbox, checked when the rule file loads.

Templates see data only (dicts, dates, numbers) through a ``SandboxedEnvironment`` with
``StrictUndefined``; a typo in a name or a fact is a load-time error, not a broken reminder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import pass_context

from arbridge.automation.facts import FACTS, NAMESPACES, FactSet, FactSpec, FactType
from arbridge.automation.problems import did_you_mean
from arbridge.errors import TemplateProblem
from arbridge.model.money import minor_units

LISTS = ("customer_invoices", "overdue_invoices", "matched_invoices")
VARIABLES = (*NAMESPACES, *LISTS, "today", "now", "vars")


@pass_context
def money(context: Context, amount: Any, currency: str | None = None) -> str:
    """``1234.5 | money("USD")`` -> ``1,234.50 USD``; the currency defaults to the invoice's."""
    if amount is None:
        return "n/a"
    code = currency
    if code is None:
        invoice = context.get("invoice")
        code = invoice.get("currency") if isinstance(invoice, Mapping) else None
    try:
        number = Decimal(str(amount))
        digits = minor_units(str(code)) if code else 2
    except (InvalidOperation, ValueError) as exc:
        raise TemplateProblem(f"money: cannot format {amount!r} {code!r}: {exc}") from None
    text = f"{number:,.{digits}f}"
    return f"{text} {code}" if code else text


def format_date(value: Any, fmt: str = "%Y-%m-%d") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, str):
        value = date.fromisoformat(value)
    if not isinstance(value, date):
        raise TemplateProblem(f"date: not a date: {value!r}")
    return value.strftime(fmt)


def days(value: Any) -> str:
    count = int(value)
    return f"{count} day" if abs(count) == 1 else f"{count} days"


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True
    )
    env.filters["money"] = money
    env.filters["date"] = format_date
    env.filters["days"] = days
    return env


ENV = _environment()


@dataclass(frozen=True)
class CompiledTemplate:
    source: str
    template: Template

    def render(self, context: Mapping[str, Any]) -> str:
        try:
            return self.template.render(dict(context)).strip()
        except TemplateProblem:
            raise
        except (UndefinedError, SecurityError) as exc:
            raise TemplateProblem(f"template failed: {exc}") from None
        except Exception as exc:  # user content: any failure is this template's, not ours
            raise TemplateProblem(f"template failed: {type(exc).__name__}: {exc}") from None


def compile_template(source: str, variables: Mapping[str, Any]) -> CompiledTemplate:
    """Parse and check ``source``; ``variables`` are the pack's ``vars``."""
    multiline = "\n" in source.strip()

    def where(line: int | None) -> str:
        return f" (template line {line})" if multiline else ""

    try:
        ast = ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"template syntax error: {exc.message}{where(exc.lineno)}") from None
    for name in sorted(meta.find_undeclared_variables(ast)):
        if name not in VARIABLES:
            line = next((n.lineno for n in ast.find_all(nodes.Name) if n.name == name), None)
            raise TemplateProblem(
                f"template uses undefined variable {name!r}{did_you_mean(name, VARIABLES)}"
                f"{where(line)}"
            )
    for node in ast.find_all(nodes.Getattr):
        target = node.node
        if not isinstance(target, nodes.Name):
            continue
        if target.name in NAMESPACES:
            fact = f"{target.name}.{node.attr}"
            if fact not in FACTS:
                known = [f for f in FACTS if f.startswith(f"{target.name}.")]
                raise TemplateProblem(
                    f"template uses unknown fact {fact!r}{did_you_mean(fact, known)}"
                    f"{where(node.lineno)}"
                )
        elif target.name == "vars" and node.attr not in variables:
            raise TemplateProblem(
                f"template uses undefined variable 'vars.{node.attr}'"
                f"{did_you_mean(node.attr, variables)}{where(node.lineno)}"
            )
    template = ENV.from_string(ast)
    # Jinja keeps a template's globals as a ChainMap over the environment's and flattens it on
    # every render, a sixth of a firing's cost in a large tick. ENV's globals never change after
    # import, so a plain copy is the same mapping, flattened once.
    template.globals = dict(template.globals)
    compiled = CompiledTemplate(source, template)
    try:
        compiled.template.render(_sample_context(variables))
    except (UndefinedError, SecurityError) as exc:
        raise TemplateProblem(f"template error: {exc}") from None
    except Exception:  # noqa: S110 - depends on the data; the engine traces it if it recurs
        pass
    return compiled


def context(
    facts: FactSet,
    matched: Sequence[FactSet],
    now: datetime,
    variables: Mapping[str, Any],
    *,
    matched_summaries: Sequence[Mapping[str, Any]] | None = None,
    namespaces: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """What a template sees for one firing; ``now`` is in the company time zone.

    ``matched_summaries`` and ``namespaces``, when given, are ``matched`` as invoice namespaces
    and ``facts.namespaces()``, already built: a group's firings share them, and each firing
    still gets its own copies."""
    open_invoices = [dict(entry) for entry in facts.customer_invoices]
    split = facts.namespaces() if namespaces is None else namespaces
    if matched_summaries is None:
        matched_summaries = [m.namespace("invoice") for m in matched]
    return {
        **{ns: dict(split.get(ns, {})) for ns in NAMESPACES},
        "customer_invoices": open_invoices,
        "overdue_invoices": [i for i in open_invoices if _overdue(i)],
        "matched_invoices": [dict(m) for m in matched_summaries],
        "today": now.date(),
        "now": now,
        "vars": dict(variables),
    }


def _overdue(summary: Mapping[str, Any]) -> bool:
    days_overdue = summary.get("days_overdue")
    return isinstance(days_overdue, int) and days_overdue > 0


def _sample(spec: FactSpec) -> Any:
    samples: dict[FactType, Any] = {
        FactType.DECIMAL: Decimal("1250.00"),
        FactType.INT: 5,
        FactType.FLOAT: 0.5,
        FactType.BOOL: False,
        FactType.STR: "sample",
        FactType.DATE: date(2026, 1, 15),
        FactType.DATETIME: datetime.fromisoformat("2026-01-15T09:00:00+00:00"),
        FactType.LIST_STR: ("sample",),
    }
    if spec.type is FactType.ENUM:
        return spec.values[0]
    if spec.name == "invoice.currency":
        return "USD"
    return samples[spec.type]


def _sample_context(variables: Mapping[str, Any]) -> dict[str, Any]:
    values = {name: _sample(spec) for name, spec in FACTS.items()}
    invoice = {k.removeprefix("invoice."): v for k, v in values.items() if k.startswith("invoice.")}
    second = {**invoice, "number": "sample-2", "due_date": date(2026, 1, 1), "days_overdue": 19}
    now = datetime.fromisoformat("2026-01-20T09:00:00+00:00")
    return {
        **{
            ns: {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith(f"{ns}.")}
            for ns in NAMESPACES
        },
        "customer_invoices": [invoice, second],
        "overdue_invoices": [invoice, second],
        "matched_invoices": [invoice, second],
        "today": now.date(),
        "now": now,
        "vars": dict(variables),
    }

"""Rule files -> a ``RuleSet``, in stages, with every problem pinned to ``file:line:col``.

Stages (like Home Assistant's): YAML (a syntax error rejects the whole file) -> file shape and
``vars`` -> per rule: variables, schema, conditions against the fact catalogue, actions and
templates, cross-checks. A rule that fails any stage is dropped alone, with its problems.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from arbridge.automation.actions import CompiledAction, compile_actions
from arbridge.automation.conditions import Compiled, compile_conditions
from arbridge.automation.problems import Problem, did_you_mean, format_path
from arbridge.automation.schema import EventTrigger, FileHeader, Policy, Rule, ScheduleTrigger
from arbridge.automation.yamlpos import Document, Loc, load_yaml, parse_yaml
from arbridge.errors import YamlError

TEST_SUFFIX = ".tests.yaml"


@dataclass(frozen=True)
class CompiledRule:
    id: str
    description: str
    version: str
    pack: str
    source: str
    line: int
    position: int
    enabled: bool
    priority: int
    order: int
    refire: bool
    triggers: tuple[ScheduleTrigger | EventTrigger, ...]
    condition: Compiled | None
    actions: tuple[CompiledAction, ...]
    policy: Policy
    variables: Mapping[str, Any]

    @property
    def sends_reminders(self) -> bool:
        return any(a.reminder for a in self.actions)

    @property
    def sort_key(self) -> tuple[int, int, int]:
        return (-self.priority, self.order, self.position)


@dataclass(frozen=True)
class RuleSet:
    """Valid rules in evaluation order: priority (high first), then ``order``, then file order."""

    rules: tuple[CompiledRule, ...] = ()

    def __iter__(self) -> Iterator[CompiledRule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def get(self, rule_id: str) -> CompiledRule | None:
        return next((r for r in self.rules if r.id == rule_id), None)


@dataclass(frozen=True)
class LoadResult:
    rules: RuleSet
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def rule_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files and directories -> rule files (``*.yaml``/``*.yml``, not ``*.tests.yaml``)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            candidates = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
            found.extend(p for p in candidates if not p.name.endswith(TEST_SUFFIX))
        else:
            found.append(path)
    return found


def pack_paths(directory: str | Path, names: Iterable[str]) -> tuple[list[Path], list[Problem]]:
    """Rule packs enabled by name (``dunning`` -> ``DIR/dunning.yaml``)."""
    base = Path(directory)
    available = [p.stem for p in rule_files([base])] if base.is_dir() else []
    paths: list[Path] = []
    problems: list[Problem] = []
    for name in names:
        path = base / f"{name}.yaml"
        if path.is_file():
            paths.append(path)
        else:
            problems.append(
                Problem(
                    str(base), 1, 1, f"unknown rule pack {name!r}{did_you_mean(name, available)}"
                )
            )
    return paths, problems


def load_rules(
    paths: Iterable[str | Path],
    *,
    vars_by_pack: Mapping[str, Mapping[str, Any]] | None = None,
) -> LoadResult:
    """Load rule files (or directories of them). ``vars_by_pack`` overrides a pack's ``vars``
    by pack name (the file name without ``.yaml``)."""
    documents: list[Document] = []
    problems: list[Problem] = []
    for path in rule_files(paths):
        try:
            documents.append(load_yaml(path))
        except YamlError as exc:
            problems.append(Problem(exc.path, exc.line, exc.col, exc.message))
    return _load(documents, problems, vars_by_pack or {})


def load_text(
    text: str, path: str = "rules.yaml", *, variables: Mapping[str, Any] | None = None
) -> LoadResult:
    """Load one rule file from a string (tests, editors)."""
    try:
        doc = parse_yaml(text, path)
    except YamlError as exc:
        return LoadResult(RuleSet(), [Problem(exc.path, exc.line, exc.col, exc.message)], [path])
    overrides = {Path(path).stem: variables} if variables else {}
    return _load([doc], [], overrides)


def _load(
    documents: list[Document], problems: list[Problem], overrides: Mapping[str, Mapping[str, Any]]
) -> LoadResult:
    compiled: list[CompiledRule] = []
    first_seen: dict[str, str] = {}
    position = 0
    for doc in documents:
        header, file_problems = _header(doc, overrides.get(Path(doc.path).stem, {}))
        problems.extend(file_problems)
        if header is None:
            continue
        raw_rules, variables = header
        for index, raw in enumerate(raw_rules):
            rule, rule_problems = _rule(doc, index, raw, variables, position)
            position += 1
            rule_id = raw.get("id") if isinstance(raw, dict) else None
            if isinstance(rule_id, str):
                line, col = doc.where(("rules", index, "id"))
                here = f"{doc.path}:{line}:{col}"
                if rule_id in first_seen:
                    message = (
                        f"duplicate rule id {rule_id!r} (first defined at {first_seen[rule_id]})"
                    )
                    rule_problems.append(Problem(doc.path, line, col, message, rule_id))
                    rule = None
                first_seen.setdefault(rule_id, here)
            problems.extend(rule_problems)
            if rule is not None and not rule_problems:
                compiled.append(rule)
    compiled.sort(key=lambda r: r.sort_key)
    files = list(dict.fromkeys(p.path for p in problems))
    problems.sort(key=lambda p: (files.index(p.path), p.line, p.col))
    return LoadResult(RuleSet(tuple(compiled)), problems, [d.path for d in documents])


def _header(
    doc: Document, override: Mapping[str, Any]
) -> tuple[tuple[list[Any], dict[str, Any]] | None, list[Problem]]:
    problems: list[Problem] = []
    for loc, (line, col) in doc.duplicates:
        if not (len(loc) > 2 and loc[0] == "rules"):
            problems.append(Problem(doc.path, line, col, f"duplicate key {loc[-1]!r}"))
    if doc.data is None:
        return ([], {}), problems
    if not isinstance(doc.data, dict):
        problems.append(Problem(doc.path, 1, 1, "a rule file is a mapping with vars and rules"))
        return None, problems
    try:
        header = FileHeader.model_validate(doc.data)
    except ValidationError as exc:
        problems.extend(pydantic_problems(exc, doc, (), doc.data, None))
        return None, problems
    if problems:
        return None, problems
    variables: dict[str, Any] = dict(header.vars)
    for name, value in override.items():
        if name not in variables:
            message = f"vars override {name!r}: the pack has no such variable"
            problems.append(Problem(doc.path, 1, 1, message + did_you_mean(name, variables)))
        else:
            variables[name] = value
    return (list(header.rules), variables), problems


def _rule(
    doc: Document, index: int, raw: Any, variables: Mapping[str, Any], position: int
) -> tuple[CompiledRule | None, list[Problem]]:
    base: Loc = ("rules", index)
    rule_id = raw.get("id") if isinstance(raw, dict) else None
    label = rule_id if isinstance(rule_id, str) else format_path(base)
    errors: list[tuple[Loc, str, bool]] = []
    for loc, _mark in doc.duplicates:
        if len(loc) > 2 and loc[:2] == base:
            errors.append((loc[2:], f"duplicate key {loc[-1]!r}", True))
    if not isinstance(raw, dict):
        errors.append(((), "a rule is a mapping (id, description, triggers, ...)", False))
        return None, _problems(doc, base, label, errors)
    data = _substitute(_known_rule_keys(raw, errors), (), variables, errors)
    try:
        model = Rule.model_validate(data)
    except ValidationError as exc:
        problems = pydantic_problems(exc, doc, base, data, label)
        return None, _problems(doc, base, label, errors) + problems
    condition, condition_errors = compile_conditions(model.conditions, ("conditions",))
    errors.extend((e.loc, e.message, e.key) for e in condition_errors)
    actions, action_errors = compile_actions(model.actions, ("actions",), variables)
    errors.extend((e.loc, e.message, False) for e in action_errors)
    errors.extend(_cross_checks(model))
    if errors:
        return None, _problems(doc, base, label, errors)
    line, _ = doc.where(base)
    payload = model.model_dump(mode="json", by_alias=True, exclude={"description", "enabled"})
    digest = json.dumps({"rule": payload, "vars": variables}, sort_keys=True, default=str)
    rule = CompiledRule(
        id=model.id,
        description=model.description,
        version=hashlib.sha256(digest.encode()).hexdigest()[:12],
        pack=Path(doc.path).stem,
        source=doc.path,
        line=line,
        position=position,
        enabled=model.enabled,
        priority=model.priority,
        order=model.order,
        refire=model.refire,
        triggers=tuple(model.triggers),
        condition=condition,
        actions=tuple(actions),
        policy=model.policy,
        variables=dict(variables),
    )
    return rule, []


def _known_rule_keys(raw: dict[str, Any], errors: list[tuple[Loc, str, bool]]) -> dict[str, Any]:
    """Report unknown rule keys here, so the rest of the rule is still checked."""
    allowed = [f.alias or name for name, f in Rule.model_fields.items()]
    kept: dict[str, Any] = {}
    for key, value in raw.items():
        if key in allowed:
            kept[key] = value
        else:
            hint = did_you_mean(str(key), allowed) or f" (expected {', '.join(allowed)})"
            errors.append(((str(key),), f"unknown key {key!r}{hint}", True))
    return kept


def _in_quiet_hours(at: time, start: time, end: time) -> bool:
    return start <= at < end if start < end else at >= start or at < end


def _cross_checks(model: Rule) -> list[tuple[Loc, str, bool]]:
    found: list[tuple[Loc, str, bool]] = []
    quiet = model.policy.quiet_hours
    if quiet is not None:
        start, end = time.fromisoformat(quiet.start), time.fromisoformat(quiet.end)
        for index, trigger in enumerate(model.triggers):
            if isinstance(trigger, ScheduleTrigger):
                at = time.fromisoformat(trigger.schedule.at)
                if _in_quiet_hours(at, start, end):
                    found.append(
                        (
                            ("triggers", index, "schedule", "at"),
                            f"{trigger.schedule.at} is inside the rule's quiet hours "
                            f"({quiet.start}-{quiet.end}), so the schedule would never fire",
                            False,
                        )
                    )
    return found


def _substitute(value: Any, loc: Loc, variables: Mapping[str, Any], errors: list[Any]) -> Any:
    """Replace ``{var: name}`` with the pack variable's value, anywhere in the rule."""
    if isinstance(value, dict):
        if list(value) == ["var"] and isinstance(value["var"], str):
            name = value["var"]
            if name not in variables:
                message = f"unknown variable {name!r}{did_you_mean(name, variables)}"
                errors.append(((*loc, "var"), message, False))
                return None
            return variables[name]
        return {k: _substitute(v, (*loc, k), variables, errors) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, (*loc, i), variables, errors) for i, v in enumerate(value)]
    return value


def _problems(
    doc: Document, base: Loc, label: str | None, errors: list[tuple[Loc, str, bool]]
) -> list[Problem]:
    out: list[Problem] = []
    for loc, message, at_key in errors:
        line, col = doc.where((*base, *loc), key=at_key)
        text = f"{format_path(loc)}: {message}" if loc else message
        problem = Problem(doc.path, line, col, text, label)
        if problem not in out:
            out.append(problem)
    return out


_MESSAGES = {
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "string_type": "expected a string",
    "list_type": "expected a list",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "too_short": "must not be empty",
    "string_too_short": "must not be empty",
    "string_pattern_mismatch": "use letters, digits, '.', '_' and '-' (no spaces or ':')",
}


def pydantic_problems(
    exc: ValidationError, doc: Document, base: Loc, data: Any, label: str | None
) -> list[Problem]:
    errors: list[tuple[Loc, str, bool]] = []
    for error in exc.errors():
        loc, at_key = _real_loc(data, tuple(error["loc"])), False
        kind = error["type"]
        ctx = error.get("ctx") or {}
        if kind == "arbridge_key":
            loc, at_key = (*loc, str(ctx["key"])), True
            message = str(ctx["message"])
        elif kind == "arbridge":
            message = str(ctx["message"])
        elif kind == "missing":
            loc, message = (*loc, str(error["loc"][-1])), "is required"
        elif kind == "extra_forbidden":
            message, at_key = "unknown key", True
        elif kind in _MESSAGES:
            message = _MESSAGES[kind]
            value = error.get("input")
            if isinstance(value, str | int | float | bool) and kind != "too_short":
                message += f", got {value!r}"
        else:
            text = str(error["msg"]).removeprefix("Value error, ")
            message = text[:1].lower() + text[1:]
        errors.append((loc, message, at_key))
    return _problems(doc, base, label, errors)


def _real_loc(data: Any, loc: tuple[Any, ...]) -> Loc:
    """Drop the union tags pydantic puts into error locations, keeping the input's own keys."""
    real: list[str | int] = []
    node = data
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            node = node[part]
            real.append(part)
    return tuple(real)

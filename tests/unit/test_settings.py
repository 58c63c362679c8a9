"""load_settings: YAML + ${ENV} interpolation + ARBRIDGE_* overrides, and precise errors."""

from __future__ import annotations

import os
import traceback
from pathlib import Path

import pytest
from arbridge_clickup.settings import DEFAULT_FIELDS, DEFAULT_STATUSES

from arbridge.errors import ConfigError
from arbridge.settings import Settings, load_settings

TOKEN = "pk_4711_SUPERSECRETTOKENVALUE"
ENV_TOKEN = "pk_0815_ENVIRONMENTTOKENVALUE"

VALID = """\
# arbridge configuration
database_url: sqlite:///var/arbridge.db
clickup:
  token: pk_4711_SUPERSECRETTOKENVALUE
  list_id: "901234"
  team_id: "42"
  requests_per_minute: 60
company:
  timezone: Europe/Berlin
  holiday_country: DE
  holiday_subdivision: BY
sync:
  interval_s: 60
  workers: 4
log:
  level: DEBUG
  format: json
"""


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ARBRIDGE_* variable of the machine running the tests may leak into them."""
    for name in list(os.environ):
        if name.upper().startswith("ARBRIDGE_") or name.startswith("ARB_TEST_"):
            monkeypatch.delenv(name)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "arbridge.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path | None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert str(info.value) == "\n".join(info.value.problems)
    return info.value.problems


def _all_text(error: ConfigError) -> str:
    """Everything a log or a crash could show of the error, chained causes included."""
    return "\n".join([str(error), repr(error), *error.problems, *traceback.format_exception(error)])


def minimal(extra: str = "", clickup_extra: str = "") -> str:
    return f'clickup:\n  token: {TOKEN}\n  list_id: "901"\n{clickup_extra}{extra}'


# --- valid files ----------------------------------------------------------------------------


def test_valid_file_loads(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, VALID))
    assert settings.database_url == "sqlite:///var/arbridge.db"
    assert settings.clickup.token.get_secret_value() == TOKEN
    assert settings.clickup.list_id == "901234"
    assert settings.clickup.team_id == "42"
    assert settings.clickup.requests_per_minute == 60
    assert settings.clickup.base_url == "https://api.clickup.com/api/v2"
    assert settings.clickup.statuses == DEFAULT_STATUSES
    assert settings.clickup.fields == DEFAULT_FIELDS
    assert settings.company.timezone == "Europe/Berlin"
    assert (settings.company.holiday_country, settings.company.holiday_subdivision) == (
        "DE",
        "BY",
    )
    assert settings.sync.interval_s == 60.0
    assert settings.sync.workers == 4
    assert settings.sync.lease_s == 120.0
    assert (settings.log.level, settings.log.format) == ("DEBUG", "json")
    assert settings.secrets() == [TOKEN]


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, minimal()))
    assert settings.database_url == "sqlite:///arbridge.db"
    assert settings.company.timezone == "UTC"
    assert settings.company.holiday_country is None
    assert settings.sync.workers == 2
    assert settings.clickup.max_retries == 4
    assert settings.log.format == "auto"


def test_token_is_not_shown_in_repr_or_dump(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, VALID))
    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings.model_dump())


def test_custom_fields_and_statuses_replace_the_defaults(tmp_path: Path) -> None:
    statuses = "".join(f"    {key}: {key.upper()}\n" for key in DEFAULT_STATUSES)
    text = minimal(
        clickup_extra=(
            f"  fields:\n    arbridge_key: AR key\n    total: Total\n  statuses:\n{statuses}"
        )
    )
    settings = load_settings(write(tmp_path, text))
    assert settings.clickup.fields == {"arbridge_key": "AR key", "total": "Total"}
    assert settings.clickup.statuses == {key: key.upper() for key in DEFAULT_STATUSES}


def test_settings_from_the_environment_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARBRIDGE_CLICKUP__TOKEN", ENV_TOKEN)
    monkeypatch.setenv("ARBRIDGE_CLICKUP__LIST_ID", "77")
    monkeypatch.setenv("ARBRIDGE_SYNC__WORKERS", "8")
    settings = load_settings(None)
    assert settings.clickup.token.get_secret_value() == ENV_TOKEN
    assert settings.clickup.list_id == "77"
    assert settings.sync.workers == 8


# --- ${ENV} interpolation -------------------------------------------------------------------


def test_env_interpolation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARB_TEST_TOKEN", ENV_TOKEN)
    monkeypatch.setenv("ARB_TEST_USER", "ar")
    monkeypatch.setenv("ARB_TEST_PASSWORD", "p@ss")
    text = (
        "database_url: postgresql://${ARB_TEST_USER}:${ARB_TEST_PASSWORD}@db/arbridge\n"
        "clickup:\n  token: ${ARB_TEST_TOKEN}\n  list_id: '901'\n"
    )
    settings = load_settings(write(tmp_path, text))
    assert settings.clickup.token.get_secret_value() == ENV_TOKEN
    assert settings.database_url == "postgresql://ar:p@ss@db/arbridge"


def test_env_interpolation_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARB_TEST_ZONE", "America/New_York")
    text = minimal(
        "company:\n  timezone: ${ARB_TEST_ZONE:-UTC}\n"
        "  holiday_country: ${ARB_TEST_COUNTRY:-US}\n"
        "sync:\n  workers: ${ARB_TEST_WORKERS:-3}\n"
        "database_url: ${ARB_TEST_DB:-sqlite:///fallback.db}\n"
    )
    settings = load_settings(write(tmp_path, text))
    assert settings.company.timezone == "America/New_York"
    assert settings.company.holiday_country == "US"
    assert settings.sync.workers == 3
    assert settings.database_url == "sqlite:///fallback.db"


def test_empty_variable_takes_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # ${VAR:-default} is the shell's form: the default applies when VAR is unset *or empty*.
    monkeypatch.setenv("ARB_TEST_ZONE", "")
    settings = load_settings(
        write(tmp_path, minimal("company:\n  timezone: ${ARB_TEST_ZONE:-UTC}\n"))
    )
    assert settings.company.timezone == "UTC"


def test_text_without_references_is_untouched(tmp_path: Path) -> None:
    text = minimal("database_url: postgresql://u:$notavar@db/x\n")
    assert load_settings(write(tmp_path, text)).database_url == "postgresql://u:$notavar@db/x"


def test_unset_variable_names_the_variable_and_position(tmp_path: Path) -> None:
    path = write(tmp_path, 'clickup:\n  list_id: "901"\n  token: ${ARB_TEST_MISSING_TOKEN}\n')
    assert problems_of(path) == [
        f"{path}:3:3: clickup.token: environment variable ARB_TEST_MISSING_TOKEN is not set"
    ]


def test_every_unset_variable_is_reported(tmp_path: Path) -> None:
    text = (
        "database_url: ${ARB_TEST_DB}\n"
        "clickup:\n  token: ${ARB_TEST_A}-${ARB_TEST_B}\n  list_id: '901'\n"
    )
    path = write(tmp_path, text)
    assert problems_of(path) == [
        f"{path}:1:1: database_url: environment variable ARB_TEST_DB is not set",
        f"{path}:3:3: clickup.token: environment variable ARB_TEST_A is not set",
        f"{path}:3:3: clickup.token: environment variable ARB_TEST_B is not set",
    ]


def test_unset_variable_does_not_hide_other_problems(tmp_path: Path) -> None:
    text = (
        "clickup:\n"
        "  token: ${ARB_TEST_MISSING_TOKEN}\n"
        "  list_id: '901'\n"
        "  lits_id: '902'\n"
        "company:\n"
        "  timezone: Mars/Olympus_Mons\n"
    )
    path = write(tmp_path, text)
    problems = problems_of(path)
    assert (
        f"{path}:2:3: clickup.token: environment variable ARB_TEST_MISSING_TOKEN is not set"
        in problems
    )
    assert (
        f"{path}:4:3: clickup.lits_id: unknown key (check the spelling against "
        "config.example.yaml)" in problems
    )
    assert (
        f"{path}:6:3: company.timezone: unknown time zone 'Mars/Olympus_Mons' "
        "(use an IANA name such as Europe/Berlin)" in problems
    )


# --- environment overrides ------------------------------------------------------------------


def test_env_override_beats_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARBRIDGE_CLICKUP__TOKEN", ENV_TOKEN)
    monkeypatch.setenv("ARBRIDGE_COMPANY__TIMEZONE", "America/New_York")
    monkeypatch.setenv("ARBRIDGE_SYNC__WORKERS", "16")
    monkeypatch.setenv("ARBRIDGE_DATABASE_URL", "postgresql://db/ar")
    settings = load_settings(write(tmp_path, VALID))
    assert settings.clickup.token.get_secret_value() == ENV_TOKEN
    assert settings.company.timezone == "America/New_York"
    assert settings.sync.workers == 16
    assert settings.database_url == "postgresql://db/ar"
    # Keys not overridden keep their file values: sections are merged, not replaced.
    assert settings.clickup.list_id == "901234"
    assert settings.company.holiday_country == "DE"
    assert settings.sync.interval_s == 60.0


def test_env_override_beats_interpolated_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARB_TEST_TOKEN", TOKEN)
    monkeypatch.setenv("ARBRIDGE_CLICKUP__TOKEN", ENV_TOKEN)
    text = "clickup:\n  token: ${ARB_TEST_TOKEN}\n  list_id: '901'\n"
    settings = load_settings(write(tmp_path, text))
    assert settings.clickup.token.get_secret_value() == ENV_TOKEN


def test_env_override_supplies_a_missing_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARBRIDGE_CLICKUP__TOKEN", ENV_TOKEN)
    settings = load_settings(write(tmp_path, "clickup:\n  list_id: '901'\n"))
    assert settings.clickup.token.get_secret_value() == ENV_TOKEN


def test_bad_env_value_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARBRIDGE_COMPANY__TIMEZONE", "Nowhere/Town")
    monkeypatch.setenv("ARBRIDGE_SYNC__WORKERS", "many")
    problems = problems_of(write(tmp_path, VALID))
    assert problems[0] == (
        "environment ARBRIDGE_COMPANY__TIMEZONE: company.timezone: unknown time zone "
        "'Nowhere/Town' (use an IANA name such as Europe/Berlin)"
    )
    assert problems[1].startswith("environment ARBRIDGE_SYNC__WORKERS: sync.workers: ")
    assert "valid integer" in problems[1]
    assert len(problems) == 2


def test_unknown_nested_env_key_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARBRIDGE_CLICKUP__TOKN", "x")
    assert problems_of(write(tmp_path, minimal())) == [
        "environment ARBRIDGE_CLICKUP__TOKN: clickup.tokn: unknown key "
        "(check the spelling against config.example.yaml)"
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ARBRIDGE_CLICKUP__STATUSES", "open=Open"),
        ("ARBRIDGE_CLICKUP__FIELDS", "{not json"),
        ("ARBRIDGE_CLICKUP", f'{{"token": "{TOKEN}", "list_id": 1'),
    ],
    ids=["statuses", "fields", "clickup-json"],
)
def test_unparsable_env_value_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, minimal()))
    assert f"environment {name}" in str(info.value)
    assert TOKEN not in _all_text(info.value)


# --- the token ------------------------------------------------------------------------------


def test_missing_token(tmp_path: Path) -> None:
    path = write(tmp_path, "# no token yet\nclickup:\n  list_id: '901'\n")
    assert problems_of(path) == [
        f"{path}:2:1: clickup.token: is required: set it in the config file or as "
        "ARBRIDGE_CLICKUP__TOKEN"
    ]


@pytest.mark.parametrize("value", ['""', "'   '"])
def test_empty_token(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, f"clickup:\n  list_id: '901'\n  token: {value}\n")
    assert problems_of(path) == [
        f"{path}:3:3: clickup.token: is empty: set clickup.token or ARBRIDGE_CLICKUP__TOKEN"
    ]


def test_empty_token_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARBRIDGE_CLICKUP__TOKEN", " ")
    assert problems_of(write(tmp_path, minimal())) == [
        "environment ARBRIDGE_CLICKUP__TOKEN: clickup.token: is empty: set clickup.token or "
        "ARBRIDGE_CLICKUP__TOKEN"
    ]


def test_missing_everything_without_a_file() -> None:
    assert problems_of(None) == [
        "config: clickup: is required: set it in the config file or as ARBRIDGE_CLICKUP"
    ]


INVALID_WITH_TOKEN = [
    pytest.param(minimal(clickup_extra="  list_idd: x\n"), id="unknown-key"),
    pytest.param(minimal("company:\n  timezone: Not/AZone\n"), id="bad-timezone"),
    pytest.param(minimal("sync:\n  workers: 0\n  interval_s: -1\n"), id="bad-numbers"),
    pytest.param(minimal("log:\n  format: xml\n"), id="bad-log-format"),
    pytest.param(minimal(clickup_extra="  fields:\n    totl: X\n"), id="unknown-fact"),
    pytest.param(minimal(clickup_extra="  statuses:\n    closed: Done\n"), id="unknown-status"),
    pytest.param(f"clickup:\n  token: {TOKEN}\n", id="missing-list-id"),
    pytest.param(f"clickup:\n  token: {TOKEN}\n  list_id: ''\n", id="empty-list-id"),
    pytest.param(f"clickup:\n  token: [{TOKEN}]\n  list_id: '1'\n", id="token-is-a-list"),
    pytest.param(f"clickup:\n  token:\n    value: {TOKEN}\n  list_id: '1'\n", id="token-is-a-map"),
    pytest.param(f"clickup: {TOKEN}\n", id="section-is-a-string"),
    pytest.param(f"company:\n  token: {TOKEN}\n", id="token-in-wrong-section"),
    pytest.param(f"clickup:\n  token: {TOKEN}: x\n  list_id: '1'\n", id="yaml-colon"),
    pytest.param(f'clickup:\n  token: "{TOKEN}\n  list_id: 1\n', id="yaml-unclosed-quote"),
    pytest.param(f"clickup:\n  token: {TOKEN}\n\tlist_id: 1\n", id="yaml-tab"),
    pytest.param(f"clickup:\n  token: {TOKEN}\n list_id: 1\n", id="yaml-indent"),
    pytest.param(f"- {TOKEN}\n", id="not-a-mapping"),
    pytest.param(f"clickup:\n  token: {TOKEN}\n  token: ${{ARB_TEST_UNSET}}\n", id="unset-var"),
]


@pytest.mark.parametrize("text", INVALID_WITH_TOKEN)
def test_token_from_file_never_appears_in_errors(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    text_of_error = "\n".join([str(info.value), repr(info.value), *info.value.problems])
    assert TOKEN not in text_of_error
    assert "SUPERSECRET" not in text_of_error


@pytest.mark.parametrize("text", INVALID_WITH_TOKEN)
def test_token_from_file_never_appears_in_the_traceback(tmp_path: Path, text: str) -> None:
    # An uncaught ConfigError prints its chained causes too (PyYAML's include the file line).
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    assert TOKEN not in _all_text(info.value)


@pytest.mark.parametrize(
    "text",
    [
        minimal(clickup_extra="  list_idd: x\n").replace(TOKEN, "${ARB_TEST_TOKEN}"),
        "clickup:\n  token: ${ARB_TEST_TOKEN}\ncompany:\n  timezone: Bad/Zone\n",
        "clickup:\n  token: ${ARB_TEST_TOKEN}\n  list_id: '1'\n  x: ${ARB_TEST_UNSET}\n",
    ],
)
def test_token_from_env_never_appears_in_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.setenv("ARB_TEST_TOKEN", ENV_TOKEN)
    monkeypatch.setenv("ARBRIDGE_CLICKUP__TOKEN", ENV_TOKEN)
    monkeypatch.setenv("ARBRIDGE_SYNC__WORKERS", "zero")
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    assert ENV_TOKEN not in _all_text(info.value)


# --- file positions -------------------------------------------------------------------------


def test_unknown_key_points_at_that_key(tmp_path: Path) -> None:
    text = VALID.replace("  workers: 4\n", "  workers: 4\n  wrokers: 5\n")
    path = write(tmp_path, text)
    line = text.splitlines().index("  wrokers: 5") + 1
    assert problems_of(path) == [
        f"{path}:{line}:3: sync.wrokers: unknown key (check the spelling against "
        "config.example.yaml)"
    ]


def test_unknown_top_level_section(tmp_path: Path) -> None:
    path = write(tmp_path, minimal("\npaypal:\n  key: sk_x\n"))
    assert problems_of(path) == [
        f"{path}:5:1: paypal: unknown key (check the spelling against config.example.yaml)"
    ]


def test_unknown_fact_in_fields(tmp_path: Path) -> None:
    path = write(
        tmp_path, minimal(clickup_extra="  fields:\n    arbridge_key: Key\n    totl: Total\n")
    )
    assert problems_of(path) == [
        f"{path}:4:3: clickup.fields: unknown fact 'totl'; mappable facts are aging, "
        "amount_due, arbridge_key, currency, customer, due_date, invoice_checks, invoice_status, "
        "issue_date, link, number, predicted_pay_date, queue_rank, risk_score, source, total"
    ]


def test_fields_without_arbridge_key(tmp_path: Path) -> None:
    path = write(tmp_path, minimal(clickup_extra="  fields:\n    total: Total\n"))
    assert problems_of(path) == [
        f"{path}:4:3: clickup.fields: arbridge_key must be mapped to a short_text field: it is "
        "how a task is found again after a crash"
    ]


def test_field_name_must_be_text(tmp_path: Path) -> None:
    path = write(
        tmp_path, minimal(clickup_extra="  fields:\n    arbridge_key: Key\n    total: [1]\n")
    )
    problems = problems_of(path)
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:6:5: clickup.fields.total: ")


def test_unknown_status_key(tmp_path: Path) -> None:
    statuses = "".join(f"    {key}: {value}\n" for key, value in DEFAULT_STATUSES.items())
    path = write(tmp_path, minimal(clickup_extra=f"  statuses:\n{statuses}    closed: Done\n"))
    assert problems_of(path) == [
        f"{path}:4:3: clickup.statuses: unknown task status 'closed'; expected one of draft, "
        "open, overdue, partially_paid, paid, void, uncollectible, disputed"
    ]


def test_missing_status_keys(tmp_path: Path) -> None:
    path = write(tmp_path, minimal(clickup_extra="  statuses:\n    open: Open\n"))
    assert problems_of(path) == [
        f"{path}:4:3: clickup.statuses: no list status given for draft, overdue, "
        "partially_paid, paid, void, uncollectible, disputed"
    ]


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "Europe/Berlinn", "CEST", "../etc/passwd"])
def test_bad_timezone(tmp_path: Path, zone: str) -> None:
    path = write(tmp_path, minimal(f"company:\n  holiday_country: DE\n  timezone: '{zone}'\n"))
    assert problems_of(path) == [
        f"{path}:6:3: company.timezone: unknown time zone {zone!r} "
        "(use an IANA name such as Europe/Berlin)"
    ]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo"])
def test_good_timezone(tmp_path: Path, zone: str) -> None:
    settings = load_settings(write(tmp_path, minimal(f"company:\n  timezone: {zone}\n")))
    assert settings.company.timezone == zone


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    text = (
        "clickup:\n"  # 1
        "  token: ''\n"  # 2
        "  list_id: '901'\n"  # 3
        "  colour: red\n"  # 4
        "company:\n"  # 5
        "  timezone: Atlantis/Capital\n"  # 6
        "sync:\n"  # 7
        "  workers: 0\n"  # 8
        "log:\n"  # 9
        "  format: xml\n"  # 10
    )
    path = write(tmp_path, text)
    problems = problems_of(path)
    assert problems[:3] == [
        f"{path}:2:3: clickup.token: is empty: set clickup.token or ARBRIDGE_CLICKUP__TOKEN",
        f"{path}:4:3: clickup.colour: unknown key (check the spelling against config.example.yaml)",
        f"{path}:6:3: company.timezone: unknown time zone 'Atlantis/Capital' "
        "(use an IANA name such as Europe/Berlin)",
    ]
    assert problems[3].startswith(f"{path}:8:3: sync.workers: ")
    assert problems[4].startswith(f"{path}:10:3: log.format: ")
    assert len(problems) == 5


def test_missing_list_id_points_at_its_section(tmp_path: Path) -> None:
    path = write(tmp_path, f"log:\n  level: INFO\nclickup:\n  token: {TOKEN}\n")
    assert problems_of(path) == [
        f"{path}:3:1: clickup.list_id: is required: set it in the config file or as "
        "ARBRIDGE_CLICKUP__LIST_ID"
    ]


# --- unreadable and malformed files ---------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    assert problems_of(path) == [f"{path}: cannot read config file: No such file or directory"]


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ("clickup:\n  token: a: b\n", "2:11", "mapping values are not allowed here"),
        (
            "clickup:\n  token: x\n\tlist_id: 1\n",
            "3:1",
            "found character '\\t' that cannot start any token",
        ),
        ("clickup: [1, 2\n", "2:1", "expected ',' or ']', but got '<stream end>'"),
        ("a: 1\n---\nb: 2\n", "2:1", "but found another document"),
    ],
)
def test_invalid_yaml(tmp_path: Path, text: str, where: str, problem: str) -> None:
    path = write(tmp_path, text)
    assert problems_of(path) == [f"{path}:{where}: invalid YAML: {problem}"]


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "42\n"])
def test_config_must_be_a_mapping(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    assert problems_of(path) == [f"{path}:1:1: the config must be a mapping of sections"]


@pytest.mark.parametrize("text", ["", "# only a comment\n", "{}\n"])
def test_empty_config_asks_for_clickup(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    assert problems_of(path) == [
        f"{path}:1:1: clickup: is required: set it in the config file or as ARBRIDGE_CLICKUP"
    ]


def test_settings_class_reads_env_before_init(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARBRIDGE_LOG__LEVEL", "WARNING")
    settings = Settings(clickup={"token": TOKEN, "list_id": "1"}, log={"level": "DEBUG"})
    assert settings.log.level == "WARNING"

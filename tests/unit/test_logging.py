from __future__ import annotations

import io
import json
import logging

import structlog

from arbridge.logging import REDACTED, configure, redactor

TOKEN = "pk_81000_SECRETSECRETSECRET"


def test_configured_token_never_reaches_the_log() -> None:
    out = io.StringIO()
    configure(level="DEBUG", fmt="json", secrets=[TOKEN], stream=out)
    log = structlog.get_logger("test")
    log.info("calling ClickUp", header=f"Authorization: {TOKEN}", nested={"t": [TOKEN]})
    try:
        raise RuntimeError(f"request failed with token {TOKEN}")
    except RuntimeError:
        log.exception("boom")
    logging.getLogger("httpx").warning("stdlib logger saw %s", TOKEN)
    text = out.getvalue()
    assert TOKEN not in text
    assert text.count(REDACTED) >= 4
    first = json.loads(text.splitlines()[0])
    assert first["event"] == "calling ClickUp"
    assert first["header"] == f"Authorization: {REDACTED}"


def test_invoice_lines_carry_source_and_id_as_fields() -> None:
    out = io.StringIO()
    configure(level="INFO", fmt="json", stream=out)
    structlog.get_logger("sync").info("task changes queued", source="stripe", invoice="in_123")
    line = json.loads(out.getvalue().splitlines()[-1])
    assert (line["source"], line["invoice"], line["level"]) == ("stripe", "in_123", "info")


def test_short_strings_are_not_treated_as_secrets() -> None:
    redactor.update(["abc"])
    assert redactor.scrub("abc def") == "abc def"

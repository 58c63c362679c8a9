"""Hostile webhook requests for all three endpoints, and valid ones to mix in.

Every hostile request carries at least one defect that must make arbridge refuse it (a 4xx,
nothing stored): a missing, forged or malformed signature; a body that is not UTF-8 or not
JSON, nests too deep or has the wrong shape; a value the store cannot hold (lone surrogate,
NUL, NaN, a time out of range, an over-long id); a Stripe timestamp stale or in the future.
Most defects come with a correct signature, so they reach the parsing and storing code that a
forger could never reach. The defect and the rest of the request are drawn from a
``random.Random``: ``bench/fuzz.py`` seeds one, the property test lets hypothesis drive one.

Each request's event ids contain ``marker``, so whatever was stored from it can be found.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from arbridge_quickbooks.webhooks import sign as quickbooks_sign
from arbridge_stripe.emulator.webhooks import signature_header

PROVIDERS = ("stripe", "quickbooks", "clickup")


@dataclass(frozen=True)
class Secrets:
    stripe: str
    quickbooks: str
    clickup: str
    clickup_webhook_id: str
    realm: str
    tolerance_s: int = 300


@dataclass(frozen=True)
class Request:
    provider: str
    headers: dict[str, str]
    body: bytes
    marker: str
    defect: str  # "" for a valid delivery

    @property
    def path(self) -> str:
        return f"/webhooks/{self.provider}"


# ----------------------------------------------------------------- valid deliveries


def valid_event(provider: str, marker: str, secrets: Secrets) -> object:
    """A delivery each verifier accepts and stores as one event whose id contains ``marker``."""
    now = int(time.time())
    if provider == "stripe":
        # No data.object id: the inbox worker resolves it to nothing, so it costs no reads.
        return {
            "object": "event",
            "id": f"evt_{marker}",
            "type": "invoice.updated",
            "created": now,
            "data": {"object": {"object": "invoice"}},
        }
    if provider == "quickbooks":
        return {
            "eventNotifications": [
                {
                    "realmId": secrets.realm,
                    "dataChangeEvent": {
                        "entities": [
                            {
                                "name": "Customer",
                                "id": marker,
                                "operation": "Update",
                                "lastUpdated": "2026-03-02T09:00:00.000Z",
                            }
                        ]
                    },
                }
            ]
        }
    return {
        "event": "taskCommentPosted",
        "webhook_id": secrets.clickup_webhook_id,
        "task_id": "fuzz_no_such_task",
        "history_items": [
            {"id": marker, "field": "comment", "date": str(now * 1000), "user": {"id": 1}}
        ],
    }


def signed_headers(
    provider: str, body: bytes, secrets: Secrets, *, at: int | None = None
) -> dict[str, str]:
    headers = {"content-type": "application/json"}
    if provider == "stripe":
        stamp = int(time.time()) if at is None else at
        headers["stripe-signature"] = signature_header(body, [secrets.stripe], stamp)
    elif provider == "quickbooks":
        headers["intuit-signature"] = quickbooks_sign(body, secrets.quickbooks)
    else:
        key = secrets.clickup.encode()
        headers["x-signature"] = hmac.new(key, body, hashlib.sha256).hexdigest()
    return headers


def stack_secrets(product: Any) -> Secrets:
    """The secrets a running ``ProductStack`` verifies its three endpoints with."""
    settings = product.settings
    clickup = product.app.intake.credentials.load("clickup_webhook")
    return Secrets(
        stripe=product.sources["stripe"].webhook_secret,
        quickbooks=settings.quickbooks.webhook_verifier_token.get_secret_value(),
        clickup=clickup["secret"],
        clickup_webhook_id=clickup["webhook_id"],
        realm=product.realm,
        tolerance_s=settings.stripe.webhook_tolerance_s,
    )


def wire_headers(request: Request) -> dict[str, bytes]:
    """Headers as bytes: HTTP clients refuse non-ASCII ``str`` values, servers read Latin-1."""
    # Leading and trailing blanks are not part of a header value on the wire.
    return {name: value.strip().encode("latin-1") for name, value in request.headers.items()}


def valid_request(provider: str, marker: str, secrets: Secrets) -> Request:
    body = json.dumps(valid_event(provider, marker, secrets)).encode()
    return Request(provider, signed_headers(provider, body, secrets), body, marker, "")


# ----------------------------------------------------------------- defects

# Characters the store cannot hold, as JSON escapes (a parser turns them into Python str).
UNSTORABLE_ESCAPES = ("\\ud800", "\\udfff", "\\u0000", "x\\ud83dy", "\\udc00\\ud800")
ODD_TEXT = ("é", "ä¸­", "\U0001f600", "\x7f", " ", "\t", "=", ",", "", "v1", "t=1")


def _id_path(provider: str) -> list[str | int]:
    """Where the event id lives in ``valid_event``'s body."""
    if provider == "stripe":
        return ["id"]
    if provider == "quickbooks":
        return ["eventNotifications", 0, "dataChangeEvent", "entities", 0, "id"]
    return ["history_items", 0, "id"]


def _text_path(provider: str) -> list[str | int]:
    """A string field besides the id that ends up in the stored event."""
    if provider == "stripe":
        return ["type"]
    if provider == "quickbooks":
        return ["eventNotifications", 0, "realmId"]
    return ["webhook_id"]


def _set(document: object, path: list[str | int], value: object) -> None:
    node: object = document
    for step in path[:-1]:
        node = node[step]  # type: ignore[index]
    node[path[-1]] = value  # type: ignore[index]


def _json_with_raw(document: object, path: list[str | int], raw: str) -> bytes:
    """``document`` as JSON with the value at ``path`` replaced by the raw JSON text ``raw``
    (which ``json.dumps`` could not produce: lone surrogate escapes, NaN...)."""
    placeholder = "__raw_value_placeholder__"
    _set(document, path, placeholder)
    return json.dumps(document).replace(f'"{placeholder}"', raw).encode()


Defect = Callable[[random.Random, str, str, Secrets], tuple[dict[str, str], bytes]]


def _signed(provider: str, body: bytes, secrets: Secrets) -> tuple[dict[str, str], bytes]:
    return signed_headers(provider, body, secrets), body


def _valid_signed(
    provider: str, marker: str, secrets: Secrets
) -> tuple[dict[str, str], bytes, str]:
    """A valid delivery's headers and body, and the name of its signature header."""
    body = json.dumps(valid_event(provider, marker, secrets)).encode()
    headers = signed_headers(provider, body, secrets)
    return headers, body, next(k for k in headers if k != "content-type")


def unsigned(
    rng: random.Random, provider: str, marker: str, secrets: Secrets
) -> tuple[dict[str, str], bytes]:
    headers, body, name = _valid_signed(provider, marker, secrets)
    choice = rng.randrange(3)
    if choice == 0:
        del headers[name]
    elif choice == 1:
        headers[name] = "".join(rng.choice("abcdef0123456789=,t v1") for _ in range(64))
    else:
        headers[name] = headers[name][:-1] + rng.choice("0123456789")
        headers[name] += "0"  # never the right length, so never the right signature
    return headers, body


def non_ascii_signature(
    rng: random.Random, provider: str, marker: str, secrets: Secrets
) -> tuple[dict[str, str], bytes]:
    """The stripe library raised TypeError on these (hmac.compare_digest of non-ASCII str)."""
    headers, body, name = _valid_signed(provider, marker, secrets)
    odd = rng.choice([c for c in ODD_TEXT if c and not c.isascii()])
    value = headers[name]
    cut = rng.randrange(len(value) + 1)
    # HTTP carries headers as bytes; servers read them as Latin-1.
    headers[name] = (value[:cut] + odd + value[cut:]).encode().decode("latin-1")
    return headers, body


def forged_stripe_time(
    rng: random.Random, provider: str, marker: str, secrets: Secrets
) -> tuple[dict[str, str], bytes]:
    """Correctly signed, but dated beyond the tolerance in the past or the future."""
    body = json.dumps(valid_event(provider, marker, secrets)).encode()
    if provider != "stripe":
        return unsigned(rng, provider, marker, secrets)
    beyond = secrets.tolerance_s + 5 + rng.randrange(1_000_000)
    at = int(time.time()) + (beyond if rng.random() < 0.5 else -beyond)
    return signed_headers(provider, body, secrets, at=at), body


def too_deep(
    rng: random.Random, provider: str, marker: str, secrets: Secrets
) -> tuple[dict[str, str], bytes]:
    depth = rng.choice([65, 100, 1_000, 5_000, 50_000, 200_000])
    opener, closer = rng.choice([("[", "]"), ('{"a":', "}"), ('[{"b":', "}]")])
    nested = opener * depth + "1" + closer * depth
    document = valid_event(provider, marker, secrets)
    path = rng.choice([_text_path(provider), ["extra"]])
    if rng.random() < 0.2:
        return _signed(provider, nested.encode(), secrets)  # the whole body
    return _signed(provider, _json_with_raw(document, path, nested), secrets)


def unstorable_text(
    rng: random.Random, provider: str, marker: str, secrets: Secrets
) -> tuple[dict[str, str], bytes]:
    bad = rng.choice(UNSTORABLE_ESCAPES)
    document = valid_event(provider, marker, secrets)
    paths = [_id_path(provider), _text_path(provider)]
    if provider != "quickbooks":  # QuickBooks stores only the fields it names
        paths += [["extra"], ["extra_key"]]
    path = rng.choice(paths)
    if path == ["extra_key"]:
        body = json.dumps(document).encode()
        body = body[:-1] + f', "k{bad}": 1}}'.encode()
        return _signed(provider, body, secrets)
    raw = f'"{marker}{bad}"' if path == _id_path(provider) else f'"{bad}"'
    return _signed(provider, _json_with_raw(document, path, raw), secrets)


def out_of_range(
    rng: random.Random, provider: str, marker: str, secrets: Secrets
) -> tuple[dict[str, str], bytes]:
    document = valid_event(provider, marker, secrets)
    if provider == "stripe" and rng.random() < 0.6:
        created = rng.choice(
            ["1e400", "-1", "253402300800", "99999999999999999999999", "-99999999999", "NaN"]
        )
        return _signed(provider, _json_with_raw(document, ["created"], created), secrets)
    if provider == "quickbooks" and rng.random() < 0.6:
        when = rng.choice(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
        path = ["eventNotifications", 0, "dataChangeEvent", "entities", 0, "lastUpdated"]
        _set(document, path, when)
        return _signed(provider, json.dumps(document).encode(), secrets)
    # QuickBooks stores only the fields it names, so a huge number elsewhere is harmless there.
    overflowing = ["1e400", "-1e999"] if provider != "quickbooks" else []
    raw = rng.choice(["NaN", "Infinity", "-Infinity", *overflowing])
    return _signed(provider, _json_with_raw(document, ["extra"], raw), secrets)


def overlong_id(
    rng: random.Random, provider: str, marker: str, secrets: Secrets
) -> tuple[dict[str, str], bytes]:
    document = valid_event(provider, marker, secrets)
    filler = rng.choice(["x", "é", "\U0001f600"]) * rng.choice([600, 3_000, 20_000])
    # ClickUp's event id is the webhook id and a hash of the item ids: only the first can grow.
    path = _text_path(provider) if provider == "clickup" else _id_path(provider)
    _set(document, path, marker + filler)
    return _signed(provider, json.dumps(document).encode(), secrets)


def not_json(
    rng: random.Random, provider: str, marker: str, secrets: Secrets
) -> tuple[dict[str, str], bytes]:
    body = json.dumps(valid_event(provider, marker, secrets)).encode()
    choice = rng.randrange(4)
    if choice == 0:
        body = body[: rng.randrange(len(body))]  # truncated
    elif choice == 1:
        body = rng.randbytes(rng.randrange(1, 300))
    elif choice == 2:
        body = body.replace(b'"', b"\xff", 1)  # not UTF-8
    else:
        body = body + b"\x00" * rng.randrange(1, 5)
    return _signed(provider, body, secrets)


def wrong_shape(
    rng: random.Random, provider: str, marker: str, secrets: Secrets
) -> tuple[dict[str, str], bytes]:
    """Valid JSON, signed, of a shape no verifier accepts (and that names ``marker``)."""
    shapes: list[object] = [
        {"x_unrelated": marker},
        [marker],
        marker,
        rng.randrange(-(10**30), 10**30),
        None,
        {"x": [1, 2, {"y": marker}]},
    ]
    document = valid_event(provider, marker, secrets)
    if provider == "stripe":
        shapes += [{**document, "object": "invoice"}, {**document, "id": 7}]  # type: ignore[dict-item]
    elif provider == "quickbooks":
        shapes += [
            {"eventNotifications": [{"realmId": "", "dataChangeEvent": {}}]},
            {"eventNotifications": [{"realmId": marker, "dataChangeEvent": {"entities": [{}]}}]},
            [{"id": marker, "type": "qbo"}],
            [marker],
        ]
    else:
        shapes += [
            {**document, "history_items": [{"id": None}]},  # type: ignore[dict-item]
            {**document, "task_id": ""},  # type: ignore[dict-item]
            {"event": "taskCommentPosted", "webhook_id": 7, "history_items": [{"id": marker}]},
        ]
    return _signed(provider, json.dumps(rng.choice(shapes)).encode(), secrets)


def wrong_content_type(
    rng: random.Random, provider: str, marker: str, secrets: Secrets
) -> tuple[dict[str, str], bytes]:
    headers, body, _name = _valid_signed(provider, marker, secrets)
    headers["content-type"] = rng.choice(["text/plain", "application/x-www-form-urlencoded", ""])
    return headers, body


DEFECTS: dict[str, Defect] = {
    "unsigned": unsigned,
    "non_ascii_signature": non_ascii_signature,
    "stripe_time": forged_stripe_time,
    "too_deep": too_deep,
    "unstorable_text": unstorable_text,
    "out_of_range": out_of_range,
    "overlong_id": overlong_id,
    "not_json": not_json,
    "wrong_shape": wrong_shape,
    "wrong_content_type": wrong_content_type,
}


def hostile_request(
    rng: random.Random, marker: str, secrets: Secrets, *, defect: str | None = None
) -> Request:
    provider = rng.choice(PROVIDERS)
    defect = defect or rng.choice(sorted(DEFECTS))
    headers, body = DEFECTS[defect](rng, provider, marker, secrets)
    return Request(provider, headers, body, marker, defect)

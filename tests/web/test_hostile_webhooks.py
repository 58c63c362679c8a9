"""Hostile requests at all three webhook endpoints of the whole product: refused, never stored,
never an error, and never in the way of a valid delivery."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func
from sqlmodel import select

from arbridge.clock import FakeClock
from arbridge.demo.stack import ProductStack
from arbridge.ports.source import InboundEvent
from arbridge.store.db import transaction
from arbridge.store.inbox import StoreResult
from arbridge.store.inbox_writer import GroupCommitter
from arbridge.store.tables import InboxRow

from .hostile import (
    DEFECTS,
    PROVIDERS,
    Secrets,
    hostile_request,
    stack_secrets,
    valid_request,
    wire_headers,
)


class Live:
    def __init__(self, product: ProductStack, http: httpx.Client) -> None:
        self.product = product
        self.http = http
        self.secrets: Secrets = stack_secrets(product)
        self.count = 0

    def marker(self) -> str:
        self.count += 1
        return f"hostile{self.count:08d}x"  # fixed length: hypothesis replays draws

    def stored(self) -> int:
        with transaction(self.product.app.engine) as session:
            return int(session.exec(select(func.count()).select_from(InboxRow)).one())


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    with (
        ProductStack(clock) as product,
        httpx.Client(base_url=product.daemon_url, timeout=30) as http,
    ):
        yield Live(product, http)


def test_the_rig_stores_valid_deliveries(live: Live) -> None:
    # Without this the refusals below could be a rig that refuses everything.
    for provider in PROVIDERS:
        request = valid_request(provider, live.marker(), live.secrets)
        before = live.stored()
        response = live.http.post(request.path, content=request.body, headers=request.headers)
        assert response.status_code == 200, (provider, response.text)
        assert response.json() == {"stored": 1, "duplicates": 0}
        assert live.stored() == before + 1


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rng=st.randoms(use_true_random=False), defect=st.sampled_from(sorted(DEFECTS)))
def test_hostile_requests_are_refused_and_store_nothing(
    live: Live, rng: random.Random, defect: str
) -> None:
    before = live.stored()
    request = hostile_request(rng, live.marker(), live.secrets, defect=defect)
    response = live.http.post(request.path, content=request.body, headers=wire_headers(request))
    assert 400 <= response.status_code < 500, (request.defect, response.text)
    assert set(response.json()) == {"error"}
    assert live.secrets.stripe not in response.text
    assert live.stored() == before
    assert live.http.get("/healthz").status_code == 200


def _delivery(event_id: str) -> list[InboundEvent]:
    return [InboundEvent("stripe", event_id, "invoice.paid", "acct", None, {"id": event_id})]


def test_one_delivery_the_database_refuses_does_not_fail_its_batch(engine: Engine) -> None:
    # The web layer refuses unstorable values before they get here; this is the second line:
    # a delivery the database still refuses must fail alone, not with the batch it shares.
    writer = GroupCommitter(engine)
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    deliveries = [_delivery("evt_a"), _delivery("evt_\ud800"), _delivery("evt_b")]
    futures: list[Future[StoreResult]] = [Future() for _ in deliveries]
    # Queued together and committed by one run of the writer, as a burst would be.
    writer._queue.extend((d, now, f) for d, f in zip(deliveries, futures, strict=True))
    writer._closed = True
    writer._run()
    assert futures[0].result() == StoreResult(stored=1, duplicates=0)
    assert futures[2].result() == StoreResult(stored=1, duplicates=0)
    with pytest.raises(UnicodeEncodeError):
        futures[1].result()
    with transaction(engine) as session:
        ids = session.exec(select(InboxRow.event_id).order_by(InboxRow.event_id)).all()
    assert ids == ["evt_a", "evt_b"]


def test_valid_deliveries_among_hostile_ones_are_all_stored(live: Live) -> None:
    rng = random.Random(7)
    requests = [
        valid_request(PROVIDERS[n % 3], live.marker(), live.secrets)
        if n % 3 == 0
        else hostile_request(rng, live.marker(), live.secrets)
        for n in range(90)
    ]
    statuses: dict[str, int] = {}
    lock = threading.Lock()

    def post(index: int) -> None:
        request = requests[index]
        with httpx.Client(base_url=live.product.daemon_url, timeout=30) as http:
            response = http.post(request.path, content=request.body, headers=wire_headers(request))
        with lock:
            statuses[request.marker] = response.status_code

    before = live.stored()
    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    valid = [r for r in requests if not r.defect]
    assert [statuses[r.marker] for r in valid] == [200] * len(valid)
    assert all(400 <= statuses[r.marker] < 500 for r in requests if r.defect)
    assert live.stored() == before + len(valid)

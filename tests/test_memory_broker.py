"""The in-memory broker passes the broker and consumer contracts; it blocks and idles as Redis."""

from __future__ import annotations

import threading
import time

import pytest

from tactical import Envelope, InMemoryBroker
from tactical.testing import BrokerContract, ConsumerContract


class TestInMemoryBroker(BrokerContract):
    @pytest.fixture
    def broker(self) -> InMemoryBroker:
        return InMemoryBroker()


class TestInMemoryConsumer(ConsumerContract):
    @pytest.fixture
    def broker(self) -> InMemoryBroker:
        return InMemoryBroker()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_entries_become_claimable_once_idle_for_the_given_time() -> None:
    """Idle time runs from the last delivery, on the broker's clock."""
    clock = Clock()
    broker = InMemoryBroker(clock=clock)
    broker.publish("s", Envelope("T", "{}", "m-1"))
    crashed, survivor = broker.subscribe("s", "g", "c1"), broker.subscribe("s", "g", "c2")
    crashed.start()
    crashed.read(10, 0)
    clock.now = 29.9
    assert survivor.claim_stale(30.0, 10) == []
    clock.now = 30.0
    [entry] = survivor.claim_stale(30.0, 10)
    assert entry.deliveries == 2
    clock.now = 59.0
    assert crashed.claim_stale(30.0, 10) == [], "a claim restarts the idle time"


def test_a_blocked_read_returns_as_soon_as_an_entry_arrives() -> None:
    """A read waiting for new entries wakes up on append, long before its block time."""
    broker = InMemoryBroker()
    subscription = broker.subscribe("s", "g", "c1")
    subscription.start()
    got: list[object] = []
    reader = threading.Thread(target=lambda: got.extend(subscription.read(10, 30.0)))
    started = time.monotonic()
    reader.start()
    broker.append("s", {"type": "T", "data": "{}"})
    reader.join(timeout=10)
    assert not reader.is_alive()
    assert len(got) == 1
    assert time.monotonic() - started < 10


def test_reading_a_group_that_was_never_started_fails() -> None:
    """As with Redis, a group must be created (start) before it is read."""
    subscription = InMemoryBroker().subscribe("s", "g", "c1")
    with pytest.raises(LookupError, match="start"):
        subscription.read(1, 0)


def test_an_entry_needs_a_field() -> None:
    """Streams hold entries of at least one field."""
    with pytest.raises(ValueError, match="at least one field"):
        InMemoryBroker().append("s", {})

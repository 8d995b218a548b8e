"""The Consumer's own behaviour: its loop, stopping, signals, broker failures, claims, logs."""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from tactical import (
    Backoff,
    BrokerError,
    Consumer,
    Entry,
    Envelope,
    Event,
    InMemoryBroker,
    Message,
    MessageRegistry,
    dead_letter_stream,
)

if TYPE_CHECKING:
    from tactical import InMemorySubscription

SECRET = "card-4111-1111"
NO_WAIT = Backoff(initial=0.0, cap=0.0, jitter=False)


@dataclass(frozen=True)
class Paid(Event):
    card: str


REGISTRY = MessageRegistry([Paid])


def started(broker: InMemoryBroker, consumer: str = "c1") -> InMemorySubscription:
    subscription = broker.subscribe("payments", "g", consumer)
    subscription.start()
    return subscription


def test_run_handles_messages_until_stopped_from_another_thread() -> None:
    """`run` keeps reading; `stop()` from another thread makes it return."""
    broker = InMemoryBroker()
    handled = threading.Event()
    consumer = Consumer(
        broker.subscribe("payments", "g", "c1"), lambda m, e: handled.set(), REGISTRY.message
    )
    runner = threading.Thread(target=consumer.run)
    runner.start()
    broker.publish("payments", REGISTRY.envelope(Paid("x")))
    assert handled.wait(timeout=30)
    consumer.stop()
    runner.join(timeout=30)
    assert not runner.is_alive()
    assert broker.pending("payments", "g") == []


def test_sigterm_inside_the_block_stops_after_the_message_in_hand() -> None:
    """A stop signal while handling lets that message finish and be acknowledged."""
    broker = InMemoryBroker()
    for card in ("a", "b"):
        broker.publish("payments", REGISTRY.envelope(Paid(card)))
    seen: list[Message] = []

    def handler(message: Message, envelope: Envelope) -> None:
        signal.raise_signal(signal.SIGTERM)
        seen.append(message)

    consumer = Consumer(started(broker), handler, REGISTRY.message, block=0.0)
    with consumer.stop_on_signals():
        consumer.run()
    assert seen == [Paid("a")]
    assert [p.deliveries for p in broker.pending("payments", "g")] == [1]


def test_signal_handlers_are_restored_on_leaving_the_block() -> None:
    """`stop_on_signals` puts back whatever handled the signals before."""
    before = signal.getsignal(signal.SIGINT)
    consumer = Consumer(started(InMemoryBroker()), lambda m, e: None, REGISTRY.message)
    with consumer.stop_on_signals(signal.SIGINT):
        assert signal.getsignal(signal.SIGINT) is not before
    assert signal.getsignal(signal.SIGINT) is before


def test_stopping_during_a_back_off_leaves_the_entry_pending() -> None:
    """A failed message waiting for its next delivery is not taken again after stop()."""
    broker = InMemoryBroker()
    broker.publish("payments", REGISTRY.envelope(Paid("a")))
    calls: list[int] = []

    def failing(message: Message, envelope: Envelope) -> None:
        calls.append(1)
        consumer.stop()
        raise ConnectionError("down")

    consumer = Consumer(
        started(broker), failing, REGISTRY.message, backoff=Backoff(initial=60.0, cap=60.0)
    )
    consumer.poll()
    assert calls == [1]
    [pending] = broker.pending("payments", "g")
    assert pending.deliveries == 1
    assert broker.entries(dead_letter_stream("payments")) == []


class FlakySubscription:
    """A subscription whose broker fails a given number of times, then works."""

    def __init__(self, inner: InMemorySubscription, failures: int) -> None:
        self.inner = inner
        self.failures = failures
        self.stream, self.group, self.consumer = inner.stream, inner.group, inner.consumer

    def start(self) -> None:
        self._maybe_fail()
        self.inner.start()

    def read(self, count: int, block: float) -> list[Entry]:
        self._maybe_fail()
        return self.inner.read(count, block)

    def claim_stale(self, min_idle: float, count: int) -> list[Entry]:
        self._maybe_fail()
        return self.inner.claim_stale(min_idle, count)

    def redeliver(self, entry_id: str) -> Entry | None:
        return self.inner.redeliver(entry_id)

    def ack(self, *entry_ids: str) -> None:
        self.inner.ack(*entry_ids)

    def dead_letter(self, entry: Entry, reason: str) -> None:
        self.inner.dead_letter(entry, reason)

    def close(self) -> None:
        self.inner.close()

    def _maybe_fail(self) -> None:
        if self.failures:
            self.failures -= 1
            raise BrokerError("connection refused")


def test_broker_failures_are_logged_and_retried_never_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`run` survives a broker that fails at start and at reads, then catches up."""
    broker = InMemoryBroker()
    broker.publish("payments", REGISTRY.envelope(Paid("a")))
    subscription = FlakySubscription(broker.subscribe("payments", "g", "c1"), failures=4)
    seen: list[Message] = []

    def handler(message: Message, envelope: Envelope) -> None:
        seen.append(message)
        consumer.stop()

    consumer = Consumer(subscription, handler, REGISTRY.message, backoff=NO_WAIT, block=0.0)
    with caplog.at_level(logging.WARNING, logger="tactical.consumer"):
        consumer.run()
    assert seen == [Paid("a")]
    assert caplog.text.count("broker error") == 4


def test_entries_handled_before_a_failed_ack_are_acknowledged_not_handled_again() -> None:
    """The acknowledgement of a batch fails: the next poll acknowledges those entries
    before it reads, so restarting rereads nothing they have to be handled for again."""
    broker = InMemoryBroker()
    for card in ("a", "b"):
        broker.publish("payments", REGISTRY.envelope(Paid(card)))
    subscription = FlakySubscription(broker.subscribe("payments", "g", "c1"), failures=0)
    subscription.inner.start()
    failing_acks = [1]
    original_ack = subscription.ack

    def ack(*entry_ids: str) -> None:
        if failing_acks:
            failing_acks.pop()
            raise BrokerError("timeout")
        original_ack(*entry_ids)

    subscription.ack = ack  # type: ignore[method-assign]
    seen: list[Message] = []
    consumer = Consumer(subscription, lambda m, e: seen.append(m), REGISTRY.message, block=0.0)
    with pytest.raises(BrokerError):
        consumer.poll()
    subscription.start()  # as `run` does after a broker error
    consumer.poll()
    assert seen == [Paid("a"), Paid("b")]
    assert broker.pending("payments", "g") == []


def test_stale_entries_are_looked_for_every_claim_every_seconds() -> None:
    """Claims are periodic (on the consumer's clock), not on every poll."""
    broker = InMemoryBroker()
    claims: list[float] = []
    now = [0.0]
    subscription = started(broker)
    original = subscription.claim_stale

    def counting_claim(min_idle: float, count: int) -> list[Entry]:
        claims.append(now[0])
        return original(min_idle, count)

    subscription.claim_stale = counting_claim  # type: ignore[method-assign]
    consumer = Consumer(
        subscription,
        lambda m, e: None,
        REGISTRY.message,
        claim_every=5.0,
        block=0.0,
        clock=lambda: now[0],
    )
    for moment in (0.0, 1.0, 4.9, 5.0, 6.0, 10.0):
        now[0] = moment
        consumer.poll()
    assert claims == [0.0, 5.0, 10.0]


def test_logs_never_contain_the_payload(caplog: pytest.LogCaptureFixture) -> None:
    """Failures and dead letters are logged with types and ids, never message contents."""
    broker = InMemoryBroker()
    broker.publish("payments", REGISTRY.envelope(Paid(SECRET)))
    broker.append("payments", {"type": "Paid", "data": f'{{"card": "{SECRET}", "x": 1}}'})

    def failing(message: Message, envelope: Envelope) -> None:
        raise RuntimeError("declined")

    consumer = Consumer(started(broker), failing, REGISTRY.message, backoff=NO_WAIT, block=0.0)
    with caplog.at_level(logging.DEBUG):
        consumer.poll()
    assert "dead-lettering" in caplog.text
    assert SECRET not in caplog.text
    assert len(broker.entries(dead_letter_stream("payments"))) == 2


@pytest.mark.parametrize(
    "options",
    [
        {"max_deliveries": 0},
        {"batch": 0},
        {"claim_idle": -1.0},
        {"block": -1.0},
    ],
)
def test_nonsense_settings_are_refused(options: dict[str, Any]) -> None:
    """A cap below one delivery, an empty batch or negative times raise ValueError."""
    with pytest.raises(ValueError, match="must"):
        Consumer(started(InMemoryBroker()), lambda m, e: None, REGISTRY.message, **options)

"""Contract suites for brokers: publishing, consumer groups, and a `Consumer` running on them.

Subclass a suite in a test module (the subclass's name starts with ``Test``) and override one
fixture, ``broker``: it returns a [`Broker`][tactical.Broker] (publisher, subscriptions, raw
appends and reads). Each test works on streams named after the ``stream`` fixture, a fresh
unique name by default; override it to clean up after a real broker.

The cases observe only what a caller can: entries read, pending lists, dead-letter streams.
They need no waiting on a clock: idle times are asked for as zero ("idle at all") or as an
hour ("never, in this test").
"""

# ruff: noqa: PLR2004, ARG001, ARG005
# PLR2004: the cases state expected counts as literals, as tests do.
# ARG001, ARG005: handlers take (message, envelope), whichever of the two a case looks at.

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from tactical._broker import (
    DEAD_LETTER_CONSUMER,
    DEAD_LETTER_DELIVERIES,
    DEAD_LETTER_ENTRY_ID,
    DEAD_LETTER_GROUP,
    DEAD_LETTER_REASON,
    Broker,
    Entry,
    Subscription,
    dead_letter_stream,
)
from tactical._consumer import Consumer
from tactical._envelope import Envelope
from tactical._messages import Event
from tactical._retry import Backoff
from tactical._serialization import MessageRegistry

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tactical._messages import Message

__all__ = ["BrokerContract", "ConsumerContract", "Ping"]

HOUR = 3600.0
NO_WAIT = Backoff(initial=0.0, cap=0.0, jitter=False)


@dataclass(frozen=True)
class Ping(Event):
    """The message the broker suites publish."""

    n: int


REGISTRY = MessageRegistry([Ping])


class _Hooks:
    @pytest.fixture
    def broker(self) -> Broker:
        """Override: the broker under test."""
        pytest.fail(
            f"{type(self).__qualname__} must override the `broker` fixture: return a Broker",
            pytrace=False,
        )

    @pytest.fixture
    def stream(self) -> str:
        """A stream name no other test uses; its dead-letter stream is derived from it."""
        return f"contract-{uuid.uuid4().hex[:12]}"

    @pytest.fixture
    def subscriptions(self, broker: Broker, stream: str) -> Iterator[_Subscriptions]:
        """Started subscriptions to the ``stream``, closed after the test."""
        opened = _Subscriptions(broker, stream)
        try:
            yield opened
        finally:
            opened.close()


class _Subscriptions:
    def __init__(self, broker: Broker, stream: str) -> None:
        self._broker = broker
        self._stream = stream
        self._opened: list[Subscription] = []

    def __call__(self, consumer: str, group: str = "group") -> Subscription:
        subscription = self._broker.subscribe(self._stream, group, consumer)
        self._opened.append(subscription)
        subscription.start()
        return subscription

    def close(self) -> None:
        for subscription in self._opened:
            subscription.close()


def publish(broker: Broker, stream: str, *numbers: int) -> list[str]:
    """Publish a `Ping` for each number; return the entry ids."""
    return [broker.publish(stream, REGISTRY.envelope(Ping(n))) for n in numbers]


def numbers(entries: list[Entry]) -> list[int]:
    """The `Ping` numbers in entries."""
    return [
        _ping(REGISTRY.message(Envelope.from_fields(e.fields, entry_id=e.entry_id)))
        for e in entries
    ]


def _ping(message: Message) -> int:
    assert isinstance(message, Ping)
    return message.n


class BrokerContract(_Hooks):
    """What every broker does: streams, consumer groups, pending entries, claims, dead letters.

    Override the ``broker`` fixture; override ``stream`` to name (and clean up) streams on a
    shared server.

    Example:
        >>> import pytest
        >>> from tactical import InMemoryBroker
        >>> class TestInMemoryBroker(BrokerContract):
        ...     @pytest.fixture
        ...     def broker(self):
        ...         return InMemoryBroker()
    """

    def test_a_published_envelope_reads_back_unchanged(
        self, broker: Broker, stream: str, subscriptions: _Subscriptions
    ) -> None:
        """The entry's fields give back the very envelope that was published."""
        envelope = REGISTRY.envelope(Ping(1))
        entry_id = broker.publish(stream, envelope)
        [entry] = subscriptions("c1").read(10, 0)
        assert entry.entry_id == entry_id
        assert Envelope.from_fields(entry.fields) == envelope
        assert entry.deliveries == 1

    def test_entry_ids_are_distinct_and_in_publishing_order(
        self, broker: Broker, stream: str
    ) -> None:
        """`entries` lists a stream oldest first, with the ids `publish` returned."""
        ids = publish(broker, stream, 1, 2, 3)
        assert len(set(ids)) == 3
        assert [entry.entry_id for entry in broker.entries(stream)] == ids
        assert numbers(broker.entries(stream)) == [1, 2, 3]

    def test_publish_many_appends_in_order_and_returns_the_ids(
        self, broker: Broker, stream: str
    ) -> None:
        """A batch of envelopes lands in order, to the streams named; the ids come back."""
        envelopes = [REGISTRY.envelope(Ping(n)) for n in range(3)]
        other = f"{stream}-other"
        ids = broker.publish_many(
            [(stream, envelopes[0]), (other, envelopes[1]), (stream, envelopes[2])]
        )
        assert [e.entry_id for e in broker.entries(stream)] == [ids[0], ids[2]]
        assert [e.entry_id for e in broker.entries(other)] == [ids[1]]
        assert numbers(broker.entries(stream)) == [0, 2]
        assert broker.publish_many([]) == []

    def test_entries_published_before_the_group_existed_are_delivered(
        self, broker: Broker, stream: str, subscriptions: _Subscriptions
    ) -> None:
        """A group starts before the stream's first entry: nothing published earlier is missed."""
        publish(broker, stream, 1, 2)
        subscription = subscriptions("c1")
        publish(broker, stream, 3)
        assert numbers(subscription.read(10, 0)) == [1, 2, 3]

    def test_starting_a_group_twice_keeps_its_position(
        self, broker: Broker, stream: str, subscriptions: _Subscriptions
    ) -> None:
        """`start` on an existing group changes nothing: delivered entries are not resent."""
        publish(broker, stream, 1)
        first = subscriptions("c1")
        first.ack(first.read(10, 0)[0].entry_id)
        assert subscriptions("c2").read(10, 0) == []

    def test_read_returns_at_most_count_entries(
        self, broker: Broker, stream: str, subscriptions: _Subscriptions
    ) -> None:
        """Reading is batched: the rest waits for the next read."""
        publish(broker, stream, 1, 2, 3)
        subscription = subscriptions("c1")
        assert numbers(subscription.read(2, 0)) == [1, 2]
        assert numbers(subscription.read(2, 0)) == [3]
        assert subscription.read(2, 0) == []

    def test_a_read_with_nothing_new_returns_nothing(self, subscriptions: _Subscriptions) -> None:
        """With nothing to read, a read gives up after its block time and returns []."""
        assert subscriptions("c1").read(10, 0.05) == []

    def test_each_entry_goes_to_one_consumer_of_a_group(
        self, broker: Broker, stream: str, subscriptions: _Subscriptions
    ) -> None:
        """Consumers of one group share the entries: each is delivered to exactly one."""
        publish(broker, stream, *range(6))
        first, second = subscriptions("c1"), subscriptions("c2")
        got = numbers(first.read(3, 0)) + numbers(second.read(10, 0)) + numbers(first.read(10, 0))
        assert sorted(got) == list(range(6))

    def test_every_group_gets_every_entry(
        self, broker: Broker, stream: str, subscriptions: _Subscriptions
    ) -> None:
        """Two groups (two services) each receive the whole stream."""
        publish(broker, stream, 1, 2)
        assert numbers(subscriptions("c1", "billing").read(10, 0)) == [1, 2]
        assert numbers(subscriptions("c1", "shipping").read(10, 0)) == [1, 2]

    def test_an_unacknowledged_entry_stays_pending_at_its_consumer(
        self, broker: Broker, stream: str, subscriptions: _Subscriptions
    ) -> None:
        """A delivered entry is pending, at the consumer it went to, with one delivery."""
        [entry_id] = publish(broker, stream, 1)
        subscriptions("c1").read(10, 0)
        [pending] = broker.pending(stream, "group")
        assert (pending.entry_id, pending.consumer, pending.deliveries) == (entry_id, "c1", 1)

    def test_an_acknowledged_entry_is_no_longer_pending(
        self, broker: Broker, stream: str, subscriptions: _Subscriptions
    ) -> None:
        """`ack` removes an entry from the pending list, and only that one."""
        publish(broker, stream, 1, 2)
        subscription = subscriptions("c1")
        first, second = subscription.read(10, 0)
        subscription.ack(first.entry_id)
        assert [p.entry_id for p in broker.pending(stream, "group")] == [second.entry_id]

    def test_several_entries_are_acknowledged_at_once(
        self, broker: Broker, stream: str, subscriptions: _Subscriptions
    ) -> None:
        """`ack` takes any number of ids; unknown or repeated ones change nothing."""
        publish(broker, stream, 1, 2, 3)
        subscription = subscriptions("c1")
        first, second, third = subscription.read(10, 0)
        subscription.ack(first.entry_id, third.entry_id, first.entry_id)
        subscription.ack()
        assert [p.entry_id for p in broker.pending(stream, "group")] == [second.entry_id]

    def test_a_restarted_consumer_reads_its_own_pending_entries_first(
        self, broker: Broker, stream: str, subscriptions: _Subscriptions
    ) -> None:
        """After a restart (same name), unacknowledged entries come back before new ones."""
        publish(broker, stream, 1, 2, 3)
        crashed = subscriptions("c1")
        one, _, _ = crashed.read(10, 0)
        crashed.ack(one.entry_id)
        publish(broker, stream, 4)
        restarted = subscriptions("c1")
        again = restarted.read(10, 0)
        assert numbers(again) == [2, 3]
        assert [entry.deliveries for entry in again] == [2, 2]
        assert numbers(restarted.read(10, 0)) == [4]

    def test_starting_again_rereads_ones_own_pending_entries_first(
        self, broker: Broker, stream: str, subscriptions: _Subscriptions
    ) -> None:
        """Starting again (after a broker failure) rereads one's own pending entries first."""
        publish(broker, stream, 1, 2)
        subscription = subscriptions("c1")
        first, _ = subscription.read(10, 0)
        subscription.ack(first.entry_id)
        subscription.start()
        again = subscription.read(10, 0)
        assert (numbers(again), [entry.deliveries for entry in again]) == ([2], [2])

    def test_another_consumers_pending_entries_are_not_read_as_ones_own(
        self, broker: Broker, stream: str, subscriptions: _Subscriptions
    ) -> None:
        """A new consumer starts with new entries; other consumers' pending ones stay theirs."""
        publish(broker, stream, 1)
        subscriptions("c1").read(10, 0)
        publish(broker, stream, 2)
        assert numbers(subscriptions("c2").read(10, 0)) == [2]

    def test_stale_entries_can_be_claimed_by_another_consumer(
        self, broker: Broker, stream: str, subscriptions: _Subscriptions
    ) -> None:
        """Entries idle long enough move to the claimer, counting one more delivery."""
        publish(broker, stream, 1, 2)
        subscriptions("c1").read(10, 0)
        claimed = subscriptions("c2").claim_stale(0.0, 10)
        assert numbers(claimed) == [1, 2]
        assert [entry.deliveries for entry in claimed] == [2, 2]
        assert {p.consumer for p in broker.pending(stream, "group")} == {"c2"}

    def test_entries_not_idle_long_enough_are_not_claimed(
        self, broker: Broker, stream: str, subscriptions: _Subscriptions
    ) -> None:
        """A consumer still working on its entries keeps them."""
        publish(broker, stream, 1)
        subscriptions("c1").read(10, 0)
        assert subscriptions("c2").claim_stale(HOUR, 10) == []
        assert {p.consumer for p in broker.pending(stream, "group")} == {"c1"}

    def test_claiming_is_batched(
        self, broker: Broker, stream: str, subscriptions: _Subscriptions
    ) -> None:
        """At most ``count`` entries are claimed at a time; the rest on later calls."""
        publish(broker, stream, 1, 2, 3)
        subscriptions("c1").read(10, 0)
        claimer = subscriptions("c2")
        assert len(claimer.claim_stale(0.0, 2)) == 2
        assert {p.consumer for p in broker.pending(stream, "group")} == {"c1", "c2"}

    def test_redelivery_counts_a_delivery(
        self, broker: Broker, stream: str, subscriptions: _Subscriptions
    ) -> None:
        """A consumer can take its own pending entry again; the broker counts it."""
        publish(broker, stream, 1)
        subscription = subscriptions("c1")
        [entry] = subscription.read(10, 0)
        again = subscription.redeliver(entry.entry_id)
        assert again is not None
        assert (again.entry_id, again.deliveries, numbers([again])) == (entry.entry_id, 2, [1])
        assert broker.pending(stream, "group")[0].deliveries == 2

    def test_an_entry_no_longer_pending_here_is_not_redelivered(
        self, broker: Broker, stream: str, subscriptions: _Subscriptions
    ) -> None:
        """Acknowledged, or claimed by another consumer: `redeliver` returns None."""
        publish(broker, stream, 1, 2)
        subscription = subscriptions("c1")
        acked, claimed = subscription.read(10, 0)
        subscription.ack(acked.entry_id)
        assert subscription.redeliver(acked.entry_id) is None
        subscriptions("c2").claim_stale(0.0, 10)
        assert subscription.redeliver(claimed.entry_id) is None
        assert broker.pending(stream, "group")[0].consumer == "c2"

    def test_a_dead_letter_keeps_the_entry_with_reason_and_count(
        self, broker: Broker, stream: str, subscriptions: _Subscriptions
    ) -> None:
        """The dead-letter stream gets the original fields plus why, how often, where from."""
        envelope = REGISTRY.envelope(Ping(1))
        entry_id = broker.publish(stream, envelope)
        subscription = subscriptions("c1")
        subscription.read(10, 0)
        entry = subscription.redeliver(entry_id)
        assert entry is not None
        subscription.dead_letter(entry, "handler failed 2 times: KeyError")
        [letter] = broker.entries(dead_letter_stream(stream))
        assert Envelope.from_fields(letter.fields) == envelope
        assert {
            key: letter.fields[key]
            for key in (
                DEAD_LETTER_REASON,
                DEAD_LETTER_DELIVERIES,
                DEAD_LETTER_ENTRY_ID,
                DEAD_LETTER_GROUP,
                DEAD_LETTER_CONSUMER,
            )
        } == {
            DEAD_LETTER_REASON: "handler failed 2 times: KeyError",
            DEAD_LETTER_DELIVERIES: "2",
            DEAD_LETTER_ENTRY_ID: entry_id,
            DEAD_LETTER_GROUP: "group",
            DEAD_LETTER_CONSUMER: "c1",
        }
        assert broker.pending(stream, "group") == []

    def test_entries_from_other_services_are_delivered_as_written(
        self, broker: Broker, stream: str, subscriptions: _Subscriptions
    ) -> None:
        """Raw fields (no id, any text) come back exactly; the entry id stands in for the id."""
        fields = {"type": "Ping", "data": '{"n": 7}', "note": "héllo"}
        entry_id = broker.append(stream, fields)
        [entry] = subscriptions("c1").read(10, 0)
        assert dict(entry.fields) == fields
        envelope = Envelope.from_fields(entry.fields, entry_id=entry.entry_id)
        assert envelope.message_id == entry_id
        assert REGISTRY.message(envelope) == Ping(7)


class ConsumerContract(_Hooks):
    """What a `Consumer` does on every broker: ack after handling, retry, claim, dead-letter.

    Override the ``broker`` fixture, as for [`BrokerContract`][tactical.testing.BrokerContract].

    Example:
        >>> import pytest
        >>> from tactical import InMemoryBroker
        >>> class TestConsumerOnInMemoryBroker(ConsumerContract):
        ...     @pytest.fixture
        ...     def broker(self):
        ...         return InMemoryBroker()
    """

    def consumer(self, subscription: Subscription, handler: Any, **options: Any) -> Consumer:
        """A consumer of `Ping`s that never waits between deliveries."""
        settings: dict[str, Any] = {"backoff": NO_WAIT, "block": 0.0, "claim_idle": HOUR}
        return Consumer(subscription, handler, REGISTRY.message, **(settings | options))

    def test_published_messages_are_handled_in_order_and_acknowledged(
        self, broker: Broker, stream: str, subscriptions: _Subscriptions
    ) -> None:
        """Every message reaches the handler, with its envelope, and is then acknowledged."""
        ids = publish(broker, stream, 1, 2, 3)
        seen: list[tuple[Message, str]] = []
        consumer = self.consumer(subscriptions("c1"), lambda m, e: seen.append((m, e.message_id)))
        assert consumer.poll() == 3
        envelopes = [Envelope.from_fields(e.fields) for e in broker.entries(stream)]
        assert seen == [(Ping(n), envelopes[n - 1].message_id) for n in (1, 2, 3)]
        assert broker.pending(stream, "group") == []
        assert len(ids) == 3

    def test_an_entry_is_acknowledged_only_after_the_handler_returned(
        self, broker: Broker, stream: str, subscriptions: _Subscriptions
    ) -> None:
        """While the handler runs, the entry is still pending: a crash then would lose nothing."""
        [entry_id] = publish(broker, stream, 1)
        pending_during: list[list[str]] = []

        def handler(message: Message, envelope: Envelope) -> None:
            pending_during.append([p.entry_id for p in broker.pending(stream, "group")])

        self.consumer(subscriptions("c1"), handler).poll()
        assert pending_during == [[entry_id]]
        assert broker.pending(stream, "group") == []

    def test_a_failing_handler_is_retried_until_it_succeeds(
        self, broker: Broker, stream: str, subscriptions: _Subscriptions
    ) -> None:
        """A handler failure means "deliver again": the third delivery succeeds, then acks."""
        publish(broker, stream, 1)
        calls: list[int] = []

        def flaky(message: Message, envelope: Envelope) -> None:
            calls.append(1)
            if len(calls) < 3:
                raise ConnectionError("database down")

        self.consumer(subscriptions("c1"), flaky, max_deliveries=5).poll()
        assert len(calls) == 3
        assert broker.pending(stream, "group") == []
        assert broker.entries(dead_letter_stream(stream)) == []

    def test_a_handler_that_keeps_failing_is_dead_lettered_after_the_cap(
        self, broker: Broker, stream: str, subscriptions: _Subscriptions
    ) -> None:
        """After max_deliveries attempts the entry goes to the dead-letter stream, acknowledged."""
        publish(broker, stream, 1, 2)
        calls: list[Message] = []

        def failing(message: Message, envelope: Envelope) -> None:
            calls.append(message)
            if message == Ping(1):
                raise KeyError("batch-42")

        self.consumer(subscriptions("c1"), failing, max_deliveries=3).poll()
        assert calls == [Ping(1)] * 3 + [Ping(2)]
        [letter] = broker.entries(dead_letter_stream(stream))
        assert letter.fields[DEAD_LETTER_DELIVERIES] == "3"
        assert letter.fields[DEAD_LETTER_REASON].startswith("handler failed 3 times: KeyError")
        assert numbers([letter]) == [1]
        assert broker.pending(stream, "group") == []

    @pytest.mark.parametrize(
        "fields",
        [
            {"type": "Ping", "data": "not json", "id": "m-1"},
            {"type": "Pong", "data": '{"n": 1}', "id": "m-1"},
            {"type": "Ping", "data": "{}", "id": "m-1"},
            {"type": "Ping", "data": '{"n": "1"}', "id": "m-1"},
            {"type": "Ping", "data": '{"n": 1, "m": 2}', "id": "m-1"},
            {"type": "Ping", "data": '{"n": 1, "pad": "' + "x" * (1024 * 1024) + '"}'},
            {"data": '{"n": 1}', "id": "m-1"},
            {"type": "Ping", "data": '{"n": 1}', "version": "9"},
        ],
        ids=[
            "malformed",
            "unknown-type",
            "missing-field",
            "wrong-type",
            "extra-field",
            "oversized",
            "no-type",
            "newer-version",
        ],
    )
    def test_an_undecodable_entry_is_dead_lettered_at_once_and_good_ones_flow(
        self,
        broker: Broker,
        stream: str,
        subscriptions: _Subscriptions,
        fields: dict[str, str],
    ) -> None:
        """Retrying cannot fix bad data: one delivery, the reason stored, the handler untouched."""
        publish(broker, stream, 1)
        bad_id = broker.append(stream, fields)
        publish(broker, stream, 2)
        seen: list[Message] = []
        consumer = self.consumer(subscriptions("c1"), lambda m, e: seen.append(m))
        assert consumer.poll() == 3
        assert seen == [Ping(1), Ping(2)]
        [letter] = broker.entries(dead_letter_stream(stream))
        assert letter.fields[DEAD_LETTER_ENTRY_ID] == bad_id
        assert letter.fields[DEAD_LETTER_DELIVERIES] == "1"
        assert letter.fields[DEAD_LETTER_REASON].startswith("undecodable (")
        assert broker.pending(stream, "group") == []

    def test_an_entry_delivered_too_often_without_an_ack_is_dead_lettered_unhandled(
        self, broker: Broker, stream: str, subscriptions: _Subscriptions
    ) -> None:
        """An entry that crashed every consumer (never acknowledged) stops at the cap too."""
        publish(broker, stream, 1)
        for _ in range(3):  # three consumers that read it and died
            subscriptions("crashing").read(10, 0)
        handled: list[Message] = []
        consumer = self.consumer(
            subscriptions("c2"), lambda m, e: handled.append(m), max_deliveries=3, claim_idle=0.0
        )
        consumer.poll()
        assert handled == []
        [letter] = broker.entries(dead_letter_stream(stream))
        assert letter.fields[DEAD_LETTER_DELIVERIES] == "4"
        assert "without being acknowledged" in letter.fields[DEAD_LETTER_REASON]

    def test_entries_left_by_a_crashed_consumer_are_claimed_and_handled(
        self, broker: Broker, stream: str, subscriptions: _Subscriptions
    ) -> None:
        """Another consumer takes over stale pending entries: nothing is lost."""
        publish(broker, stream, 1, 2, 3)
        subscriptions("crashed").read(10, 0)
        publish(broker, stream, 4)
        seen: list[Message] = []
        survivor = self.consumer(
            subscriptions("survivor"), lambda m, e: seen.append(m), claim_idle=0.0
        )
        while survivor.poll():
            pass
        assert sorted(_ping(m) for m in seen) == [1, 2, 3, 4]
        assert broker.pending(stream, "group") == []

    def test_stop_finishes_the_message_in_hand_and_leaves_the_rest_pending(
        self, broker: Broker, stream: str, subscriptions: _Subscriptions
    ) -> None:
        """Stopping mid-batch acks the message in hand; a restart handles the rest first."""
        publish(broker, stream, 1, 2, 3)
        seen: list[Message] = []

        def handler(message: Message, envelope: Envelope) -> None:
            seen.append(message)
            consumer.stop()

        consumer = self.consumer(subscriptions("c1"), handler)
        assert consumer.poll() == 1
        assert consumer.stopping
        assert seen == [Ping(1)]
        assert len(broker.pending(stream, "group")) == 2
        publish(broker, stream, 4)
        restarted = self.consumer(subscriptions("c1"), lambda m, e: seen.append(m))
        while restarted.poll():
            pass
        assert seen == [Ping(1), Ping(2), Ping(3), Ping(4)]

    def test_entries_without_an_id_are_identified_by_their_entry_id(
        self, broker: Broker, stream: str, subscriptions: _Subscriptions
    ) -> None:
        """Another service's entry without ``id``: the envelope's id is the stream entry id."""
        entry_id = broker.append(stream, {"type": "Ping", "data": '{"n": 5}'})
        ids: list[str] = []
        self.consumer(subscriptions("c1"), lambda m, e: ids.append(e.message_id)).poll()
        assert ids == [entry_id]

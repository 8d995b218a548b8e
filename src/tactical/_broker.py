"""The broker protocols: publish envelopes to streams; read them in consumer groups.

The model is Redis Streams': a stream is an append-only log of entries (flat string fields);
a consumer group shares a stream's entries among its consumers, each entry delivered to one
consumer and *pending* until that consumer acknowledges it. A delivery that is never
acknowledged (its consumer crashed) can be claimed by another consumer once it has been idle
long enough; each delivery counts, and an entry delivered too often goes to a dead-letter
stream. [`InMemoryBroker`][tactical.InMemoryBroker] implements it for tests;
`tactical.redis` implements it on Redis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from tactical._envelope import Envelope

__all__ = [
    "DEAD_LETTER_CONSUMER",
    "DEAD_LETTER_DELIVERIES",
    "DEAD_LETTER_ENTRY_ID",
    "DEAD_LETTER_GROUP",
    "DEAD_LETTER_REASON",
    "BatchPublisher",
    "Broker",
    "Entry",
    "PendingEntry",
    "Publisher",
    "Subscription",
    "dead_letter_fields",
    "dead_letter_stream",
]

DEAD_LETTER_REASON = "dead_letter_reason"
"""The dead-letter entry field saying why the entry was given up."""
DEAD_LETTER_DELIVERIES = "dead_letter_deliveries"
"""The dead-letter entry field counting the deliveries made before giving up."""
DEAD_LETTER_ENTRY_ID = "dead_letter_entry_id"
"""The dead-letter entry field holding the id of the original entry in its stream."""
DEAD_LETTER_GROUP = "dead_letter_group"
"""The dead-letter entry field naming the consumer group that gave up."""
DEAD_LETTER_CONSUMER = "dead_letter_consumer"
"""The dead-letter entry field naming the consumer that gave up."""


def dead_letter_stream(stream: str) -> str:
    """The name of the stream where ``stream``'s given-up entries go: ``<stream>:dead-letter``.

    Example:
        >>> dead_letter_stream("line_allocated")
        'line_allocated:dead-letter'
    """
    return f"{stream}:dead-letter"


def dead_letter_fields(entry: Entry, reason: str, *, group: str, consumer: str) -> dict[str, str]:
    """The fields of ``entry``'s dead letter: its own, then why, how often, where from.

    The original fields are kept as they are, so that the entry can be replayed as it came.
    """
    return {
        **entry.fields,
        DEAD_LETTER_REASON: reason,
        DEAD_LETTER_DELIVERIES: str(entry.deliveries),
        DEAD_LETTER_ENTRY_ID: entry.entry_id,
        DEAD_LETTER_GROUP: group,
        DEAD_LETTER_CONSUMER: consumer,
    }


class Entry(NamedTuple):
    """One stream entry, as a consumer receives it (an immutable record).

    Attributes:
        entry_id: The broker's id of the entry, unique and increasing within its stream.
        fields: Its fields (an [`Envelope`][tactical.Envelope] in flat form, or whatever
            another service wrote).
        deliveries: How many times the entry has been delivered to the group, this delivery
            included; 0 when read outside a group.

    Example:
        >>> from tactical import InMemoryBroker
        >>> broker = InMemoryBroker()
        >>> broker.append("orders", {"type": "Placed", "data": "{}"})
        '1-0'
        >>> broker.entries("orders")
        [Entry(entry_id='1-0', fields={'type': 'Placed', 'data': '{}'}, deliveries=0)]
    """

    entry_id: str
    fields: Mapping[str, str]
    deliveries: int = 0


class PendingEntry(NamedTuple):
    """An entry delivered to a consumer of a group and not acknowledged yet.

    Attributes:
        entry_id: The entry's id.
        consumer: The consumer it was last delivered to.
        deliveries: How many times it has been delivered.

    Example:
        >>> from tactical import InMemoryBroker
        >>> broker = InMemoryBroker()
        >>> _ = broker.append("orders", {"type": "Placed", "data": "{}"})
        >>> subscription = broker.subscribe("orders", "billing", "worker-1")
        >>> subscription.start()
        >>> _ = subscription.read(10, 0)
        >>> broker.pending("orders", "billing")
        [PendingEntry(entry_id='1-0', consumer='worker-1', deliveries=1)]
    """

    entry_id: str
    consumer: str
    deliveries: int


class Publisher(Protocol):
    """Appends messages to streams; what an outbox relay or a handler publishes with.

    Example:
        >>> from tactical import Envelope
        >>> class PrintingPublisher:
        ...     def publish(self, stream: str, envelope: Envelope, /) -> str:
        ...         print(stream, envelope.type, envelope.data)
        ...         return "1-0"
        >>> def notify(publisher: Publisher) -> str:
        ...     return publisher.publish("line_allocated", Envelope("Allocated", "{}", "m-1"))
        >>> notify(PrintingPublisher())
        line_allocated Allocated {}
        '1-0'
    """

    def publish(self, stream: str, envelope: Envelope, /) -> str:
        """Append ``envelope`` (in flat form) to ``stream`` and return the new entry's id.

        Raises:
            BrokerError: The broker failed or could not be reached; nothing was appended,
                or (when the connection dropped after sending) it may have been.
        """
        ...


class Subscription(Protocol):
    """One consumer's membership of a consumer group on a stream.

    `read` first returns the entries this consumer left pending before (after a restart),
    then new ones. Every read, claim and redelivery counts as a delivery. A
    [`Consumer`][tactical.Consumer] runs one; you rarely call it yourself.

    Example:
        >>> from tactical import InMemoryBroker
        >>> broker = InMemoryBroker()
        >>> _ = broker.append("orders", {"type": "Placed", "data": "{}"})
        >>> subscription: Subscription = broker.subscribe("orders", "billing", "worker-1")
        >>> subscription.start()
        >>> [entry] = subscription.read(count=10, block=0)
        >>> subscription.ack(entry.entry_id)
        >>> subscription.read(count=10, block=0)
        []
    """

    @property
    def stream(self) -> str:
        """The stream read."""
        ...

    @property
    def group(self) -> str:
        """The consumer group."""
        ...

    @property
    def consumer(self) -> str:
        """This consumer's name: stable across restarts, so that its pending entries return."""
        ...

    def start(self) -> None:
        """Create the group if it does not exist, positioned before the stream's first entry.

        The next `read` returns this consumer's pending entries first. A consumer starts
        again after a broker failure, so that entries delivered by a read whose reply was
        lost come back at once, not only when they are claimed as stale.
        """
        ...

    def read(self, count: int, block: float) -> list[Entry]:
        """Up to ``count`` entries: this consumer's pending ones first, then new ones.

        Waits up to ``block`` seconds for new entries when there are none.
        """
        ...

    def claim_stale(self, min_idle: float, count: int) -> list[Entry]:
        """Take over up to ``count`` entries pending (at any consumer) for ``min_idle`` seconds."""
        ...

    def redeliver(self, entry_id: str) -> Entry | None:
        """Deliver a pending entry of this consumer again, or ``None`` if it is no longer one.

        It is no longer one when it was acknowledged, or claimed by another consumer.
        """
        ...

    def ack(self, *entry_ids: str) -> None:
        """Acknowledge entries: they are done, and no consumer of the group receives them again.

        Acknowledging an entry that is not pending does nothing.
        """
        ...

    def dead_letter(self, entry: Entry, reason: str) -> None:
        """Copy ``entry`` with ``reason`` to the dead-letter stream, and acknowledge it (atomic)."""
        ...

    def close(self) -> None:
        """Release what the subscription holds (connections)."""
        ...


class BatchPublisher(Publisher, Protocol):
    """A publisher that can also send many envelopes in one round trip.

    An [`OutboxRelay`][tactical.sqlalchemy.OutboxRelay] uses `publish_many` when the
    publisher has it.

    Example:
        >>> from tactical import Envelope, InMemoryBroker
        >>> publisher: BatchPublisher = InMemoryBroker()
        >>> publisher.publish_many(
        ...     [("a", Envelope("T", "{}", "m-1")), ("b", Envelope("T", "{}", "m-2"))]
        ... )
        ['1-0', '1-0']
    """

    def publish_many(self, messages: Sequence[tuple[str, Envelope]], /) -> list[str]:
        """Append each ``(stream, envelope)`` in order; return the new entries' ids.

        Raises:
            BrokerError: The broker failed; any number of the envelopes may have been
                appended (publishing them again duplicates those).
        """
        ...


class Broker(BatchPublisher, Protocol):
    """A publisher that can also append raw entries, read streams and hand out subscriptions.

    [`InMemoryBroker`][tactical.InMemoryBroker] and `tactical.redis.RedisBroker` are brokers,
    held to the same contract (`tactical.testing.BrokerContract`).

    Example:
        >>> from tactical import InMemoryBroker
        >>> broker: Broker = InMemoryBroker()
        >>> broker.append("change_batch_quantity", {"type": "ChangeBatchQuantity", "data": "{}"})
        '1-0'
        >>> [entry.fields["type"] for entry in broker.entries("change_batch_quantity")]
        ['ChangeBatchQuantity']
    """

    def append(self, stream: str, fields: Mapping[str, str], /) -> str:
        """Append an entry of arbitrary fields (as another service would) and return its id."""
        ...

    def subscribe(self, stream: str, group: str, consumer: str) -> Subscription:
        """A subscription of ``consumer`` to ``group`` on ``stream``; call its `start` first."""
        ...

    def entries(self, stream: str) -> list[Entry]:
        """Every entry of ``stream``, oldest first (a dead-letter stream, say)."""
        ...

    def pending(self, stream: str, group: str) -> list[PendingEntry]:
        """The entries of ``group`` on ``stream`` that are delivered and not acknowledged."""
        ...

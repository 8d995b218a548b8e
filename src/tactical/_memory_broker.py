"""`InMemoryBroker`: streams and consumer groups in memory, with Redis Streams' semantics."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tactical._broker import Entry, PendingEntry, dead_letter_fields, dead_letter_stream

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from tactical._envelope import Envelope

__all__ = ["InMemoryBroker", "InMemorySubscription"]


class _Pending:
    __slots__ = ("consumer", "delivered_at", "deliveries")

    def __init__(self, consumer: str) -> None:
        self.consumer = consumer
        self.deliveries = 0
        self.delivered_at = 0.0


class _Group:
    __slots__ = ("delivered", "pending")

    def __init__(self) -> None:
        self.delivered = 0
        """How many of the stream's entries the group has handed out (its last-delivered id)."""
        self.pending: dict[int, _Pending] = {}
        """Pending entries by their position in the stream."""


class _Stream:
    __slots__ = ("entries", "groups")

    def __init__(self) -> None:
        self.entries: list[tuple[str, dict[str, str]]] = []
        self.groups: dict[str, _Group] = {}


class InMemoryBroker:
    """Streams, consumer groups, pending entries and dead letters, in memory, thread-safe.

    It behaves as Redis Streams does for everything tactical relies on (deliveries are
    counted, pending entries survive a consumer's restart, idle ones can be claimed), so
    that a test on it means what a test on Redis means; the same contract suite runs on both.
    Entry ids are ``"<n>-0"``, increasing within each stream.

    Args:
        clock: Monotonic seconds, for how long entries have been idle.

    Example:
        >>> from tactical import Envelope
        >>> broker = InMemoryBroker()
        >>> broker.publish("orders", Envelope("Placed", '{"ref":"o1"}', "m-1"))
        '1-0'
        >>> subscription = broker.subscribe("orders", "billing", "worker-1")
        >>> subscription.start()
        >>> [entry] = subscription.read(count=10, block=0)
        >>> entry.fields["type"], entry.deliveries
        ('Placed', 1)
        >>> subscription.ack(entry.entry_id)
        >>> broker.pending("orders", "billing")
        []
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        import threading  # here: `import tactical` stays fast

        self._streams: dict[str, _Stream] = {}
        self._changed = threading.Condition()
        self._clock = clock

    def publish(self, stream: str, envelope: Envelope, /) -> str:
        """Append ``envelope`` in flat form to ``stream``; return the entry id."""
        return self.append(stream, envelope.to_fields())

    def publish_many(self, messages: Sequence[tuple[str, Envelope]], /) -> list[str]:
        """Publish each ``(stream, envelope)`` in order, atomically; return the entry ids."""
        with self._changed:
            return [self.publish(stream, envelope) for stream, envelope in messages]

    def append(self, stream: str, fields: Mapping[str, str], /) -> str:
        """Append an entry of arbitrary string fields to ``stream``; return its id."""
        if not fields:
            raise ValueError("an entry needs at least one field")
        with self._changed:
            log = self._streams.setdefault(stream, _Stream())
            entry_id = f"{len(log.entries) + 1}-0"
            log.entries.append((entry_id, dict(fields)))
            self._changed.notify_all()
        return entry_id

    def subscribe(self, stream: str, group: str, consumer: str) -> InMemorySubscription:
        """A subscription of ``consumer`` to ``group`` on ``stream``."""
        return InMemorySubscription(self, stream, group, consumer)

    def entries(self, stream: str) -> list[Entry]:
        """Every entry of ``stream``, oldest first."""
        with self._changed:
            log = self._streams.get(stream)
            return [] if log is None else [Entry(i, dict(f)) for i, f in log.entries]

    def pending(self, stream: str, group: str) -> list[PendingEntry]:
        """The delivered, unacknowledged entries of ``group``, oldest first."""
        with self._changed:
            state = self._group(stream, group)
            log = self._streams[stream]
            return [
                PendingEntry(log.entries[position][0], p.consumer, p.deliveries)
                for position, p in sorted(state.pending.items())
            ]

    # What the subscriptions call, under the lock.

    def _group(self, stream: str, group: str) -> _Group:
        state = self._streams.get(stream, _Stream()).groups.get(group)
        if state is None:
            raise LookupError(f"no consumer group {group!r} on stream {stream!r}; start() first")
        return state

    def _create(self, stream: str, group: str) -> None:
        with self._changed:
            self._streams.setdefault(stream, _Stream()).groups.setdefault(group, _Group())

    def _deliver(self, stream: str, state: _Group, position: int, consumer: str) -> Entry:
        pending = state.pending.get(position)
        if pending is None:
            pending = state.pending[position] = _Pending(consumer)
        pending.consumer = consumer
        pending.deliveries += 1
        pending.delivered_at = self._clock()
        entry_id, fields = self._streams[stream].entries[position]
        return Entry(entry_id, dict(fields), pending.deliveries)


class InMemorySubscription:
    """A consumer's membership of a group in an [`InMemoryBroker`][tactical.InMemoryBroker].

    See [`Subscription`][tactical.Subscription] for what each method does.

    Example:
        >>> broker = InMemoryBroker()
        >>> _ = broker.append("orders", {"type": "Placed", "data": "{}"})
        >>> crashed = broker.subscribe("orders", "billing", "worker-1")
        >>> crashed.start()
        >>> _ = crashed.read(10, 0)  # never acknowledged
        >>> [
        ...     entry.deliveries
        ...     for entry in broker.subscribe("orders", "billing", "worker-2").claim_stale(
        ...         min_idle=0, count=10
        ...     )
        ... ]
        [2]
    """

    def __init__(self, broker: InMemoryBroker, stream: str, group: str, consumer: str) -> None:
        self._broker = broker
        self._stream = stream
        self._group_name = group
        self._consumer = consumer
        self._backlog_after: int | None = -1
        """Reading this consumer's own pending entries after this position; None when done."""

    @property
    def stream(self) -> str:
        """The stream read."""
        return self._stream

    @property
    def group(self) -> str:
        """The consumer group."""
        return self._group_name

    @property
    def consumer(self) -> str:
        """This consumer's name."""
        return self._consumer

    def start(self) -> None:
        """Create the group, before the stream's first entry, unless it exists."""
        self._broker._create(self._stream, self._group_name)  # noqa: SLF001 - its own broker
        self._backlog_after = -1

    def read(self, count: int, block: float) -> list[Entry]:
        """This consumer's pending entries first (once, after a restart), then new entries."""
        broker = self._broker
        deadline = time.monotonic() + block
        with broker._changed:  # noqa: SLF001 - the broker's own lock
            state = broker._group(self._stream, self._group_name)  # noqa: SLF001
            if self._backlog_after is not None:
                backlog = self._own_pending(state, self._backlog_after)[:count]
                if backlog:
                    self._backlog_after = backlog[-1]
                    return [self._deliver(state, position) for position in backlog]
                self._backlog_after = None
            log = broker._streams[self._stream]  # noqa: SLF001
            while state.delivered >= len(log.entries):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                broker._changed.wait(remaining)  # noqa: SLF001
            positions = range(state.delivered, min(len(log.entries), state.delivered + count))
            state.delivered = positions.stop
            return [self._deliver(state, position) for position in positions]

    def claim_stale(self, min_idle: float, count: int) -> list[Entry]:
        """Take over up to ``count`` entries idle for at least ``min_idle`` seconds."""
        broker = self._broker
        with broker._changed:  # noqa: SLF001
            state = broker._group(self._stream, self._group_name)  # noqa: SLF001
            now = broker._clock()  # noqa: SLF001
            stale = [
                position
                for position, pending in sorted(state.pending.items())
                if now - pending.delivered_at >= min_idle
            ][:count]
            return [self._deliver(state, position) for position in stale]

    def redeliver(self, entry_id: str) -> Entry | None:
        """Deliver the entry again if it is still pending at this consumer."""
        broker = self._broker
        with broker._changed:  # noqa: SLF001
            state = broker._group(self._stream, self._group_name)  # noqa: SLF001
            position = _position(entry_id)
            pending = state.pending.get(position)
            if pending is None or pending.consumer != self._consumer:
                return None
            return self._deliver(state, position)

    def ack(self, *entry_ids: str) -> None:
        """Acknowledge the entries; acknowledging one that is not pending does nothing."""
        broker = self._broker
        with broker._changed:  # noqa: SLF001
            state = broker._group(self._stream, self._group_name)  # noqa: SLF001
            for entry_id in entry_ids:
                state.pending.pop(_position(entry_id), None)

    def dead_letter(self, entry: Entry, reason: str) -> None:
        """Copy the entry to ``<stream>:dead-letter`` with the reason, and acknowledge it."""
        fields = dead_letter_fields(entry, reason, group=self._group_name, consumer=self._consumer)
        with self._broker._changed:  # noqa: SLF001 - one lock makes both steps atomic
            self._broker.append(dead_letter_stream(self._stream), fields)
            self.ack(entry.entry_id)

    def close(self) -> None:
        """Nothing to release."""

    def _own_pending(self, state: _Group, after: int) -> list[int]:
        return [
            position
            for position, pending in sorted(state.pending.items())
            if position > after and pending.consumer == self._consumer
        ]

    def _deliver(self, state: _Group, position: int) -> Entry:
        return self._broker._deliver(self._stream, state, position, self._consumer)  # noqa: SLF001


def _position(entry_id: str) -> int:
    number, _, _ = entry_id.partition("-")
    return int(number) - 1 if number.isdigit() else -1

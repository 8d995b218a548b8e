"""`Consumer`: read a subscription, decode, handle, acknowledge; retry, claim, dead-letter."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tactical._envelope import Envelope
from tactical._exceptions import BrokerError, DeserializationError
from tactical._retry import Backoff

if TYPE_CHECKING:
    import logging
    import signal
    from collections.abc import Callable
    from types import FrameType, TracebackType

    from tactical._broker import Entry, Subscription
    from tactical._messages import Message

__all__ = ["Consumer"]

LOGGER = "tactical.consumer"
"""The name of the logger that reports failures, claims and dead letters (never payloads)."""

RETRY = Backoff(initial=0.1, factor=2.0, cap=5.0, jitter=True)
"""The default waits between deliveries of a message whose handler failed."""

_REASON_LIMIT = 1000
"""The longest reason stored with a dead letter, in characters."""
_POLL = 0.1
"""How often a wait checks whether a signal asked to stop, in seconds."""


class Consumer:
    """Runs a subscription: each entry is decoded, handled, then acknowledged.

    An entry is acknowledged only after the handler returned, that is after its transaction
    committed, so a crash loses nothing: the entry stays pending and is delivered again (to
    this consumer when it restarts, to another once it has been idle ``claim_idle`` seconds).
    The entries of a batch are acknowledged together, in one round trip, when the batch is
    done (or stopped, or a failure makes it wait); a crash in the middle of a batch
    redelivers the entries already handled in it. Delivery is therefore at least once: make
    handlers idempotent (an [`Inbox`][tactical.sqlalchemy.Inbox] does).

    * An entry that cannot be decoded or validated goes to the dead-letter stream at once,
      with the reason: delivering it again cannot help.
    * A handler that raises is retried: the entry is delivered again after a back-off, until
      it has been delivered ``max_deliveries`` times; then it is dead-lettered with the last
      error. Deliveries are counted by the broker, across consumers and restarts, so an
      entry that crashes every consumer that takes it is dead-lettered too.
    * Broker failures are logged and retried with back-off; `run` never stops for them.

    The handler must raise when it did not handle the message. A message bus does for
    commands; for events it logs and swallows a handler's failure after its own retries, so
    an event handled through ``bus.handle`` counts as handled either way.

    `stop()` (or SIGTERM/SIGINT, see `stop_on_signals`) lets the message in hand finish and
    be acknowledged, then `run` returns; entries read but not started stay pending and are
    handled first when this consumer (same name) starts again.

    Args:
        subscription: Where entries come from (and go when acknowledged or dead-lettered).
        handler: Called with each message and its envelope; raising means "not handled".
        decode: Turns an envelope into a message, or raises `DeserializationError`: a
            registry's `message`, or a function for another service's format.
        max_deliveries: The most times an entry is handed to the handler.
        backoff: The waits between deliveries after a handler failure, from its
            ``initial``, ``factor``, ``cap`` and ``jitter`` (not its ``attempts``).
        claim_idle: Seconds an entry must be pending, unacknowledged, before another
            consumer may claim it; longer than the slowest handling of a whole batch.
        claim_every: Seconds between looks for stale entries to claim.
        batch: Entries read at a time.
        block: Seconds a read waits for new entries; `stop()` takes effect within it.
        clock: Monotonic seconds.
        random: Floats in ``[0, 1)``, for jitter (`random.random` by default).

    Example:
        >>> from dataclasses import dataclass
        >>> from tactical import Event, InMemoryBroker, MessageRegistry
        >>> @dataclass(frozen=True)
        ... class Allocated(Event):
        ...     orderid: str
        >>> registry = MessageRegistry([Allocated])
        >>> broker = InMemoryBroker()
        >>> _ = broker.publish("line_allocated", registry.envelope(Allocated("o1")))
        >>> subscription = broker.subscribe("line_allocated", "notifications", "worker-1")
        >>> seen = []
        >>> consumer = Consumer(subscription, lambda m, e: seen.append(m), registry.message)
        >>> subscription.start()
        >>> consumer.poll()
        1
        >>> seen, broker.pending("line_allocated", "notifications")
        ([Allocated(orderid='o1')], [])
    """

    def __init__(
        self,
        subscription: Subscription,
        handler: Callable[[Message, Envelope], object],
        decode: Callable[[Envelope], Message],
        *,
        max_deliveries: int = 5,
        backoff: Backoff = RETRY,
        claim_idle: float = 60.0,
        claim_every: float = 5.0,
        batch: int = 50,
        block: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        random: Callable[[], float] | None = None,
    ) -> None:
        import threading  # here, not at the top: `import tactical` stays fast

        if max_deliveries < 1 or batch < 1:
            raise ValueError("max_deliveries and batch must be at least 1")
        if claim_idle < 0 or claim_every < 0 or block < 0:
            raise ValueError("claim_idle, claim_every and block must not be negative")
        self._subscription = subscription
        self._handler = handler
        self._decode = decode
        self._max_deliveries = max_deliveries
        self._backoff = backoff
        self._claim_idle = claim_idle
        self._claim_every = claim_every
        self._batch = batch
        self._block = block
        self._clock = clock
        self._random = random
        self._next_claim = clock()
        self._stopped = threading.Event()
        self._handled: list[str] = []
        """Entries whose handlers returned, acknowledged together at the end of each batch."""
        self._signalled = False  # set by signal handlers, which must not take locks

    @property
    def stopping(self) -> bool:
        """Whether `stop()` was called or a stop signal arrived."""
        return self._signalled or self._stopped.is_set()

    def stop(self) -> None:
        """Finish the message in hand, then make `run` return. Safe from any thread."""
        self._stopped.set()

    def stop_on_signals(self, *signals: signal.Signals) -> _StopOnSignals:
        """Within the block, SIGTERM and SIGINT (or ``signals``) stop the consumer gracefully.

        The previous handlers are restored on leaving. Use it from the main thread.

        Example:
            >>> import signal
            >>> from tactical import InMemoryBroker
            >>> subscription = InMemoryBroker().subscribe("s", "g", "c")
            >>> consumer = Consumer(subscription, print, lambda envelope: None)
            >>> with consumer.stop_on_signals():
            ...     signal.raise_signal(signal.SIGTERM)
            >>> consumer.stopping
            True
        """
        return _StopOnSignals(self, signals)

    def _signalled_stop(self, number: int, frame: FrameType | None) -> None:  # noqa: ARG002
        self._signalled = True  # only a plain write: a signal handler must take no lock

    def run(self) -> None:
        """Start the subscription, then handle entries until stopped.

        Broker failures are logged and retried with back-off, never raised.
        """
        subscription = self._subscription
        failures = 0
        started = False
        _logger().info(
            "consumer %s starting on stream %s, group %s",
            subscription.consumer,
            subscription.stream,
            subscription.group,
        )
        while not self.stopping:
            try:
                if not started:
                    subscription.start()
                    started = True
                self.poll()
            except BrokerError as error:
                _logger().warning("broker error on stream %s: %s", subscription.stream, error)
                self._wait(self._backoff.delay(failures, self._random))
                failures += 1
                # Start again: the group may be gone (a server restarted empty), and a read
                # that timed out may have delivered entries that never reached us.
                started = False
            else:
                failures = 0
        _logger().info("consumer %s stopped", subscription.consumer)

    def poll(self) -> int:
        """Handle what is there now: stale entries to claim, else one read. Returns how many.

        Raises:
            BrokerError: The broker failed; entries not acknowledged stay pending.
        """
        self._flush_acks()
        entries: list[Entry] = []
        now = self._clock()
        if now >= self._next_claim:
            entries = self._subscription.claim_stale(self._claim_idle, self._batch)
            if entries:
                _logger().info(
                    "consumer %s claimed %d stale entries",
                    self._subscription.consumer,
                    len(entries),
                )
            self._next_claim = now if len(entries) == self._batch else now + self._claim_every
        if not entries:
            entries = self._subscription.read(self._batch, self._block)
        done = 0
        try:
            for entry in entries:
                if self.stopping:
                    break
                self._process(entry)
                done += 1
        finally:
            self._flush_acks()
        return done

    def _flush_acks(self) -> None:
        """Acknowledge, in one round trip, the entries whose handlers have returned.

        They are forgotten only once acknowledged: after a broker failure, the next poll
        acknowledges them before reading anything, so they are not handled again.
        """
        if self._handled:
            self._subscription.ack(*self._handled)
            self._handled.clear()

    def _process(self, entry: Entry) -> None:
        try:
            envelope = Envelope.from_fields(entry.fields, entry_id=entry.entry_id)
            message = self._decode(envelope)
        except DeserializationError as error:
            self._give_up(entry, f"undecodable ({error.reason}): {error}")
            return
        current: Entry | None = entry
        while current is not None:
            if current.deliveries > self._max_deliveries:
                self._give_up(
                    current,
                    f"delivered {current.deliveries} times without being acknowledged "
                    "(consumers may have crashed handling it)",
                )
                return
            try:
                self._handler(message, envelope)
            except Exception as error:  # noqa: BLE001 - any handler failure is retried
                current = self._after_failure(current, envelope, error)
            else:
                self._handled.append(current.entry_id)
                return

    def _after_failure(self, entry: Entry, envelope: Envelope, error: Exception) -> Entry | None:
        """Dead-letter the entry, or wait and take it again; ``None`` when it left our hands."""
        if entry.deliveries >= self._max_deliveries:
            _logger().error(
                "handler failed for %s entry %s on its last delivery (%d): %s",
                envelope.type,
                entry.entry_id,
                entry.deliveries,
                type(error).__qualname__,
                exc_info=error,
            )
            self._give_up(
                entry,
                f"handler failed {entry.deliveries} times: {type(error).__qualname__}: {error}",
            )
            return None
        _logger().warning(
            "handler failed for %s entry %s (delivery %d of %d): %s",
            envelope.type,
            entry.entry_id,
            entry.deliveries,
            self._max_deliveries,
            type(error).__qualname__,
        )
        self._flush_acks()  # what was handled before this failure need not wait for it
        if not self._wait(self._backoff.delay(max(entry.deliveries - 1, 0), self._random)):
            return None  # stopping: the entry stays pending, and comes back later
        return self._subscription.redeliver(entry.entry_id)

    def _give_up(self, entry: Entry, reason: str) -> None:
        _logger().error(
            "dead-lettering entry %s of stream %s after %d deliveries: %s",
            entry.entry_id,
            self._subscription.stream,
            entry.deliveries,
            reason.partition(":")[0],
        )
        self._subscription.dead_letter(entry, reason[:_REASON_LIMIT])

    def _wait(self, seconds: float) -> bool:
        """Wait (real time), unless asked to stop; whether the wait ran its course."""
        deadline = time.monotonic() + seconds
        while not self.stopping:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return True
            self._stopped.wait(min(remaining, _POLL))
        return False


class _StopOnSignals:
    """Installs `Consumer._signalled_stop` for some signals, and puts the old handlers back."""

    def __init__(self, consumer: Consumer, signals: tuple[signal.Signals, ...]) -> None:
        self._consumer = consumer
        self._signals = signals
        self._previous: dict[int, object] = {}

    def __enter__(self) -> None:
        import signal

        for number in self._signals or (signal.SIGTERM, signal.SIGINT):
            self._previous[number] = signal.signal(number, self._consumer._signalled_stop)  # noqa: SLF001

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        import signal

        for number, handler in self._previous.items():
            signal.signal(number, handler)  # type: ignore[arg-type]
        self._previous.clear()


def _logger() -> logging.Logger:
    import logging  # only when there is something to say: `import tactical` stays fast

    return logging.getLogger(LOGGER)

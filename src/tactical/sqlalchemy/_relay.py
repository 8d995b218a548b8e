"""`OutboxRelay`: publish committed outbox rows, mark them, and never lose or skip one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import select, update

from tactical._envelope import Envelope
from tactical._exceptions import BrokerError, TacticalError
from tactical._retry import Backoff
from tactical.sqlalchemy._engine import is_sqlite
from tactical.sqlalchemy._outbox import utc

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from sqlalchemy import Connection, Engine, Row, Table

    from tactical._broker import Publisher

__all__ = ["OutboxRelay"]

LOGGER = "tactical.outbox"
"""The name of the logger that reports publishing failures (never payloads)."""

RETRY = Backoff(initial=0.5, factor=2.0, cap=30.0, jitter=True)
"""The default waits: between rounds while the broker is down, and before a failed row's
next attempt."""

_ERROR_LIMIT = 2000
"""The longest error message stored with a row, in characters."""


class OutboxRelay:
    """Publishes pending outbox rows in order, marks them published, and carries on.

    Each round, in one transaction: lock up to ``batch`` pending rows (PostgreSQL: ``SELECT
    ... FOR UPDATE SKIP LOCKED``, so relays running at once take different rows; SQLite: the
    write lock, so they take turns), publish them, mark them, commit. A relay that dies
    mid-round releases its rows unmarked, and they are published again: delivery is at
    least once, and consumers deduplicate by message id (an inbox does). Rows are chosen by
    state, never by "id greater than the last one seen", so a row that commits late (a
    transaction that took its id early) is published all the same.

    * The broker failing ([`BrokerError`][tactical.BrokerError]: down, refusing) is waited
      out with back-off, forever; the rows are not to blame and lose nothing.
    * A row that the publisher rejects (any other exception) is tried again after a
      back-off, and marked dead after ``max_attempts`` attempts, the last error stored with
      it; the rows after it carry on.

    Args:
        engine: The database holding the outbox table.
        table: The outbox table.
        publisher: Where rows go: each to its stream, as an [`Envelope`][tactical.Envelope].
        batch: Rows per round (per transaction, and per round trip to a broker that has
            ``publish_many``): fewer rounds, more throughput.
        max_attempts: Attempts before a rejected row is marked dead.
        backoff: Waits while the broker is down, and between attempts at a rejected row.
        poll_interval: Seconds between rounds when there is nothing to publish.
        clock: The current time (aware), stored in the rows.

    Example:
        >>> from dataclasses import dataclass
        >>> from sqlalchemy import MetaData
        >>> from tactical import Event, InMemoryBroker, MessageRegistry
        >>> from tactical.sqlalchemy import (
        ...     Outbox,
        ...     create_engine,
        ...     create_schema,
        ...     create_session_factory,
        ...     outbox_table,
        ... )
        >>> @dataclass(frozen=True)
        ... class Allocated(Event):
        ...     orderid: str
        >>> metadata = MetaData()
        >>> outbox = Outbox(
        ...     outbox_table(metadata), MessageRegistry([Allocated]), {Allocated: "line_allocated"}
        ... )
        >>> engine = create_engine("sqlite://")
        >>> create_schema(engine, metadata)
        >>> with create_session_factory(engine)() as session:
        ...     _ = outbox.put(session, "line_allocated", Allocated("o1"))
        ...     session.commit()
        >>> broker = InMemoryBroker()
        >>> OutboxRelay(engine, outbox.table, broker).relay_once()
        1
        >>> broker.entries("line_allocated")[0].fields["data"]
        '{"orderid":"o1"}'
        >>> engine.dispose()
    """

    def __init__(
        self,
        engine: Engine,
        table: Table,
        publisher: Publisher,
        *,
        batch: int = 500,
        max_attempts: int = 10,
        backoff: Backoff = RETRY,
        poll_interval: float = 0.1,
        clock: Callable[[], datetime] = utc,
    ) -> None:
        import threading  # here: `import tactical.sqlalchemy` need not load it

        if batch < 1 or max_attempts < 1:
            raise ValueError("batch and max_attempts must be at least 1")
        self._engine = engine
        self._table = table
        self._publisher = publisher
        self._batch = batch
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._poll_interval = poll_interval
        self._clock = clock
        self._stopped = threading.Event()
        self._sqlite = is_sqlite(engine)

    def stop(self) -> None:
        """Make `run` return after the round in progress. Safe from any thread."""
        self._stopped.set()

    def run(self) -> None:
        """Relay rounds until `stop()`: never raises for the broker or the database failing."""
        failures = 0
        while not self._stopped.is_set():
            try:
                published = self.relay_once()
            except (BrokerError, sa_exc.SQLAlchemyError, TacticalError) as error:
                _logger().warning("outbox relay round failed (%s): %s", type(error).__name__, error)
                self._stopped.wait(self._backoff.delay(failures))
                failures += 1
                continue
            failures = 0
            if not published:  # idle: poll again later; otherwise go on while rows keep coming
                self._stopped.wait(self._poll_interval)

    def relay_once(self) -> int:
        """One round: publish up to ``batch`` due rows; return how many were published.

        Raises:
            BrokerError: The broker failed; the rows published before it are marked, the
                others stay pending, untouched.
        """
        with self._engine.connect() as connection, connection.begin():
            rows = self._lock_due_rows(connection)
            published, outage = self._publish(connection, rows)
            if published:
                connection.execute(
                    update(self._table)
                    .where(self._table.c.id.in_(published))
                    .values(published_at=self._clock())
                )
        if outage is not None:
            raise outage
        return len(published)

    def _publish(
        self, connection: Connection, rows: Sequence[Row[Any]]
    ) -> tuple[list[int], BrokerError | None]:
        """Publish the rows (in one round trip when the publisher can); the ids published."""
        many = getattr(self._publisher, "publish_many", None)
        if many is not None and len(rows) > 1:
            try:
                many([(row.stream, _envelope(row)) for row in rows])
            except BrokerError as error:
                return [], error
            except Exception as error:  # noqa: BLE001 - one by one, to find the row at fault
                _logger().info("batch publish failed (%s); one row at a time", type(error).__name__)
            else:
                return [row.id for row in rows], None
        published: list[int] = []
        for row in rows:
            try:
                self._publisher.publish(row.stream, _envelope(row))
            except BrokerError as error:
                return published, error
            except Exception as error:  # noqa: BLE001 - any rejection counts against the row
                self._rejected(connection, row, error)
            else:
                published.append(row.id)
        return published, None

    def _lock_due_rows(self, connection: Connection) -> Sequence[Row[Any]]:
        table = self._table
        if self._sqlite:
            # A write, even of nothing, takes SQLite's write lock now: relays take turns.
            connection.execute(
                update(table).where(table.c.id < 0).values(attempts=table.c.attempts)
            )
        query = (
            select(table)
            .where(
                table.c.published_at.is_(None),
                table.c.dead_at.is_(None),
                table.c.next_attempt_at.is_(None) | (table.c.next_attempt_at <= self._clock()),
            )
            .order_by(table.c.id)
            .limit(self._batch)
        )
        if not self._sqlite:
            query = query.with_for_update(skip_locked=True)
        return connection.execute(query).all()

    def _rejected(self, connection: Connection, row: Row[Any], error: Exception) -> None:
        attempts = row.attempts + 1
        now = self._clock()
        message = f"{type(error).__qualname__}: {error}"[:_ERROR_LIMIT]
        values: dict[str, Any] = {"attempts": attempts, "last_error": message}
        if attempts >= self._max_attempts:
            values["dead_at"] = now
            _logger().error(
                "outbox row %s (%s to %s) is dead after %d attempts: %s",
                row.message_id,
                row.type,
                row.stream,
                attempts,
                type(error).__qualname__,
            )
        else:
            from datetime import timedelta

            values["next_attempt_at"] = now + timedelta(seconds=self._backoff.delay(attempts - 1))
            _logger().warning(
                "outbox row %s (%s to %s) was rejected (attempt %d of %d): %s",
                row.message_id,
                row.type,
                row.stream,
                attempts,
                self._max_attempts,
                type(error).__qualname__,
            )
        connection.execute(update(self._table).where(self._table.c.id == row.id).values(values))


def _envelope(row: Row[Any]) -> Envelope:
    return Envelope(
        type=row.type,
        data=row.data,
        message_id=row.message_id,
        schema_version=row.version,
        occurred_at=utc(row.occurred_at),
    )


def _logger() -> logging.Logger:
    import logging  # only when there is something to say

    return logging.getLogger(LOGGER)

"""The transactional outbox: routed events written with the aggregate change that caused them.

A message for another service must leave if, and only if, the change that caused it commits.
Publishing from a handler after `commit()` loses it when the process dies in between;
publishing before commits it even when the transaction then fails. So the
[`Outbox`][tactical.sqlalchemy.Outbox] writes each routed event as a row of the outbox table
in the very transaction that commits the aggregate, and an
[`OutboxRelay`][tactical.sqlalchemy.OutboxRelay] publishes committed rows afterwards.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    event,
)
from sqlalchemy.orm import registry

from tactical._aggregate import Aggregate

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from sqlalchemy import MetaData
    from sqlalchemy.orm import Session

    from tactical._envelope import Envelope
    from tactical._messages import Event, Message
    from tactical._serialization import MessageRegistry

__all__ = ["Outbox", "outbox_table", "utc"]

OUTBOX = "tactical_outbox"
"""The default name of the outbox table."""


def outbox_table(metadata: MetaData, name: str = OUTBOX) -> Table:
    """Define the outbox table in ``metadata`` (create it with your other tables).

    A row is pending until published (``published_at``) or given up (``dead_at``, with
    ``last_error``). Pending rows are found through a partial index, so published ones cost
    nothing but disk; delete old published rows whenever you like.

    Example:
        >>> from sqlalchemy import MetaData
        >>> table = outbox_table(MetaData())
        >>> sorted(column.name for column in table.columns)  # doctest: +NORMALIZE_WHITESPACE
        ['attempts', 'data', 'dead_at', 'id', 'last_error', 'message_id', 'next_attempt_at',
         'occurred_at', 'published_at', 'stream', 'type', 'version']
    """
    table = Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("message_id", String(256), nullable=False, unique=True),
        Column("stream", String(256), nullable=False),
        Column("type", String(256), nullable=False),
        Column("version", Integer, nullable=False),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("data", Text, nullable=False),
        Column("attempts", Integer, nullable=False, default=0),
        Column("next_attempt_at", DateTime(timezone=True), nullable=True),
        Column("last_error", Text, nullable=True),
        Column("published_at", DateTime(timezone=True), nullable=True),
        Column("dead_at", DateTime(timezone=True), nullable=True),
    )
    pending = (table.c.published_at.is_(None)) & (table.c.dead_at.is_(None))
    Index(
        f"{name}_pending",
        table.c.id,
        postgresql_where=pending,
        sqlite_where=pending,
    )
    return table


class _Row:
    """An outbox row as the session inserts it (mapped to each outbox table by a subclass)."""

    def __init__(self, **values: Any) -> None:
        for name, value in values.items():
            setattr(self, name, value)


class Outbox:
    """Writes routed events to the outbox table, in the transaction that commits them.

    Attach it to the sessions of your units of work (`sessions` wraps a session factory).
    Then, whenever a session commits, every event that an aggregate in it recorded, whose
    type is routed, becomes an outbox row in the same transaction: both commit, or neither.
    Its envelope (message id, time) is made then, once, so a row published twice is
    recognisably one message. `put` adds any message explicitly.

    Args:
        table: The outbox table (see [`outbox_table`][tactical.sqlalchemy.outbox_table]).
        registry: Writes messages as JSON; every routed type must be registered.
        routes: Which stream each event type goes to.

    Raises:
        RegistrationError: A routed type is not registered.

    Example:
        >>> from dataclasses import dataclass
        >>> from sqlalchemy import MetaData
        >>> from tactical import Event, MessageRegistry
        >>> from tactical.sqlalchemy import create_session_factory
        >>> @dataclass(frozen=True)
        ... class Allocated(Event):
        ...     orderid: str
        >>> outbox = Outbox(
        ...     outbox_table(MetaData()),
        ...     MessageRegistry([Allocated]),
        ...     {Allocated: "line_allocated"},
        ... )
        >>> sessions = outbox.sessions(create_session_factory("sqlite://"))
    """

    def __init__(
        self,
        table: Table,
        registry: MessageRegistry,
        routes: Mapping[type[Event], str],
    ) -> None:
        from tactical._exceptions import RegistrationError

        for event_type, stream in routes.items():
            if event_type not in registry:
                raise RegistrationError(
                    f"{event_type.__qualname__} is routed to {stream!r} but not registered"
                )
        self._table = table
        self._registry = registry
        self._routes = dict(routes)
        self._row = _mapped_row(table)

    @property
    def table(self) -> Table:
        """The outbox table."""
        return self._table

    def sessions(self, factory: Callable[[], Session]) -> Callable[[], Session]:
        """A session factory like ``factory`` whose sessions write routed events to the outbox."""
        return lambda: self.attach(factory())

    def attach(self, session: Session) -> Session:
        """Make ``session`` write routed events to the outbox whenever it commits."""
        event.listen(session, "before_commit", self._before_commit)
        return session

    def put(self, session: Session, stream: str, message: Message) -> Envelope:
        """Add a message for ``stream`` to the outbox; it is written when ``session`` commits.

        Raises:
            SerializationError: The message's type is not registered, or it does not match it.
        """
        envelope = self._registry.envelope(message)
        session.add(self._row_of(stream, envelope))
        return envelope

    def _before_commit(self, session: Session) -> None:
        # Runs before the commit's flush: the rows added here are inserted by that flush,
        # inside the transaction (after the unit of work took its write lock).
        for aggregate in _aggregates(session):
            for recorded in aggregate.events:
                stream = self._routes.get(type(recorded))
                if stream is not None:
                    session.add(self._row_of(stream, self._registry.envelope(recorded)))

    def _row_of(self, stream: str, envelope: Envelope) -> _Row:
        return self._row(
            message_id=envelope.message_id,
            stream=stream,
            type=envelope.type,
            version=envelope.schema_version,
            occurred_at=envelope.occurred_at or utc(),
            data=envelope.data,
            attempts=0,
        )


def _aggregates(session: Session) -> Iterable[Aggregate]:
    """The aggregates a session knows, loaded or new, each once."""
    seen: set[int] = set()
    for obj in (*session.identity_map.values(), *session.new):
        if isinstance(obj, Aggregate) and obj.events and id(obj) not in seen:
            seen.add(id(obj))
            yield obj


def _mapped_row(table: Table) -> type[_Row]:
    """A class of rows mapped to ``table``, one per outbox."""
    row = type(f"OutboxRow_{table.name}", (_Row,), {})
    registry().map_imperatively(row, table)
    return row


def utc(moment: datetime | None = None) -> datetime:
    """``moment`` (now by default) as an aware UTC datetime; naive ones are taken as UTC.

    SQLite returns the times it stores without their offset; they were stored in UTC.
    """
    if moment is None:
        return datetime.now(UTC)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

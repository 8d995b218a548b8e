"""The idempotent inbox: each inbound message has its effect once, however often it arrives.

Brokers deliver at least once: after a crash, a timeout or a replay, the same message comes
again. The [`Inbox`][tactical.sqlalchemy.Inbox] records the id of each message handled, in
the transaction that commits the handler's changes; a message whose id is recorded is
acknowledged without running the handler again. A handler that fails commits nothing, so
its message is not recorded and is handled again on its next delivery.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, DateTime, PrimaryKeyConstraint, String, Table, event, select
from sqlalchemy.orm import registry

from tactical.sqlalchemy._outbox import utc

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import Engine, MetaData
    from sqlalchemy.orm import Session

    from tactical._envelope import Envelope
    from tactical._messages import Message

__all__ = ["Inbox", "inbox_table"]

INBOX = "tactical_inbox"
"""The default name of the inbox table."""


def inbox_table(metadata: MetaData, name: str = INBOX) -> Table:
    """Define the inbox table in ``metadata``: one row per (consumer group, message id).

    Example:
        >>> from sqlalchemy import MetaData
        >>> [column.name for column in inbox_table(MetaData()).columns]
        ['consumer_group', 'message_id', 'handled_at']
    """
    return Table(
        name,
        metadata,
        Column("consumer_group", String(256), nullable=False),
        Column("message_id", String(256), nullable=False),
        Column("handled_at", DateTime(timezone=True), nullable=False),
        PrimaryKeyConstraint("consumer_group", "message_id"),
    )


class _Delivery:
    """The inbound message being handled in this thread (or task), for the sessions to record."""

    __slots__ = ("inbox", "message_id", "recorded")

    def __init__(self, inbox: Inbox, message_id: str) -> None:
        self.inbox = inbox
        self.message_id = message_id
        self.recorded = False


_current: contextvars.ContextVar[_Delivery | None] = contextvars.ContextVar(
    "tactical_inbox_delivery", default=None
)


class _Row:
    def __init__(self, **values: Any) -> None:
        for name, value in values.items():
            setattr(self, name, value)


class Inbox:
    """Handles each inbound message once per consumer group, whatever the redeliveries.

    Wrap the consumer's handler with `handler`, and attach the inbox to the sessions of the
    units of work that handler uses (`sessions` wraps a session factory). While the wrapped
    handler runs, the first commit of any such session also inserts the message's id into
    the inbox table: the handler's changes and the record commit together, or neither does.
    A message already recorded is skipped (and so acknowledged). Two consumers that handle
    one message at the same moment both run the handler, but only one commits: the other's
    insert violates the table's primary key, its transaction rolls back, and its next
    delivery finds the record.

    Args:
        table: The inbox table (see [`inbox_table`][tactical.sqlalchemy.inbox_table]).
        engine: The database holding it, to look up ids before handling.
        group: The consumer group whose messages these are (a service's name): one message
            id may be handled once by each group.

    Example:
        >>> from sqlalchemy import MetaData
        >>> from tactical.sqlalchemy import create_engine, create_session_factory
        >>> engine = create_engine("sqlite://")
        >>> inbox = Inbox(inbox_table(MetaData()), engine, group="allocation")
        >>> sessions = inbox.sessions(create_session_factory(engine))
        >>> handle = inbox.handler(lambda message, envelope: None)
        >>> engine.dispose()
    """

    def __init__(self, table: Table, engine: Engine, *, group: str) -> None:
        self._table = table
        self._engine = engine
        self._group = group
        self._row = type(f"InboxRow_{table.name}", (_Row,), {})
        registry().map_imperatively(self._row, table)
        self._pending_key = ("tactical.inbox", id(self))

    @property
    def table(self) -> Table:
        """The inbox table."""
        return self._table

    @property
    def group(self) -> str:
        """The consumer group this inbox records messages for."""
        return self._group

    def sessions(self, factory: Callable[[], Session]) -> Callable[[], Session]:
        """A session factory like ``factory`` whose sessions record the message being handled."""
        return lambda: self.attach(factory())

    def attach(self, session: Session) -> Session:
        """Make ``session``'s first commit during a wrapped handler record its message."""
        event.listen(session, "before_commit", self._before_commit)
        event.listen(session, "after_commit", self._after_commit)
        event.listen(session, "after_rollback", self._after_rollback)
        return session

    def handled(self, message_id: str) -> bool:
        """Whether the message with this id was handled (committed) by this group."""
        table = self._table
        query = select(table.c.message_id).where(
            table.c.consumer_group == self._group, table.c.message_id == message_id
        )
        with self._engine.connect() as connection:
            return connection.execute(query).first() is not None

    def handler(
        self, inner: Callable[[Message, Envelope], object]
    ) -> Callable[[Message, Envelope], object]:
        """Wrap a consumer's handler: skip messages already handled, record the others.

        Example:
            >>> from tactical import Consumer
            >>> handler = inbox.handler(
            ...     lambda message, envelope: bus.handle(message)
            ... )  # doctest: +SKIP
            >>> Consumer(subscription, handler, registry.message)  # doctest: +SKIP
        """

        def handle(message: Message, envelope: Envelope) -> object:
            if self.handled(envelope.message_id):
                return None
            token = _current.set(_Delivery(self, envelope.message_id))
            try:
                return inner(message, envelope)
            finally:
                _current.reset(token)

        return handle

    def _before_commit(self, session: Session) -> None:
        delivery = _current.get()
        if delivery is None or delivery.inbox is not self or delivery.recorded:
            return
        session.add(
            self._row(consumer_group=self._group, message_id=delivery.message_id, handled_at=utc())
        )
        session.info[self._pending_key] = delivery

    def _after_commit(self, session: Session) -> None:
        # Recorded only once the commit succeeded: a commit that fails (a conflict the bus
        # retries) rolls the row back, and the retry's commit must insert it again.
        delivery = session.info.pop(self._pending_key, None)
        if delivery is not None:
            delivery.recorded = True

    def _after_rollback(self, session: Session) -> None:
        session.info.pop(self._pending_key, None)

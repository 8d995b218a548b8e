"""Messages between services: the streams, the outbox and inbox tables, and dead letters.

Outbound, `Allocated` events go to the ``line_allocated`` stream through tactical's
transactional outbox: the unit of work's session writes them to ``tactical_outbox`` in the
transaction that allocates, and ``allocation relay`` publishes them. Inbound,
``change_batch_quantity`` entries are handled once each, whatever the redeliveries, thanks
to the ``tactical_inbox`` table. Both tables live in the service's metadata.

An event whose handler failed every attempt (a notification with no mail server) becomes a
`DeadLetter` in the outbox too, for the ``allocation:dead-letter`` stream: it is kept in the
database at once, and reaches Redis whenever a relay runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from allocation.adapters import orm
from allocation.domain import events
from tactical import Event, MessageRegistry, dead_letter_stream
from tactical.sqlalchemy import Outbox, inbox_table, outbox_table

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.orm import Session

__all__ = [
    "CHANGE_BATCH_QUANTITY",
    "CONSUMER_GROUP",
    "DEAD_LETTERS",
    "LINE_ALLOCATED",
    "DeadLetter",
    "OutboxDeadLetters",
    "inbox",
    "make_outbox",
    "outbox",
    "registry",
]

# --8<-- [start:streams]
CHANGE_BATCH_QUANTITY: Final = "change_batch_quantity"
"""The inbound stream: ``{"batchref", "qty"}`` entries of type ``ChangeBatchQuantity``."""
LINE_ALLOCATED: Final = "line_allocated"
"""The outbound stream: ``{"orderid", "sku", "qty", "batchref"}`` entries of type ``Allocated``."""
DEAD_LETTERS: Final = dead_letter_stream("allocation")
"""Where events whose handlers failed every attempt go, as `DeadLetter` entries."""
CONSUMER_GROUP: Final = "allocation"
"""The consumer group of the service on its inbound streams, and its inbox's group."""

outbox: Final = outbox_table(orm.metadata)
"""The outbox table, ``tactical_outbox``."""
inbox: Final = inbox_table(orm.metadata)
"""The inbox table, ``tactical_inbox``."""
# --8<-- [end:streams]


@dataclass(frozen=True)
class DeadLetter(Event):
    """An event that a handler failed to handle, every attempt; never the error's message.

    Attributes:
        type: The event's type name.
        data: The event's fields, as JSON.
        handler: The qualified name of the handler that failed.
        error: The type of the last error (its message may hold data: it is not kept).
    """

    type: str
    data: str
    handler: str
    error: str


# --8<-- [start:outbox]
registry: Final = MessageRegistry(
    [events.Allocated, events.Deallocated, events.OutOfStock, DeadLetter]
)
"""How the service's messages travel: as JSON, by type name."""


def make_outbox(stream_prefix: str = "") -> Outbox:
    """The outbox: `Allocated` events to ``<prefix>line_allocated``."""
    return Outbox(outbox, registry, {events.Allocated: stream_prefix + LINE_ALLOCATED})
    # --8<-- [end:outbox]


class OutboxDeadLetters:
    """A message bus's dead-letter hook that keeps each failed event in the outbox.

    Args:
        outbox: Where the dead letters are written.
        sessions: Sessions on the outbox's database.
        stream: The stream the relay publishes them to.
    """

    def __init__(
        self, outbox: Outbox, sessions: Callable[[], Session], stream: str = DEAD_LETTERS
    ) -> None:
        """Write dead letters for ``stream`` through ``outbox``, in sessions from ``sessions``."""
        self._outbox = outbox
        self._sessions = sessions
        self._stream = stream

    def __call__(self, event: Event, handler: str, error: Exception, /) -> None:
        """Write the dead letter of ``event``, which ``handler`` failed with ``error``."""
        letter = DeadLetter(
            type=type(event).__name__,
            data=registry.envelope(event).data,
            handler=handler,
            error=type(error).__qualname__,
        )
        with self._sessions() as session, session.begin():
            self._outbox.put(session, self._stream, letter)

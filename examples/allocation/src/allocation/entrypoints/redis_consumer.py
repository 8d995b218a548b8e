"""``allocation consume``: commands from other services, read from a Redis stream.

Entries of the ``change_batch_quantity`` stream carry the book's payload, ``{"batchref",
"qty"}``, in their ``data`` field, and ``type`` ``ChangeBatchQuantity``. Each becomes a
command for the message bus, parsed as HTTP bodies are (`allocation.entrypoints.payloads`).
tactical's `Consumer` runs the consumer group: an entry is acknowledged once its command
committed; one whose handling fails is retried, then dead-lettered; one that cannot become
the command (another type, a bad payload) is dead-lettered at once, to
``change_batch_quantity:dead-letter``. The inbox makes a redelivered entry a no-op.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from allocation import bootstrap
from allocation.adapters import messaging
from allocation.entrypoints import payloads
from tactical import Consumer, DeserializationError
from tactical.redis import RedisBroker

if TYPE_CHECKING:
    from allocation.config import Config
    from allocation.domain import commands
    from tactical import Envelope, Message

__all__ = ["ACCEPTED_TYPE", "consume", "decode"]

ACCEPTED_TYPE: Final = "ChangeBatchQuantity"
"""The one type of entry the inbound stream may hold."""


# --8<-- [start:decode]
def decode(envelope: Envelope) -> commands.ChangeBatchQuantity:
    """The command an inbound entry asks for.

    Raises:
        DeserializationError: The entry is of another type, or its payload is not
            ``{"batchref", "qty"}`` with a printable reference and a quantity from 0.

    Example:
        >>> from tactical import Envelope
        >>> decode(Envelope("ChangeBatchQuantity", '{"batchref": "b1", "qty": 5}', "m-1"))
        ChangeBatchQuantity(ref='b1', qty=5)
    """
    if envelope.type != ACCEPTED_TYPE:
        raise DeserializationError(
            f"this stream takes {ACCEPTED_TYPE} entries only",
            reason="unknown_type",
            type_name=envelope.type,
        )
    try:
        return payloads.change_batch_quantity(payloads.decode(envelope.data))
    except payloads.InvalidPayload as error:
        raise DeserializationError(
            str(error), reason="invalid_value", type_name=envelope.type
        ) from error
    # --8<-- [end:decode]


# --8<-- [start:consume]
def consume(config: Config, *, name: str, redis_url: str) -> None:
    """Handle the inbound stream until SIGTERM or SIGINT; the schema must exist.

    Args:
        config: The database and mail server of the service.
        name: This consumer's name in the group: stable across restarts (a host name), so
            that what it left pending comes back to it.
        redis_url: The Redis server.
    """
    service = bootstrap.from_config(config, create_schema=False, consumer=True)
    assert service.inbox is not None  # a consumer's service records what it handles
    broker = RedisBroker.from_url(redis_url, socket_connect_timeout=5, socket_timeout=30)
    subscription = broker.subscribe(
        config.stream_prefix + messaging.CHANGE_BATCH_QUANTITY, messaging.CONSUMER_GROUP, name
    )

    def handle(message: Message, envelope: Envelope) -> None:  # noqa: ARG001 - the consumer's shape
        service.bus.handle(message)

    consumer = Consumer(subscription, service.inbox.handler(handle), decode)
    try:
        with consumer.stop_on_signals():
            consumer.run()
    finally:
        subscription.close()
        broker.close()
        service.close()
    # --8<-- [end:consume]

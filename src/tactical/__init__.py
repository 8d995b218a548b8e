"""tactical: the tactical patterns of Domain-Driven Design, small, fast and fully typed.

Aggregates that record events, `Protocol` repositories and units of work, transactional
in-memory fakes, a message bus, retry with back-off, and `bootstrap` to wire it together.
Adapters live in `tactical.sqlalchemy` and `tactical.redis`; the testing kit in
`tactical.testing`.

The messaging names (serialization, brokers, the consumer) are imported on first use, so an
application that does not use them does not pay for their imports.
"""

from typing import TYPE_CHECKING

from tactical._aggregate import Aggregate, Entity
from tactical._bootstrap import Handlers, bootstrap
from tactical._bus import BoundHandler, DeadLetterHook, MessageBus, Middleware
from tactical._exceptions import (
    BootstrapError,
    BrokerError,
    ConcurrencyError,
    DeserializationError,
    NoHandlerError,
    PersistenceError,
    RegistrationError,
    RetryError,
    SerializationError,
    TacticalError,
    TransactionError,
)
from tactical._memory import InMemoryRepository, InMemoryStore, InMemoryUnitOfWork
from tactical._messages import Command, Event, Message
from tactical._repository import Repository, UnitOfWork
from tactical._retry import Backoff, Retrying, retry

if TYPE_CHECKING:
    from tactical._broker import (
        BatchPublisher,
        Broker,
        Entry,
        PendingEntry,
        Publisher,
        Subscription,
        dead_letter_stream,
    )
    from tactical._consumer import Consumer
    from tactical._envelope import Envelope
    from tactical._memory_broker import InMemoryBroker, InMemorySubscription
    from tactical._serialization import MessageRegistry

__all__ = [
    "Aggregate",
    "Backoff",
    "BatchPublisher",
    "BootstrapError",
    "BoundHandler",
    "Broker",
    "BrokerError",
    "Command",
    "ConcurrencyError",
    "Consumer",
    "DeadLetterHook",
    "DeserializationError",
    "Entity",
    "Entry",
    "Envelope",
    "Event",
    "Handlers",
    "InMemoryBroker",
    "InMemoryRepository",
    "InMemoryStore",
    "InMemorySubscription",
    "InMemoryUnitOfWork",
    "Message",
    "MessageBus",
    "MessageRegistry",
    "Middleware",
    "NoHandlerError",
    "PendingEntry",
    "PersistenceError",
    "Publisher",
    "RegistrationError",
    "Repository",
    "RetryError",
    "Retrying",
    "SerializationError",
    "Subscription",
    "TacticalError",
    "TransactionError",
    "UnitOfWork",
    "bootstrap",
    "dead_letter_stream",
    "retry",
]
__version__ = "0.1.0"

_LAZY = {
    "BatchPublisher": "tactical._broker",
    "Broker": "tactical._broker",
    "Consumer": "tactical._consumer",
    "Entry": "tactical._broker",
    "Envelope": "tactical._envelope",
    "InMemoryBroker": "tactical._memory_broker",
    "InMemorySubscription": "tactical._memory_broker",
    "MessageRegistry": "tactical._serialization",
    "PendingEntry": "tactical._broker",
    "Publisher": "tactical._broker",
    "Subscription": "tactical._broker",
    "dead_letter_stream": "tactical._broker",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tactical' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

"""tactical: the tactical patterns of Domain-Driven Design, small, fast and fully typed.

Aggregates that record events, `Protocol` repositories and units of work, transactional
in-memory fakes, a message bus, retry with back-off, and `bootstrap` to wire it together.
Adapters live in `tactical.sqlalchemy` and `tactical.redis`; the testing kit in
`tactical.testing`.
"""

from tactical._aggregate import Aggregate, Entity
from tactical._bootstrap import Handlers, bootstrap
from tactical._broker import (
    BatchPublisher,
    Broker,
    Entry,
    PendingEntry,
    Publisher,
    Subscription,
    dead_letter_stream,
)
from tactical._bus import BoundHandler, DeadLetterHook, MessageBus, Middleware
from tactical._consumer import Consumer
from tactical._envelope import Envelope
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
from tactical._memory_broker import InMemoryBroker, InMemorySubscription
from tactical._messages import Command, Event, Message
from tactical._repository import Repository, UnitOfWork
from tactical._retry import Backoff, Retrying, retry
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

"""tactical: the tactical patterns of Domain-Driven Design, small, fast and fully typed.

Aggregates that record events, `Protocol` repositories and units of work, transactional
in-memory fakes, a message bus, retry with back-off, and `bootstrap` to wire it together.
Adapters live in `tactical.sqlalchemy` and `tactical.redis`; the testing kit in
`tactical.testing`.
"""

from tactical._aggregate import Aggregate, Entity
from tactical._bootstrap import Handlers, bootstrap
from tactical._bus import BoundHandler, DeadLetterHook, MessageBus, Middleware
from tactical._exceptions import (
    BootstrapError,
    ConcurrencyError,
    NoHandlerError,
    RetryError,
    TacticalError,
    TransactionError,
)
from tactical._memory import InMemoryRepository, InMemoryStore, InMemoryUnitOfWork
from tactical._messages import Command, Event, Message
from tactical._repository import Repository, UnitOfWork
from tactical._retry import Backoff, Retrying, retry

__all__ = [
    "Aggregate",
    "Backoff",
    "BootstrapError",
    "BoundHandler",
    "Command",
    "ConcurrencyError",
    "DeadLetterHook",
    "Entity",
    "Event",
    "Handlers",
    "InMemoryRepository",
    "InMemoryStore",
    "InMemoryUnitOfWork",
    "Message",
    "MessageBus",
    "Middleware",
    "NoHandlerError",
    "Repository",
    "RetryError",
    "Retrying",
    "TacticalError",
    "TransactionError",
    "UnitOfWork",
    "bootstrap",
    "retry",
]
__version__ = "0.1.0"

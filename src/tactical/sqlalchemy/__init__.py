"""SQLAlchemy 2 persistence: a generic repository and a unit of work with optimistic locking.

Map aggregates imperatively (`registry.map_imperatively`; the root with
[`map_aggregate`][tactical.sqlalchemy.map_aggregate], which maps its version counter), build
units of work from a session factory, and handle conflicts by letting the message bus retry.
SQLite (a file, WAL, a busy timeout, ``BEGIN IMMEDIATE`` for writers) is the embedded
default; PostgreSQL is what production uses. Install the ``sqlalchemy`` extra.
"""

try:
    import sqlalchemy  # noqa: F401 - only checks that the extra is installed
except ImportError as error:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "tactical.sqlalchemy needs SQLAlchemy 2: pip install 'tactical[sqlalchemy]'"
    ) from error

from tactical.sqlalchemy._engine import (
    BUSY_TIMEOUT,
    configure_sqlite,
    create_engine,
    create_schema,
    create_session_factory,
)
from tactical.sqlalchemy._inbox import Inbox, inbox_table
from tactical.sqlalchemy._mapping import map_aggregate, version_column
from tactical.sqlalchemy._outbox import Outbox, outbox_table
from tactical.sqlalchemy._relay import OutboxRelay
from tactical.sqlalchemy._repository import SqlAlchemyRepository
from tactical.sqlalchemy._unit_of_work import SqlAlchemyUnitOfWork

__all__ = [
    "BUSY_TIMEOUT",
    "Inbox",
    "Outbox",
    "OutboxRelay",
    "SqlAlchemyRepository",
    "SqlAlchemyUnitOfWork",
    "configure_sqlite",
    "create_engine",
    "create_schema",
    "create_session_factory",
    "inbox_table",
    "map_aggregate",
    "outbox_table",
    "version_column",
]

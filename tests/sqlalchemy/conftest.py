"""The sample `Basket` mapped to tables, and databases to run it on: SQLite files and PostgreSQL.

The classes are mapped once per process (SQLAlchemy's mapping is global to a class), by a
session-scoped fixture that every fixture here depends on. Each test gets an empty database:
a SQLite file of its own, or the session's PostgreSQL database with its tables emptied.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, delete, event
from sqlalchemy.orm import registry, relationship

from tactical.sqlalchemy import (
    SqlAlchemyRepository,
    SqlAlchemyUnitOfWork,
    create_engine,
    create_schema,
    create_session_factory,
    map_aggregate,
    version_column,
)
from tactical.testing.sample import Basket, Item

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from sqlalchemy import Connection, Engine
    from sqlalchemy.orm import Session, sessionmaker


class BasketUnitOfWork(SqlAlchemyUnitOfWork):
    """The sample's `BasketUnitOfWork` on SQLAlchemy."""

    @property
    def baskets(self) -> SqlAlchemyRepository[Basket, str]:
        """The baskets of this transaction."""
        return self.repository(Basket)


class LockingBasketUnitOfWork(SqlAlchemyUnitOfWork):
    """Baskets locked as they are loaded: the pessimistic path."""

    @property
    def baskets(self) -> SqlAlchemyRepository[Basket, str]:
        """The baskets of this transaction, each locked by `get`."""
        return self.repository(Basket, for_update=True)


metadata = MetaData()
baskets = Table(
    "baskets",
    metadata,
    Column("ref", String(40), primary_key=True),
    Column("note", String(200), nullable=False),
    version_column(),
)
items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("basket_ref", ForeignKey("baskets.ref"), nullable=False),
    Column("sku", String(40), nullable=False),
    Column("qty", Integer, nullable=False),
)


@pytest.fixture(scope="session")
def mapped() -> MetaData:
    """Map `Basket` and `Item` (once per process); the tables' metadata."""
    mapper_registry = registry(metadata=metadata)
    mapper_registry.map_imperatively(Item, items)
    map_aggregate(
        mapper_registry,
        Basket,
        baskets,
        properties={
            "items": relationship(Item, order_by=items.c.id, cascade="all, delete-orphan"),
        },
    )
    return metadata


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """The URL of a SQLite file of this test's own."""
    return f"sqlite:///{tmp_path / 'tactical.db'}"


@pytest.fixture
def sqlite_engine(mapped: MetaData, sqlite_url: str) -> Iterator[Engine]:
    """A SQLite engine with tactical's settings, on a file holding the empty tables."""
    engine = create_engine(sqlite_url)
    create_schema(engine, mapped)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_engine(mapped: MetaData, postgres_url: str) -> Iterator[Engine]:
    """An engine on the session's PostgreSQL database, holding the tables."""
    engine = create_engine(postgres_url)
    create_schema(engine, mapped)
    yield engine
    engine.dispose()


def empty(engine: Engine) -> None:
    """Delete every row of the sample's tables."""
    with engine.begin() as connection:
        connection.execute(delete(items))
        connection.execute(delete(baskets))


@pytest.fixture
def postgres(postgres_engine: Engine) -> Engine:
    """The PostgreSQL engine, its tables empty."""
    empty(postgres_engine)
    return postgres_engine


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """Each backend in turn: a SQLite file, then PostgreSQL; the tables empty."""
    name = "sqlite_engine" if request.param == "sqlite" else "postgres"
    found: Engine = request.getfixturevalue(name)
    return found


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """A session factory on the backend of this test."""
    return create_session_factory(engine)


@pytest.fixture
def units_of_work(sessions: sessionmaker[Session]) -> Callable[[], BasketUnitOfWork]:
    """A factory of basket units of work on the backend of this test."""
    return lambda: BasketUnitOfWork(sessions)


@pytest.fixture
def postgres_units_of_work(postgres: Engine) -> Callable[[], BasketUnitOfWork]:
    """A factory of basket units of work on PostgreSQL only, its tables empty."""
    sessions = create_session_factory(postgres)
    return lambda: BasketUnitOfWork(sessions)


@pytest.fixture
def sqlite_units_of_work(sqlite_engine: Engine) -> Callable[[], BasketUnitOfWork]:
    """A factory of basket units of work on a SQLite file only."""
    sessions = create_session_factory(sqlite_engine)
    return lambda: BasketUnitOfWork(sessions)


class Statements:
    """Records the SQL an engine sends, as the driver receives it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sent: list[str] = []
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(
        self, conn: Connection, cursor: Any, statement: str, *args: Any, **kwargs: Any
    ) -> None:
        self.sent.append(statement)

    def writes(self) -> list[str]:
        """The statements that change data, in order."""
        verbs = ("INSERT", "UPDATE", "DELETE")
        return [sql for sql in self.sent if sql.lstrip().upper().startswith(verbs)]

    def close(self) -> None:
        """Stop recording."""
        event.remove(self.engine, "before_cursor_execute", self._record)


@pytest.fixture
def statements(engine: Engine) -> Iterator[Statements]:
    """What the engine of this test sends, from now on."""
    recorder = Statements(engine)
    yield recorder
    recorder.close()

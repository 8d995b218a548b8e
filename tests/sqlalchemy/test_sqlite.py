"""SQLite as the embedded default: a file in WAL mode, a busy timeout, BEGIN IMMEDIATE to write."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pytest
import sqlalchemy
from sqlalchemy import Column, Integer, MetaData, Table, inspect
from tests.sqlalchemy.conftest import BasketUnitOfWork, Statements

from tactical.sqlalchemy import (
    BUSY_TIMEOUT,
    configure_sqlite,
    create_engine,
    create_schema,
    create_session_factory,
)
from tactical.testing.sample import Basket

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy import Engine


def pragma(engine: Engine, statement: str) -> object:
    with engine.connect() as connection:
        return connection.exec_driver_sql(statement).scalar()


@pytest.fixture
def recorded(sqlite_engine: Engine) -> Iterator[Statements]:
    recorder = Statements(sqlite_engine)
    yield recorder
    recorder.close()


def test_every_connection_is_in_wal_mode(sqlite_engine: Engine) -> None:
    """The file is in write-ahead-log mode: readers and the writer do not block each other."""
    assert pragma(sqlite_engine, "PRAGMA journal_mode") == "wal"


def test_the_busy_timeout_is_five_seconds_by_default(sqlite_engine: Engine) -> None:
    """A connection waits up to BUSY_TIMEOUT (5 s) for the write lock."""
    assert BUSY_TIMEOUT == 5.0
    assert pragma(sqlite_engine, "PRAGMA busy_timeout") == 5000


def test_the_busy_timeout_can_be_chosen(sqlite_url: str) -> None:
    """create_engine(busy_timeout=...) sets it, in seconds."""
    engine = create_engine(sqlite_url, busy_timeout=0.25)
    try:
        assert pragma(engine, "PRAGMA busy_timeout") == 250
    finally:
        engine.dispose()


def test_synchronous_is_normal_and_foreign_keys_are_enforced(sqlite_engine: Engine) -> None:
    """synchronous=NORMAL (1), safe with WAL; foreign keys on, as other databases have them."""
    assert pragma(sqlite_engine, "PRAGMA synchronous") == 1
    assert pragma(sqlite_engine, "PRAGMA foreign_keys") == 1


def test_synchronous_can_be_chosen(sqlite_url: str) -> None:
    """create_engine(synchronous="FULL") syncs on every commit."""
    engine = create_engine(sqlite_url, synchronous="FULL")
    try:
        assert pragma(engine, "PRAGMA synchronous") == 2
    finally:
        engine.dispose()


def test_configure_sqlite_refuses_other_databases_and_bad_settings(sqlite_url: str) -> None:
    """configure_sqlite() checks that it has a SQLite engine and sensible settings."""
    engine = sqlalchemy.create_engine("postgresql+psycopg://nobody@127.0.0.1/none")
    sqlite = sqlalchemy.create_engine(sqlite_url)
    try:
        with pytest.raises(ValueError, match="SQLite"):
            configure_sqlite(engine)
        with pytest.raises(ValueError, match="busy_timeout"):
            configure_sqlite(sqlite, busy_timeout=-1)
        with pytest.raises(ValueError, match="synchronous"):
            configure_sqlite(sqlite, synchronous="SOMETIMES")  # type: ignore[arg-type]
    finally:
        engine.dispose()
        sqlite.dispose()


def test_a_writing_unit_of_work_takes_the_write_lock_with_begin_immediate(
    sqlite_engine: Engine, recorded: Statements
) -> None:
    """The first statement of a unit of work that writes is BEGIN IMMEDIATE, before any write."""
    with BasketUnitOfWork(create_session_factory(sqlite_engine)) as uow:
        uow.baskets.add(Basket("b1"))
        assert recorded.sent == []
        uow.commit()
    assert recorded.sent[0] == "BEGIN IMMEDIATE"
    assert recorded.sent[1].startswith("INSERT INTO baskets")
    assert "BEGIN" not in recorded.sent[1:]


def test_a_reading_unit_of_work_takes_no_lock_and_writes_nothing(
    sqlite_engine: Engine, recorded: Statements
) -> None:
    """A unit of work that only reads begins no transaction: each load is one statement."""
    sessions = create_session_factory(sqlite_engine)
    with BasketUnitOfWork(sessions) as uow:
        uow.baskets.add(Basket("b1"))
        uow.commit()
    recorded.sent.clear()
    with BasketUnitOfWork(sessions) as uow:
        assert uow.baskets.get("b1") is not None
        uow.commit()
    assert len(recorded.sent) == 1
    assert recorded.sent[0].startswith("SELECT")


def test_get_for_update_takes_the_write_lock_before_reading(
    sqlite_engine: Engine, recorded: Statements
) -> None:
    """get(for_update=True) on SQLite is BEGIN IMMEDIATE, then the load: no one writes between."""
    with BasketUnitOfWork(create_session_factory(sqlite_engine)) as uow:
        assert uow.baskets.get("b1", for_update=True) is None
    assert recorded.sent[0] == "BEGIN IMMEDIATE"
    assert recorded.sent[1].startswith("SELECT")


def test_other_connections_begin_ordinary_transactions(
    sqlite_engine: Engine, recorded: Statements
) -> None:
    """Outside units of work, engine.begin() is one transaction (a plain BEGIN), as usual."""
    with sqlite_engine.begin() as connection:
        connection.exec_driver_sql("SELECT 1")
    assert recorded.sent == ["BEGIN", "SELECT 1"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_processes_starting_together_can_all_create_the_schema(
    backend: str, sqlite_url: str, request: pytest.FixtureRequest, unique_name: str
) -> None:
    """Four creators released together all succeed, and the tables exist once."""
    url = sqlite_url if backend == "sqlite" else request.getfixturevalue("postgres_url")
    metadata = MetaData()
    names = [f"{unique_name}_{n}".replace("-", "_") for n in range(3)]
    for name in names:
        Table(name, metadata, Column("id", Integer, primary_key=True))
    engines = [create_engine(url) for _ in range(4)]
    start = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def create(engine: Engine) -> None:
        start.wait()
        try:
            create_schema(engine, metadata)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=create, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert set(names) <= set(inspect(engines[0]).get_table_names())
    finally:
        with engines[0].begin() as connection:
            metadata.drop_all(connection)
        for engine in engines:
            engine.dispose()

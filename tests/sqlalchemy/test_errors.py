"""Driver errors never reach user code: conflicts are ConcurrencyError, the rest PersistenceError.

Each conflict is produced for real on its database (stale version, serialization failure,
deadlock, lock timeout, "database is locked", a concurrently inserted key), and the driver's
exception stays chained as ``__cause__``. The classification is also checked on the drivers'
exception types directly.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm.exc import StaleDataError
from tests.sqlalchemy.conftest import BasketUnitOfWork, LockingBasketUnitOfWork
from tests.sqlalchemy.test_concurrency import TIMEOUT, Writer, hold_after_flush, seed

from tactical import ConcurrencyError, PersistenceError
from tactical.sqlalchemy import create_engine, create_session_factory
from tactical.sqlalchemy._errors import is_conflict, translate, unique_violation
from tactical.testing.sample import Basket, Item

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from sqlalchemy import Engine


def wrapped(orig: Exception) -> sa_exc.DBAPIError:
    """A driver error as SQLAlchemy raises it."""
    return sa_exc.OperationalError("UPDATE ...", {}, orig)


def sqlite_error(kind: type[sqlite3.Error], message: str, code: int) -> sqlite3.Error:
    error = kind(message)
    error.sqlite_errorcode = code
    return error


CONFLICTS = [
    pytest.param(StaleDataError("0 were matched"), id="stale-data"),
    pytest.param(wrapped(psycopg.errors.SerializationFailure("x")), id="postgres-40001"),
    pytest.param(wrapped(psycopg.errors.DeadlockDetected("x")), id="postgres-40P01"),
    pytest.param(wrapped(psycopg.errors.LockNotAvailable("x")), id="postgres-55P03"),
    pytest.param(wrapped(sqlite_error(sqlite3.OperationalError, "locked", 5)), id="sqlite-busy"),
    pytest.param(
        wrapped(sqlite_error(sqlite3.OperationalError, "locked", 517)), id="sqlite-busy-snapshot"
    ),
    pytest.param(wrapped(sqlite_error(sqlite3.OperationalError, "locked", 6)), id="sqlite-locked"),
]
NOT_CONFLICTS = [
    pytest.param(wrapped(psycopg.errors.UniqueViolation("x")), id="postgres-unique"),
    pytest.param(wrapped(psycopg.errors.NotNullViolation("x")), id="postgres-not-null"),
    pytest.param(wrapped(psycopg.OperationalError("connection refused")), id="postgres-down"),
    pytest.param(
        wrapped(sqlite_error(sqlite3.IntegrityError, "UNIQUE constraint failed", 2067)),
        id="sqlite-unique",
    ),
    pytest.param(
        wrapped(sqlite_error(sqlite3.OperationalError, "disk I/O error", 10)), id="sqlite-io"
    ),
]


@pytest.mark.parametrize("error", CONFLICTS)
def test_conflicts_translate_to_concurrency_error(error: Exception) -> None:
    """Stale data, 40001, 40P01, 55P03 and SQLITE_BUSY/LOCKED are conflicts, worth a retry."""
    assert is_conflict(error)
    assert isinstance(translate(error), ConcurrencyError)


@pytest.mark.parametrize("error", NOT_CONFLICTS)
def test_other_driver_errors_translate_to_persistence_error(error: Exception) -> None:
    """Every other driver error (a unique violation too, by itself) is a PersistenceError."""
    assert not is_conflict(error)
    assert isinstance(translate(error), PersistenceError)


def test_errors_that_are_not_the_databases_are_left_alone() -> None:
    """A bug (a TypeError, a mapping error) is not translated: it propagates unchanged."""
    assert translate(TypeError("bug")) is None
    assert translate(sa_exc.InvalidRequestError("bad mapping")) is None


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (wrapped(psycopg.errors.UniqueViolation("x")), True),
        (wrapped(sqlite_error(sqlite3.IntegrityError, "UNIQUE constraint failed", 1555)), True),
        (wrapped(psycopg.errors.ForeignKeyViolation("x")), False),
        (
            wrapped(sqlite_error(sqlite3.IntegrityError, "FOREIGN KEY constraint failed", 787)),
            False,
        ),
    ],
)
def test_unique_violations_are_recognised(error: Exception, expected: bool) -> None:
    """Unique and primary key violations are told apart from other constraint violations."""
    assert unique_violation(error) is expected


def test_a_concurrently_inserted_aggregate_is_a_concurrency_error(
    units_of_work: Callable[[], BasketUnitOfWork],
) -> None:
    """B inserts a key while A's insert of it is pending; A commits; B gets ConcurrencyError."""
    flushed, release = threading.Event(), threading.Event()

    def insert_first() -> None:
        with units_of_work() as uow:
            uow.baskets.add(Basket("b1", note="first"))
            hold_after_flush(uow, flushed, release)
            uow.commit()

    first = Writer(insert_first)
    first.start()
    assert flushed.wait(TIMEOUT)
    with units_of_work() as b:
        b.baskets.add(Basket("b1", note="second"))
        second = Writer(b.commit)
        second.start()
        release.set()
        assert first.finish() is None
        conflict = second.finish()
    assert isinstance(conflict, ConcurrencyError)
    assert (conflict.aggregate_type, conflict.key) == (Basket, "b1")
    assert unique_violation(conflict.__cause__ or conflict)
    with units_of_work() as uow:
        stored = uow.baskets.get("b1")
        assert stored is not None
        assert stored.note == "first"


def test_a_constraint_violation_is_a_persistence_error_and_not_retried(
    units_of_work: Callable[[], BasketUnitOfWork],
) -> None:
    """A NOT NULL violation raises PersistenceError, with the driver's IntegrityError chained."""
    basket = Basket("b1")
    basket.note = None  # type: ignore[assignment]
    with units_of_work() as uow:
        uow.baskets.add(basket)
        with pytest.raises(PersistenceError) as raised:
            uow.commit()
    assert isinstance(raised.value.__cause__, sa_exc.IntegrityError)


def test_a_unique_violation_that_is_not_the_aggregates_key_is_a_persistence_error(
    units_of_work: Callable[[], BasketUnitOfWork],
) -> None:
    """A duplicate key in a child table, on a new aggregate, is no conflict: PersistenceError."""
    seed(units_of_work)
    with units_of_work() as uow:
        existing = uow.baskets.get("b1")
        assert existing is not None
        taken = existing.items[0].id  # type: ignore[attr-defined]
    clash = Item("LAMP", 1)
    clash.id = taken  # type: ignore[attr-defined]
    with units_of_work() as uow:
        uow.baskets.add(Basket("b2", items=[clash]))
        with pytest.raises(PersistenceError) as raised:
            uow.commit()
    assert unique_violation(raised.value.__cause__ or raised.value)


def test_postgresql_deadlock_is_a_concurrency_error(postgres_url: str, postgres: Engine) -> None:
    """Two units of work lock two baskets in opposite orders: the victim's 40P01 is translated."""
    engine = create_engine(postgres_url, connect_args={"options": "-c deadlock_timeout=50ms"})
    sessions = create_session_factory(engine)
    try:
        for ref in ("b1", "b2"):
            with BasketUnitOfWork(sessions) as uow:
                uow.baskets.add(Basket(ref))
                uow.commit()
        with LockingBasketUnitOfWork(sessions) as a, LockingBasketUnitOfWork(sessions) as b:
            a.baskets.get("b1")
            b.baskets.get("b2")
            crossing = Writer(lambda: a.baskets.get("b2"))
            crossing.start()
            errors: list[BaseException] = []
            try:
                b.baskets.get("b1")
            except ConcurrencyError as error:
                errors.append(error)
            if (error_a := crossing.finish()) is not None:
                errors.append(error_a)
        assert len(errors) == 1
        assert isinstance(errors[0], ConcurrencyError)
        orig = getattr(errors[0].__cause__, "orig", None)
        assert getattr(orig, "sqlstate", None) == "40P01"
    finally:
        engine.dispose()


def test_postgresql_lock_timeout_is_a_concurrency_error(
    postgres_url: str, postgres: Engine
) -> None:
    """get(for_update) that waits past lock_timeout raises ConcurrencyError (55P03)."""
    engine = create_engine(postgres_url, connect_args={"options": "-c lock_timeout=50ms"})
    sessions = create_session_factory(engine)
    try:
        with BasketUnitOfWork(sessions) as uow:
            uow.baskets.add(Basket("b1"))
            uow.commit()
        with (
            LockingBasketUnitOfWork(sessions) as holder,
            LockingBasketUnitOfWork(sessions) as waiter,
        ):
            assert holder.baskets.get("b1") is not None
            with pytest.raises(ConcurrencyError) as raised:
                waiter.baskets.get("b1")
        orig = getattr(raised.value.__cause__, "orig", None)
        assert getattr(orig, "sqlstate", None) == "55P03"
    finally:
        engine.dispose()


@pytest.mark.parametrize("attempt", ["get for update", "commit"])
def test_sqlite_database_is_locked_is_a_concurrency_error(
    sqlite_url: str, sqlite_engine: Engine, attempt: str
) -> None:
    """Waiting for SQLite's write lock past the busy timeout raises ConcurrencyError."""
    impatient = create_engine(sqlite_url, busy_timeout=0.05)
    try:
        with BasketUnitOfWork(create_session_factory(sqlite_engine)) as uow:
            uow.baskets.add(Basket("b1"))
            uow.commit()
        with LockingBasketUnitOfWork(create_session_factory(sqlite_engine)) as holder:
            assert holder.baskets.get("b1") is not None
            waiter = BasketUnitOfWork(create_session_factory(impatient))
            with waiter, pytest.raises(ConcurrencyError) as raised:  # noqa: PT012 - the attempt
                if attempt == "commit":
                    basket = waiter.baskets.get("b1")
                    assert basket is not None
                    basket.change_note("mine")
                    waiter.commit()
                else:
                    waiter.baskets.get("b1", for_update=True)
        orig: Any = getattr(raised.value.__cause__, "orig", None)
        assert isinstance(orig, sqlite3.OperationalError)
        assert "database is locked" in str(orig)
    finally:
        impatient.dispose()


def test_an_unreachable_database_is_a_persistence_error(tmp_path: Path, mapped: object) -> None:
    """A SQLite file that cannot be opened raises PersistenceError when the block is entered."""
    engine = create_engine(f"sqlite:///{tmp_path / 'missing' / 'tactical.db'}")
    try:
        with pytest.raises(PersistenceError), BasketUnitOfWork(create_session_factory(engine)):
            pass
    finally:
        engine.dispose()


def test_an_unreachable_postgresql_is_a_persistence_error(mapped: object) -> None:
    """A PostgreSQL server that refuses connections raises PersistenceError, not psycopg's error."""
    engine = create_engine(
        "postgresql+psycopg://postgres@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
    )
    try:
        with (
            BasketUnitOfWork(create_session_factory(engine)) as uow,
            pytest.raises(PersistenceError),
        ):
            uow.baskets.get("b1")
    finally:
        engine.dispose()

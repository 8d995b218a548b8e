"""Two writers in fixed orderings, on SQLite and PostgreSQL (READ COMMITTED): who wins, who retries.

Each ordering is forced with events, never with sleeps: the first writer flushes its changes
and then waits, inside its transaction, until the test releases it (an ``after_flush`` hook),
so its rows (PostgreSQL) or the database (SQLite) stay locked while the second writer works.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.orm.exc import StaleDataError
from tests.sqlalchemy.conftest import BasketUnitOfWork, LockingBasketUnitOfWork

from tactical import Command, ConcurrencyError, bootstrap
from tactical.sqlalchemy import create_session_factory
from tactical.testing.sample import Basket, Item

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import Engine

TIMEOUT = 30  # seconds; reached only when something deadlocks


def seed(units_of_work: Callable[[], BasketUnitOfWork]) -> None:
    with units_of_work() as uow:
        uow.baskets.add(Basket("b1", note="new", items=[Item("LAMP", 1), Item("DESK", 1)]))
        uow.commit()


def stored(units_of_work: Callable[[], BasketUnitOfWork]) -> tuple[str, dict[str, int], int]:
    with units_of_work() as uow:
        basket = uow.baskets.get("b1")
        assert basket is not None
        return basket.note, {item.sku: item.qty for item in basket.items}, basket.version


def change(kind: str, basket: Basket, value: int) -> None:
    """A root change (the note) or a child-only change (the quantity of LAMP)."""
    if kind == "root":
        basket.change_note(f"note-{value}")
    else:
        basket.set_qty("LAMP", value)


class Writer(threading.Thread):
    """Runs ``work`` in a thread of its own and keeps its exception."""

    def __init__(self, work: Callable[[], object]) -> None:
        super().__init__(daemon=True)
        self.work = work
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.work()
        except BaseException as error:
            self.error = error

    def finish(self) -> BaseException | None:
        self.join(TIMEOUT)
        assert not self.is_alive(), "the writer is stuck"
        return self.error


def hold_after_flush(
    uow: BasketUnitOfWork, flushed: threading.Event, release: threading.Event
) -> None:
    """Make ``uow`` wait in its transaction, after writing and before committing."""

    def hold(*_: Any) -> None:
        flushed.set()
        assert release.wait(TIMEOUT)

    event.listen(uow.session, "after_flush", hold)


@pytest.mark.parametrize(("first", "second"), [("root", "root"), ("child", "child")])
def test_a_writer_that_read_before_another_committed_conflicts(
    units_of_work: Callable[[], BasketUnitOfWork], first: str, second: str
) -> None:
    """B reads while A's write is pending; A commits; B's commit raises ConcurrencyError."""
    seed(units_of_work)
    flushed, release = threading.Event(), threading.Event()

    def write_first() -> None:
        with units_of_work() as uow:
            basket = uow.baskets.get("b1")
            assert basket is not None
            change(first, basket, 7)
            hold_after_flush(uow, flushed, release)
            uow.commit()

    writer_a = Writer(write_first)
    writer_a.start()
    assert flushed.wait(TIMEOUT)
    with units_of_work() as b:
        basket = b.baskets.get("b1")
        assert basket is not None
        assert basket.version == 1, "a reader must see the committed state, unblocked"
        change(second, basket, 9)
        writer_b = Writer(b.commit)
        writer_b.start()
        release.set()
        assert writer_a.finish() is None
        conflict = writer_b.finish()
    assert isinstance(conflict, ConcurrencyError)
    assert (conflict.aggregate_type, conflict.key) == (Basket, "b1")
    assert isinstance(conflict.__cause__, StaleDataError)
    expected = (
        ("note-7", {"LAMP": 1, "DESK": 1}) if first == "root" else ("new", {"LAMP": 7, "DESK": 1})
    )
    assert stored(units_of_work) == (*expected, 2)


def test_a_writer_that_read_after_another_committed_succeeds(
    units_of_work: Callable[[], BasketUnitOfWork],
) -> None:
    """Child-only changes in sequence: both are kept, and each bumps the version."""
    seed(units_of_work)
    for qty in (5, 6):
        with units_of_work() as uow:
            basket = uow.baskets.get("b1")
            assert basket is not None
            change("child", basket, qty)
            uow.commit()
    assert stored(units_of_work) == ("new", {"LAMP": 6, "DESK": 1}, 3)


def test_for_update_makes_the_second_writer_wait_instead_of_conflicting(
    sessions: Any, units_of_work: Callable[[], BasketUnitOfWork]
) -> None:
    """With get(for_update), B waits for A's lock, then reads A's change: no conflict, no loss."""
    seed(units_of_work)
    locked, release = threading.Event(), threading.Event()

    def write(kind: str, value: int, signal: threading.Event | None) -> None:
        with LockingBasketUnitOfWork(sessions) as uow:
            basket = uow.baskets.get("b1")
            assert basket is not None
            if signal is not None:
                signal.set()
                assert release.wait(TIMEOUT)
            change(kind, basket, value)
            uow.commit()

    writer_a = Writer(lambda: write("child", 7, locked))
    writer_a.start()
    assert locked.wait(TIMEOUT)
    writer_b = Writer(lambda: write("root", 9, None))
    writer_b.start()
    release.set()
    assert writer_a.finish() is None
    assert writer_b.finish() is None
    assert stored(units_of_work) == ("note-9", {"LAMP": 7, "DESK": 1}, 3)


@dataclass(frozen=True)
class Rename(Command):
    ref: str
    note: str


def test_the_bus_retries_a_conflicting_command_in_a_fresh_transaction(
    units_of_work: Callable[[], BasketUnitOfWork],
) -> None:
    """A command whose commit conflicts is re-run by the bus, on fresh data, and succeeds."""
    seed(units_of_work)
    attempts: list[int] = []

    def rename(command: Rename, uow: BasketUnitOfWork) -> None:
        with uow:
            basket = uow.baskets.get(command.ref)
            assert basket is not None
            attempts.append(basket.version)
            if len(attempts) == 1:  # someone else commits meanwhile
                with units_of_work() as other:
                    theirs = other.baskets.get(command.ref)
                    assert theirs is not None
                    change("child", theirs, 5)
                    other.commit()
            basket.change_note(command.note)
            uow.commit()

    bus = bootstrap(uow=units_of_work, handlers={Rename: rename}, sleep=lambda _: None)
    bus.handle(Rename("b1", "gift"))
    assert attempts == [1, 2]
    assert stored(units_of_work) == ("gift", {"LAMP": 5, "DESK": 1}, 3)


def test_postgresql_runs_at_read_committed(postgres: Engine) -> None:
    """The PostgreSQL tests run at READ COMMITTED: the version check needs nothing stronger."""
    with postgres.connect() as connection:
        level = connection.execute(text("SHOW transaction_isolation")).scalar()
    assert level == "read committed"


def test_postgresql_repeatable_read_conflicts_are_concurrency_errors(
    postgres: Engine, postgres_units_of_work: Callable[[], BasketUnitOfWork]
) -> None:
    """Under REPEATABLE READ, PostgreSQL's serialization failure (40001) is a ConcurrencyError."""
    units_of_work = postgres_units_of_work
    seed(units_of_work)
    repeatable = postgres.execution_options(isolation_level="REPEATABLE READ")
    sessions = create_session_factory(repeatable)

    with BasketUnitOfWork(sessions) as a:
        mine = a.baskets.get("b1")
        assert mine is not None
        with units_of_work() as b:
            theirs = b.baskets.get("b1")
            assert theirs is not None
            change("child", theirs, 5)
            b.commit()
        change("child", mine, 6)
        with pytest.raises(ConcurrencyError) as raised:
            a.commit()
    orig = getattr(raised.value.__cause__, "orig", None)
    assert getattr(orig, "sqlstate", None) == "40001"
    assert stored(units_of_work) == ("new", {"LAMP": 5, "DESK": 1}, 2)

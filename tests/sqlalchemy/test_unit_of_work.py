"""What the SQLAlchemy unit of work does beyond the contract: its SQL, its session, its misuse."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select
from tests.sqlalchemy.conftest import BasketUnitOfWork, baskets

from tactical import ConcurrencyError, TransactionError
from tactical.testing.sample import Basket, Item

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.orm import Session, sessionmaker
    from tests.sqlalchemy.conftest import Statements


def seed(units_of_work: Callable[[], BasketUnitOfWork]) -> None:
    with units_of_work() as uow:
        uow.baskets.add(Basket("b1", note="new", items=[Item("LAMP", 1), Item("DESK", 2)]))
        uow.commit()


def test_a_unit_of_work_that_only_reads_writes_nothing(
    units_of_work: Callable[[], BasketUnitOfWork], statements: Statements
) -> None:
    """Loading an aggregate, reading it all and committing sends no INSERT, UPDATE or DELETE."""
    seed(units_of_work)
    statements.sent.clear()
    with units_of_work() as uow:
        basket = uow.baskets.get("b1")
        assert basket is not None
        assert [item.qty for item in basket.items] == [1, 2]
        basket.change_note("new")  # the same value: no net change
        uow.commit()
    assert statements.writes() == []


def test_a_child_only_change_updates_the_root_row_with_the_version_check(
    units_of_work: Callable[[], BasketUnitOfWork], statements: Statements
) -> None:
    """Changing only an item updates the basket's version, in an UPDATE that checks it."""
    seed(units_of_work)
    statements.sent.clear()
    with units_of_work() as uow:
        basket = uow.baskets.get("b1")
        assert basket is not None
        basket.set_qty("LAMP", 5)
        uow.commit()
    root, child = statements.writes()
    assert root.startswith("UPDATE baskets SET version=")
    assert "baskets.version = " in root
    assert child.startswith("UPDATE items SET qty=")


def test_get_loads_the_whole_aggregate_in_one_statement(
    units_of_work: Callable[[], BasketUnitOfWork], statements: Statements
) -> None:
    """The root and its items come in one SELECT, and stay readable after the block."""
    seed(units_of_work)
    statements.sent.clear()
    with units_of_work() as uow:
        basket = uow.baskets.get("b1")
    assert len(statements.sent) == 1
    assert basket is not None
    assert [(item.sku, item.qty) for item in basket.items] == [("LAMP", 1), ("DESK", 2)]
    assert len(statements.sent) == 1


def test_find_loads_by_a_condition_and_keeps_one_object_per_key(
    units_of_work: Callable[[], BasketUnitOfWork],
) -> None:
    """find() returns the aggregate meeting a condition: the same object get() returns."""
    seed(units_of_work)
    with units_of_work() as uow:
        found = uow.baskets.find(baskets.c.note == "new")
        assert found is not None
        assert uow.baskets.get("b1") is found
        assert uow.baskets.find(baskets.c.note == "old") is None


def test_get_for_update_of_an_aggregate_already_loaded_returns_it(
    units_of_work: Callable[[], BasketUnitOfWork],
) -> None:
    """Within a transaction, get(for_update=True) returns the object already loaded."""
    seed(units_of_work)
    with units_of_work() as uow:
        basket = uow.baskets.get("b1")
        assert uow.baskets.get("b1", for_update=True) is basket


def test_adding_an_aggregate_loaded_by_another_unit_of_work_conflicts(
    units_of_work: Callable[[], BasketUnitOfWork],
) -> None:
    """add() of an aggregate that exists (loaded elsewhere) inserts it again: ConcurrencyError."""
    seed(units_of_work)
    with units_of_work() as uow:
        loaded = uow.baskets.get("b1")
    with units_of_work() as uow:
        assert loaded is not None
        uow.baskets.add(loaded)
        with pytest.raises(ConcurrencyError) as raised:
            uow.commit()
    assert (raised.value.aggregate_type, raised.value.key) == (Basket, "b1")


def test_units_of_work_do_not_nest(units_of_work: Callable[[], BasketUnitOfWork]) -> None:
    """Entering a unit of work that is open raises TransactionError."""
    uow = units_of_work()
    with uow, pytest.raises(TransactionError), uow:
        pass


def test_the_session_and_repositories_exist_only_inside_the_block(
    units_of_work: Callable[[], BasketUnitOfWork],
) -> None:
    """session, repository() and a repository kept from the block raise outside it."""
    uow = units_of_work()
    with pytest.raises(TransactionError):
        uow.session  # noqa: B018 - the property raises
    with pytest.raises(TransactionError):
        uow.repository(Basket)
    with uow:
        kept = uow.baskets
        assert uow.session.scalar(select(baskets.c.ref)) is None
    with pytest.raises(TransactionError):
        kept.get("b1")
    with pytest.raises(TransactionError):
        kept.add(Basket("b2"))


def test_a_repository_is_the_same_within_a_transaction(
    units_of_work: Callable[[], BasketUnitOfWork],
) -> None:
    """repository(cls) returns one repository per class and options, per transaction."""
    with units_of_work() as uow:
        assert uow.repository(Basket) is uow.baskets
        assert uow.repository(Basket, for_update=True) is not uow.baskets


def test_the_units_of_work_session_is_the_factorys(sessions: sessionmaker[Session]) -> None:
    """The session comes from the factory; the unit of work turns autoflush off."""
    with BasketUnitOfWork(sessions) as uow:
        assert uow.session.bind is sessions.kw["bind"]
        assert uow.session.autoflush is False
        assert uow.session.expire_on_commit is False

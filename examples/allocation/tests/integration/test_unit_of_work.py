"""The SQL unit of work of the allocation service, on a SQLite file and on PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select

from allocation.adapters import orm
from allocation.adapters.unit_of_work import SqlUnitOfWork
from allocation.domain.model import Batch, OrderLine, Product
from tactical import ConcurrencyError

if TYPE_CHECKING:
    from sqlalchemy import Engine, Table
    from sqlalchemy.orm import Session, sessionmaker


def seed(sessions: sessionmaker[Session], sku: str, *batches: tuple[str, int, date | None]) -> None:
    with SqlUnitOfWork(sessions) as uow:
        uow.products.add(Product(sku, [Batch(ref, sku, qty, eta) for ref, qty, eta in batches]))
        uow.commit()


def count(engine: Engine, table: Table) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_product_round_trips_with_its_batches_and_allocations(
    sessions: sessionmaker[Session],
) -> None:
    """What one unit of work commits, the next reads back whole: batches, etas, allocations."""
    seed(sessions, "LAMP", ("b1", 10, None), ("b2", 20, date(2024, 3, 15)))
    with SqlUnitOfWork(sessions) as uow:
        product = uow.products.get("LAMP")
        assert product is not None
        assert product.allocate(OrderLine("o1", "LAMP", 4)) == "b1"
        uow.commit()
    with SqlUnitOfWork(sessions) as uow:
        product = uow.products.get("LAMP")
        assert product is not None
        assert [(b.reference, b.eta, b.available_quantity) for b in product.batches] == [
            ("b1", None, 6),
            ("b2", date(2024, 3, 15), 20),
        ]
        assert product.version == 2


# --8<-- [start:rolled_back]
def test_work_that_is_not_committed_is_rolled_back(sessions: sessionmaker[Session]) -> None:
    """Leaving the block without `commit` discards the changes."""
    seed(sessions, "LAMP", ("b1", 10, None))
    with SqlUnitOfWork(sessions) as uow:
        product = uow.products.get("LAMP")
        assert product is not None
        product.allocate(OrderLine("o1", "LAMP", 4))
    with SqlUnitOfWork(sessions) as uow:
        product = uow.products.get("LAMP")
        assert product is not None
        assert product.batches[0].available_quantity == 10
    # --8<-- [end:rolled_back]


def test_get_by_batchref_finds_the_product_that_owns_the_batch(
    sessions: sessionmaker[Session],
) -> None:
    """The lookup by batch reference returns the owning product, loaded whole, or None."""
    seed(sessions, "LAMP", ("b1", 10, None), ("b2", 10, None))
    seed(sessions, "TABLE", ("b3", 10, None))
    with SqlUnitOfWork(sessions) as uow:
        found = uow.products.get_by_batchref("b3")
        assert found is not None
        assert (found.sku, [b.reference for b in found.batches]) == ("TABLE", ["b3"])
        assert found is uow.products.get("TABLE")
        assert uow.products.get_by_batchref("b9") is None


def test_a_shrunk_batch_deletes_the_rows_of_its_deallocated_lines(
    sessions: sessionmaker[Session], engine: Engine
) -> None:
    """Deallocating a line deletes its order line and its allocation; nothing is left over."""
    seed(sessions, "LAMP", ("b1", 10, None))
    with SqlUnitOfWork(sessions) as uow:
        product = uow.products.get("LAMP")
        assert product is not None
        product.allocate(OrderLine("o1", "LAMP", 6))
        product.allocate(OrderLine("o2", "LAMP", 4))
        uow.commit()
    with SqlUnitOfWork(sessions) as uow:
        product = uow.products.get_by_batchref("b1")
        assert product is not None
        product.change_batch_quantity("b1", 6)  # either line alone fits: one goes
        uow.commit()
    assert (count(engine, orm.order_lines), count(engine, orm.allocations)) == (1, 1)


# --8<-- [start:conflict]
def test_a_concurrent_change_to_a_product_is_a_conflict(sessions: sessionmaker[Session]) -> None:
    """Two units of work change one product: the later commit raises `ConcurrencyError`."""
    seed(sessions, "LAMP", ("b1", 10, None))
    with SqlUnitOfWork(sessions) as first, SqlUnitOfWork(sessions) as second:
        mine = first.products.get("LAMP")
        theirs = second.products.get("LAMP")
        assert mine is not None
        assert theirs is not None
        mine.allocate(OrderLine("o1", "LAMP", 6))
        theirs.allocate(OrderLine("o2", "LAMP", 6))
        first.commit()
        with pytest.raises(ConcurrencyError):
            second.commit()
    with SqlUnitOfWork(sessions) as uow:
        product = uow.products.get("LAMP")
        assert product is not None
        assert product.batches[0].available_quantity == 4
    # --8<-- [end:conflict]


def test_a_locking_unit_of_work_commits_as_the_other_does(sessions: sessionmaker[Session]) -> None:
    """With ``lock=True`` products are locked as they load; the work commits the same."""
    seed(sessions, "LAMP", ("b1", 10, None))
    with SqlUnitOfWork(sessions, lock=True) as uow:
        product = uow.products.get("LAMP")
        assert product is not None
        product.allocate(OrderLine("o1", "LAMP", 6))
        uow.commit()
    with SqlUnitOfWork(sessions) as uow:
        product = uow.products.get("LAMP")
        assert product is not None
        assert (product.batches[0].available_quantity, product.version) == (4, 2)

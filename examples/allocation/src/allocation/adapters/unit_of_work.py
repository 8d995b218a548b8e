"""Units of work of the allocation service: the `AllocationUnitOfWork` port implemented."""

from __future__ import annotations

from typing import TYPE_CHECKING

from allocation.adapters.repository import InMemoryProductRepository, SqlProductRepository
from allocation.domain.model import Product
from tactical import InMemoryUnitOfWork
from tactical.sqlalchemy import SqlAlchemyUnitOfWork

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.orm import Session


class FakeUnitOfWork(InMemoryUnitOfWork):
    """The allocation unit of work over a tactical `InMemoryStore`.

    It has real transactions (rollback, isolation, version conflicts), so the service runs
    on it as it does on a database: unit tests use it. Units of work built on one store
    see the same data.
    """

    @property
    def products(self) -> InMemoryProductRepository:
        """The products of the open transaction."""
        return InMemoryProductRepository(self.repository(Product))


class SqlUnitOfWork(SqlAlchemyUnitOfWork):
    """The allocation unit of work on a database (SQLite or PostgreSQL), through SQLAlchemy.

    Call `allocation.adapters.orm.start_mappers` once, before the first unit of work.
    A product changed by two units of work at once is a conflict that `commit` reports
    (tactical's optimistic concurrency) and that the message bus retries.

    Args:
        session_factory: Makes the session of each unit of work
            (`tactical.sqlalchemy.create_session_factory`).
        lock: Lock each product as it is loaded (``SELECT ... FOR UPDATE``), so that
            requests for one product queue up instead of conflicting and retrying.
    """

    def __init__(self, session_factory: Callable[[], Session], *, lock: bool = False) -> None:
        """Open sessions from ``session_factory``; lock products as they load if ``lock``."""
        super().__init__(session_factory)
        self._lock = lock

    @property
    def products(self) -> SqlProductRepository:
        """The products of the open transaction."""
        return SqlProductRepository(self.repository(Product, for_update=self._lock))

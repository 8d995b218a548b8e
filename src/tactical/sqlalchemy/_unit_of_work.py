"""`SqlAlchemyUnitOfWork`: a transaction of a SQLAlchemy session, with optimistic concurrency."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from tactical._exceptions import TransactionError
from tactical.sqlalchemy._mapping import mapping_of
from tactical.sqlalchemy._repository import SqlAlchemyRepository
from tactical.sqlalchemy._transaction import Transaction, translating

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import TracebackType
    from typing import Self

    from sqlalchemy.orm import Session

    from tactical._messages import Event

__all__ = ["SqlAlchemyUnitOfWork"]

A = TypeVar("A")


class SqlAlchemyUnitOfWork:
    """A unit of work over a SQLAlchemy session, observably the same as the in-memory fake.

    - Entering the `with` block opens a session (from ``session_factory``); leaving it rolls
      back what was not committed and closes the session. Objects loaded in the block stay
      readable afterwards.
    - Reads see committed data: `get` loads an aggregate in one statement. Nothing is
      written before `commit()` (the session does not autoflush).
    - `commit()` bumps the version of every aggregate in which anything changed (the root,
      or only a child) and writes it with ``UPDATE ... WHERE version = <loaded version>``;
      if another unit of work committed a change first, no row matches and `commit()`
      raises [`ConcurrencyError`][tactical.ConcurrencyError], as it does for an aggregate
      added concurrently. An aggregate that was only read is not written. The bus retries
      the command in a fresh unit of work.
    - Driver errors never escape: conflicts (stale version, serialization failure, deadlock,
      SQLite's "database is locked") become `ConcurrencyError`, others
      [`PersistenceError`][tactical.PersistenceError], with the driver's error chained.
    - Events of committed aggregates are returned by `collect_new_events()`; events of
      rolled-back work are discarded.

    This works at any isolation level, READ COMMITTED (PostgreSQL's default) included. Map
    aggregate roots with [`map_aggregate`][tactical.sqlalchemy.map_aggregate]. Subclass it to
    expose typed repositories, mirroring your application's protocol.

    Args:
        session_factory: Makes a new session: a ``sessionmaker``, such as the one
            [`create_session_factory`][tactical.sqlalchemy.create_session_factory] returns.

    Example:
        >>> import pathlib, tempfile
        >>> from sqlalchemy import Column, Integer, String, Table
        >>> from sqlalchemy.orm import registry
        >>> from tactical import Aggregate
        >>> from tactical.sqlalchemy import (
        ...     SqlAlchemyRepository,
        ...     create_schema,
        ...     create_session_factory,
        ...     map_aggregate,
        ...     version_column,
        ... )
        >>> class Product(Aggregate, key="sku"):
        ...     def __init__(self, sku: str, qty: int) -> None:
        ...         self.sku = sku
        ...         self.qty = qty
        >>> class ProductUnitOfWork(SqlAlchemyUnitOfWork):
        ...     @property
        ...     def products(self) -> SqlAlchemyRepository[Product, str]:
        ...         return self.repository(Product)
        >>> mapper_registry = registry()
        >>> products = Table(
        ...     "products",
        ...     mapper_registry.metadata,
        ...     Column("sku", String(20), primary_key=True),
        ...     Column("qty", Integer, nullable=False),
        ...     version_column(),
        ... )
        >>> _ = map_aggregate(mapper_registry, Product, products)
        >>> folder = tempfile.TemporaryDirectory()
        >>> sessions = create_session_factory(f"sqlite:///{pathlib.Path(folder.name) / 'app.db'}")
        >>> create_schema(sessions.kw["bind"], mapper_registry.metadata)
        >>> with ProductUnitOfWork(sessions) as uow:
        ...     uow.products.add(Product("LAMP", 10))
        ...     uow.commit()
        >>> with ProductUnitOfWork(sessions) as uow:
        ...     uow.products.get("LAMP").qty = 0  # never committed: rolled back
        >>> with ProductUnitOfWork(sessions) as uow:
        ...     product = uow.products.get("LAMP")
        >>> (product.qty, product.version)
        (10, 1)
        >>> sessions.kw["bind"].dispose()
        >>> mapper_registry.dispose()
        >>> folder.cleanup()
    """

    def __init__(self, session_factory: Callable[[], Session]) -> None:
        self._session_factory = session_factory
        self._transaction: Transaction | None = None
        self._events: list[Event] = []

    def _require(self, action: str) -> Transaction:
        transaction = self._transaction
        if transaction is None:
            raise TransactionError(f"{action} called outside the unit of work's `with` block")
        return transaction

    @property
    def session(self) -> Session:
        """The open transaction's session, for queries of your own (read models, reports).

        Raises:
            TransactionError: Called outside the `with` block.
        """
        transaction = self._require("session")
        transaction.prepare()
        return transaction.session

    def repository(
        self, cls: type[A], /, key: str | None = None, *, for_update: bool = False
    ) -> SqlAlchemyRepository[A, Any]:
        """The repository of ``cls`` in the open transaction.

        Args:
            cls: The aggregate root class, mapped with
                [`map_aggregate`][tactical.sqlalchemy.map_aggregate].
            key: The attribute that holds the key; by default the one an
                [`Entity`][tactical.Entity] names with ``key=``, else the primary key.
            for_update: Lock each aggregate that `get` loads (pessimistic locking, for
                aggregates that many requests change at once).

        Raises:
            TransactionError: Called outside the `with` block.
            TypeError: ``cls`` is not mapped, or has no version counter.
        """
        transaction = self._require("repository()")
        repositories = transaction.repositories
        found: SqlAlchemyRepository[A, Any] | None = repositories.get((cls, key, for_update))
        if found is None:
            mapping = mapping_of(cls, key)
            found = SqlAlchemyRepository(transaction, mapping, for_update=for_update)
            repositories[cls, key, for_update] = found
        return found

    def __enter__(self) -> Self:
        if self._transaction is not None:
            raise TransactionError("the unit of work is already open; units of work do not nest")
        session = self._session_factory()
        try:
            self._transaction = Transaction(session)
        except BaseException:
            session.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None:
        transaction = self._transaction
        if transaction is None:
            return
        self._transaction = None
        with translating():
            transaction.close()

    def commit(self) -> None:
        """Write every change atomically, bump versions, and keep the committed events.

        Raises:
            ConcurrencyError: An aggregate changed (or added) here was committed by another
                unit of work first, or the database reported another conflict; nothing is
                written and the transaction is rolled back (get the aggregates again).
            PersistenceError: The database refused the changes (a constraint) or failed.
            TransactionError: Called outside the `with` block.
        """
        self._events.extend(self._require("commit()").commit())

    def rollback(self) -> None:
        """Discard every change since the last commit, and the events recorded with them.

        Raises:
            TransactionError: Called outside the `with` block.
        """
        self._require("rollback()").rollback()

    def collect_new_events(self) -> Sequence[Event]:
        """Return (and forget) the events of every aggregate committed so far."""
        events = self._events
        if not events:
            return ()
        self._events = []
        return events

"""`SqlAlchemyRepository`: the aggregates of one mapped class, inside a unit of work."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import bindparam, inspect, select
from sqlalchemy.orm import make_transient

from tactical._exceptions import ConcurrencyError, TransactionError

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Select
    from sqlalchemy.orm import Session

    from tactical.sqlalchemy._mapping import AggregateMapping
    from tactical.sqlalchemy._transaction import Transaction

__all__ = ["SqlAlchemyRepository"]

_KEY = "tactical_key"

A = TypeVar("A")
K = TypeVar("K")


class SqlAlchemyRepository(Generic[A, K]):
    """A repository of one mapped aggregate class, inside a unit of work's transaction.

    Obtain it from
    [`SqlAlchemyUnitOfWork.repository`][tactical.sqlalchemy.SqlAlchemyUnitOfWork.repository].
    It behaves as the in-memory repository does: `get` returns the same object for the same
    key within a transaction (added ones included), loads the whole aggregate (the root and
    every relationship, recursively) in one statement, and sees what is committed when it
    loads; `add` inserts at commit. ``get(key, for_update=True)``, or ``for_update=True``
    for every `get`, locks the aggregate first (``SELECT ... FOR UPDATE`` of the root row;
    ``BEGIN IMMEDIATE`` on SQLite), so that concurrent units of work on a hot aggregate
    queue up instead of conflicting.

    Example:
        >>> import pathlib, tempfile
        >>> from sqlalchemy import Column, String, Table
        >>> from sqlalchemy.orm import registry
        >>> from tactical import Aggregate
        >>> from tactical.sqlalchemy import (
        ...     SqlAlchemyUnitOfWork,
        ...     create_schema,
        ...     create_session_factory,
        ...     map_aggregate,
        ...     version_column,
        ... )
        >>> class Product(Aggregate, key="sku"):
        ...     def __init__(self, sku: str, name: str) -> None:
        ...         self.sku = sku
        ...         self.name = name
        >>> mapper_registry = registry()
        >>> products = Table(
        ...     "products",
        ...     mapper_registry.metadata,
        ...     Column("sku", String(20), primary_key=True),
        ...     Column("name", String(80), nullable=False),
        ...     version_column(),
        ... )
        >>> _ = map_aggregate(mapper_registry, Product, products)
        >>> folder = tempfile.TemporaryDirectory()
        >>> sessions = create_session_factory(f"sqlite:///{pathlib.Path(folder.name) / 'app.db'}")
        >>> create_schema(sessions.kw["bind"], mapper_registry.metadata)
        >>> with SqlAlchemyUnitOfWork(sessions) as uow:
        ...     uow.repository(Product).add(Product("LAMP", "Lamp"))
        ...     uow.commit()
        >>> with SqlAlchemyUnitOfWork(sessions) as uow:
        ...     lamp = uow.repository(Product).get("LAMP", for_update=True)
        ...     lamp.name = "Desk lamp"
        ...     uow.commit()
        >>> lamp.name, lamp.version
        ('Desk lamp', 2)
        >>> sessions.kw["bind"].dispose()
        >>> mapper_registry.dispose()
        >>> folder.cleanup()
    """

    __slots__ = ("_for_update", "_mapping", "_transaction")

    def __init__(
        self,
        transaction: Transaction,
        mapping: AggregateMapping,
        *,
        for_update: bool = False,
    ) -> None:
        self._transaction = transaction
        self._mapping = mapping
        self._for_update = for_update

    @property
    def session(self) -> Session:
        """The unit of work's session, for queries of your own (see `find`).

        Raises:
            TransactionError: The unit of work is closed.
        """
        return self._open().session

    def _open(self) -> Transaction:
        transaction = self._transaction
        if transaction.closed:
            raise TransactionError("repository used after its unit of work's `with` block")
        return transaction

    def add(self, aggregate: A, /) -> None:
        """Add a new aggregate; it is inserted when the unit of work commits.

        Raises:
            ConcurrencyError: This transaction already holds another object with that key
                (or, at commit, another unit of work inserted one first).
            TransactionError: The unit of work is closed.
        """
        transaction = self._open()
        mapping = self._mapping
        key = getattr(aggregate, mapping.key)
        seen = transaction.seen.get((mapping.cls, key))
        if seen is not None:
            if seen[1] is aggregate:
                return
            raise ConcurrencyError(
                f"{mapping.cls.__qualname__} {key!r} already exists",
                aggregate_type=mapping.cls,
                key=key,
            )
        if inspect(aggregate).has_identity:
            # Loaded by another unit of work: adding it again means inserting it again,
            # which conflicts with the committed row, as it does with the in-memory fake.
            make_transient(aggregate)
        transaction.session.add(aggregate)
        transaction.track(mapping, key, aggregate)

    def get(self, key: K, /, *, for_update: bool | None = None) -> A | None:
        """Return the aggregate with this key, or ``None``.

        Args:
            key: The aggregate's key.
            for_update: Lock the aggregate until the unit of work ends (``SELECT ... FOR
                UPDATE`` of the root row; on SQLite, the database's write lock). By
                default, as the repository was configured. An aggregate already loaded in
                this transaction is returned as it is.

        Raises:
            ConcurrencyError: Waiting for the lock ended in a deadlock or a lock timeout
                (the unit of work is then rolled back, as after a failed commit).
            PersistenceError: The database failed (likewise rolled back).
            TransactionError: The unit of work is closed.
        """
        transaction = self._open()
        mapping = self._mapping
        seen = transaction.seen.get((mapping.cls, key))
        if seen is not None:
            return seen[1]  # type: ignore[no-any-return]
        lock = self._for_update if for_update is None else for_update
        with transaction.reading():
            if lock:
                self._lock(transaction, key)
            found = self._load_key(transaction, key, refresh=lock)
        if found is not None:
            transaction.track(mapping, key, found)
        return found

    def find(self, *where: ColumnElement[bool]) -> A | None:
        """Return the first aggregate (by key) that meets a condition, loaded as `get` loads it.

        For lookups by something other than the key, such as the product that has a batch
        with a given reference.

        Args:
            *where: Conditions on the root's table, as for `Select.where`.

        Raises:
            PersistenceError: The database failed.
            TransactionError: The unit of work is closed.
        """
        transaction = self._open()
        with transaction.reading():
            found = self._load(transaction, *where, refresh=False, first=True)
        if found is None:
            return None
        mapping = self._mapping
        key = getattr(found, mapping.key)
        seen = transaction.seen.get((mapping.cls, key))
        if seen is not None:
            return seen[1]  # type: ignore[no-any-return]
        transaction.track(mapping, key, found)
        return found

    def _lock(self, transaction: Transaction, key: Any) -> None:
        if transaction.sqlite:
            transaction.lock_for_write()
            return
        # The lock alone, then the aggregate in a statement of its own: under READ
        # COMMITTED, the rows a locking SELECT joins are not re-read after its wait.
        transaction.session.execute(self._statement(locking=True, sqlite=False), {_KEY: key})

    def _statement(self, *, locking: bool, sqlite: bool) -> Any:
        """`get`'s statement (the lock, or the load), built once per mapping and reused.

        The key is a bound parameter, so SQLAlchemy's compiled cache is hit without rebuilding.
        """
        mapping = self._mapping
        found = mapping.queries.get((locking, sqlite))
        if found is None:
            column = getattr(mapping.cls, mapping.key)
            if locking:
                found = select(column).where(column == bindparam(_KEY)).with_for_update()
            else:
                loader = mapping.sqlite_loader if sqlite else mapping.loader
                found = select(mapping.cls).where(column == bindparam(_KEY)).options(*loader)
            mapping.queries[locking, sqlite] = found
        return found

    def _load_key(self, transaction: Transaction, key: Any, *, refresh: bool) -> A | None:
        query = self._statement(locking=False, sqlite=transaction.sqlite)
        if refresh:
            query = query.execution_options(populate_existing=True)
        with transaction.snapshot(self._mapping.sqlite_statements > 1):
            found: A | None = transaction.session.scalars(query, {_KEY: key}).unique().first()
        return found

    def _load(self, transaction: Transaction, *where: Any, refresh: bool, first: bool) -> A | None:
        mapping = self._mapping
        loader = mapping.sqlite_loader if transaction.sqlite else mapping.loader
        query: Select[A] = select(mapping.cls).where(*where).options(*loader)
        if first:
            query = query.order_by(getattr(mapping.cls, mapping.key)).limit(1)
        if refresh:
            query = query.execution_options(populate_existing=True)
        with transaction.snapshot(mapping.sqlite_statements > 1):
            return transaction.session.scalars(query).unique().first()

"""The in-memory fakes: a store, its repositories and a transactional unit of work.

They are not dict wrappers. Every unit of work reads committed data only, works on private
copies, writes nothing until ``commit()``, and detects that an aggregate it changed was
committed by someone else in the meantime, exactly as a database-backed unit of work does.
The same contract suites (`tactical.testing`) hold for them and for the SQLAlchemy adapter.
"""

from __future__ import annotations

import _thread
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from tactical._aggregate import Aggregate, Entity, key_of
from tactical._exceptions import ConcurrencyError, TransactionError
from tactical._state import clone, same_state

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from types import TracebackType
    from typing import Self

    from tactical._messages import Event

__all__ = ["InMemoryRepository", "InMemoryStore", "InMemoryUnitOfWork"]

A = TypeVar("A")
K = TypeVar("K")


class InMemoryStore:
    """Committed state shared by any number of in-memory units of work (and threads).

    Each aggregate is kept as a private snapshot together with its version; units of work
    only ever see copies. Create one store per test and hand it to every unit of work that
    should see the same "database".

    Example:
        >>> from tactical import Aggregate, InMemoryStore, InMemoryUnitOfWork
        >>> class Product(Aggregate, key="sku"):
        ...     def __init__(self, sku: str) -> None:
        ...         self.sku = sku
        >>> store = InMemoryStore()
        >>> with InMemoryUnitOfWork(store) as uow:
        ...     uow.repository(Product).add(Product("LAMP"))
        ...     uow.commit()
        >>> store.version_of(Product, "LAMP")
        1
    """

    def __init__(self) -> None:
        self._records: dict[type[Any], dict[Any, Any]] = {}
        self._lock = _thread.allocate_lock()

    def keys(self, cls: type[Any]) -> list[Any]:
        """The keys of the committed aggregates of a class, in insertion order."""
        return list(self._records.get(cls, ()))

    def version_of(self, cls: type[Any], key: object) -> int | None:
        """The committed version of an aggregate, or ``None`` when it does not exist."""
        snapshot = self._records.get(cls, {}).get(key)
        return None if snapshot is None else getattr(snapshot, "version", 0)

    def _read(self, cls: type[Any], key: object) -> Any:
        return self._records.get(cls, {}).get(key)

    def _commit(self, entries: list[_Entry]) -> None:
        """Check every change against the committed state, then write all or nothing."""
        with self._lock:
            changed = []
            for entry in entries:
                current = self._records.get(entry.cls, {}).get(entry.key)
                if entry.base is None:
                    if current is not None:
                        raise _conflict(entry, "was added by another unit of work")
                elif same_state(entry.obj, entry.base):
                    continue
                elif current is not entry.base:
                    raise _conflict(entry, "was changed by another unit of work")
                changed.append(entry)
            for entry in changed:
                version = getattr(entry.obj, "version", None)
                if isinstance(version, int) and not isinstance(version, bool):
                    entry.obj.version = 0 if entry.base is None else entry.base.version
                    entry.obj.version += 1
                snapshot = clone(entry.obj)
                self._records.setdefault(entry.cls, {})[entry.key] = snapshot
                entry.base = snapshot


def _conflict(entry: _Entry, what: str) -> ConcurrencyError:
    return ConcurrencyError(
        f"{entry.cls.__qualname__} {entry.key!r} {what}",
        aggregate_type=entry.cls,
        key=entry.key,
    )


def _closed(method: str) -> TransactionError:
    return TransactionError(
        f"{method}() on a repository whose unit of work's `with` block has ended"
    )


class _Entry:
    """An aggregate tracked by a transaction and the committed snapshot it started from."""

    __slots__ = ("base", "cls", "key", "obj")

    def __init__(self, cls: type[Any], key: object, obj: Any, base: Any) -> None:
        self.cls = cls
        self.key = key
        self.obj = obj
        self.base = base


class _Transaction:
    __slots__ = ("closed", "identity", "repositories")

    def __init__(self) -> None:
        self.closed = False
        self.identity: dict[tuple[type[Any], object], _Entry] = {}
        self.repositories: dict[type[Any], InMemoryRepository[Any, Any]] = {}


class InMemoryRepository(Generic[A, K]):
    """A repository over an [`InMemoryStore`][tactical.InMemoryStore], inside one transaction.

    Obtain it from [`InMemoryUnitOfWork.repository`][tactical.InMemoryUnitOfWork.repository]:
    it exists only while the unit of work's `with` block is open. Within one transaction,
    `get` returns the same object for the same key (an identity map).

    Example:
        >>> from tactical import Aggregate, InMemoryUnitOfWork
        >>> class Product(Aggregate, key="sku"):
        ...     def __init__(self, sku: str) -> None:
        ...         self.sku = sku
        >>> with InMemoryUnitOfWork() as uow:
        ...     products = uow.repository(Product)
        ...     products.add(Product("LAMP"))
        ...     products.get("LAMP") is products.get("LAMP"), products.get("DESK")
        (True, None)
    """

    __slots__ = ("_cls", "_key", "_store", "_transaction")

    def __init__(
        self,
        store: InMemoryStore,
        transaction: _Transaction,
        cls: type[A],
        key: Callable[[A], K],
    ) -> None:
        self._store = store
        self._transaction = transaction
        self._cls = cls
        self._key = key

    def add(self, aggregate: A, /) -> None:
        """Track a new aggregate; it is inserted on commit.

        Raises:
            ConcurrencyError: This transaction already holds another object with that key
                (or, at commit, one was committed meanwhile).
        """
        if self._transaction.closed:
            raise _closed("add")
        key = self._key(aggregate)
        identity = self._transaction.identity
        existing = identity.get((self._cls, key))
        if existing is not None:
            if existing.obj is aggregate:
                return
            raise ConcurrencyError(
                f"{self._cls.__qualname__} {key!r} already exists",
                aggregate_type=self._cls,
                key=key,
            )
        identity[self._cls, key] = _Entry(self._cls, key, aggregate, None)

    def get(self, key: K, /) -> A | None:
        """Return this transaction's copy of the committed aggregate, or ``None``.

        Raises:
            TransactionError: The unit of work's `with` block has ended.
        """
        if self._transaction.closed:
            raise _closed("get")
        identity = self._transaction.identity
        entry = identity.get((self._cls, key))
        if entry is not None:
            return entry.obj  # type: ignore[no-any-return]
        snapshot = self._store._read(self._cls, key)  # noqa: SLF001 - the store's own repository
        if snapshot is None:
            return None
        obj: A = clone(snapshot)
        identity[self._cls, key] = _Entry(self._cls, key, obj, snapshot)
        return obj

    def __iter__(self) -> Iterator[A]:
        """Every aggregate this transaction sees: the committed ones, then those added here.

        This is how a fake answers an application's own queries (a lookup by another
        attribute): each committed aggregate is loaded as `get` loads it, so it is this
        transaction's copy. A database repository answers the same query in SQL.

        Example:
            >>> from tactical import Aggregate, InMemoryUnitOfWork
            >>> class Product(Aggregate, key="sku"):
            ...     def __init__(self, sku: str, qty: int) -> None:
            ...         self.sku = sku
            ...         self.qty = qty
            >>> with InMemoryUnitOfWork() as uow:
            ...     products = uow.repository(Product)
            ...     products.add(Product("LAMP", 0))
            ...     products.add(Product("DESK", 5))
            ...     [p.sku for p in products if p.qty > 0]
            ['DESK']
        """
        added = [
            key
            for (cls, key), entry in self._transaction.identity.items()
            if cls is self._cls and entry.base is None
        ]
        for key in dict.fromkeys([*self._store.keys(self._cls), *added]):
            aggregate = self.get(key)
            if aggregate is not None:
                yield aggregate


class InMemoryUnitOfWork:
    """A unit of work over an [`InMemoryStore`][tactical.InMemoryStore] with real transactions.

    - Reads see committed data only; each transaction works on its own copies.
    - Nothing is written before `commit()`; leaving the `with` block rolls back the rest,
      including changes to child objects of an aggregate.
    - `commit()` raises [`ConcurrencyError`][tactical.ConcurrencyError] when an aggregate
      changed here was committed by another unit of work since it was loaded (first committer
      wins); an aggregate that was only read is never written and never conflicts.
    - A committed change bumps the aggregate's ``version``; its events become available from
      `collect_new_events()`. Events of rolled-back changes are discarded.

    Subclass it to expose typed repositories, mirroring your application's protocol.

    Args:
        store: The shared committed state; a fresh empty store by default.

    Example:
        >>> from tactical import Aggregate, InMemoryRepository, InMemoryStore
        >>> class Product(Aggregate, key="sku"):
        ...     def __init__(self, sku: str, qty: int) -> None:
        ...         self.sku = sku
        ...         self.qty = qty
        >>> class FakeUnitOfWork(InMemoryUnitOfWork):
        ...     @property
        ...     def products(self) -> InMemoryRepository[Product, str]:
        ...         return self.repository(Product)
        >>> store = InMemoryStore()
        >>> with FakeUnitOfWork(store) as uow:
        ...     uow.products.add(Product("LAMP", 10))
        ...     uow.commit()
        >>> with FakeUnitOfWork(store) as uow:
        ...     uow.products.get("LAMP").qty = 0  # never committed: rolled back
        >>> with FakeUnitOfWork(store) as uow:
        ...     product = uow.products.get("LAMP")
        >>> (product.qty, product.version)
        (10, 1)
    """

    def __init__(self, store: InMemoryStore | None = None) -> None:
        self._store = InMemoryStore() if store is None else store
        self._transaction: _Transaction | None = None
        self._events: list[Event] = []

    @property
    def store(self) -> InMemoryStore:
        """The committed state this unit of work reads and writes."""
        return self._store

    @overload
    def repository(self, cls: type[A], /) -> InMemoryRepository[A, Any]: ...
    @overload
    def repository(self, cls: type[A], /, key: Callable[[A], K]) -> InMemoryRepository[A, K]: ...
    def repository(
        self, cls: type[A], /, key: Callable[[A], Any] | None = None
    ) -> InMemoryRepository[A, Any]:
        """The repository of ``cls`` in the open transaction.

        Args:
            cls: The aggregate class.
            key: How to get an aggregate's key; by default the attribute that an
                [`Entity`][tactical.Entity] subclass names with ``key=``.

        Raises:
            TransactionError: Called outside the `with` block.
        """
        transaction = self._transaction
        if transaction is None:
            raise TransactionError("repository() called outside the unit of work's `with` block")
        repository = transaction.repositories.get(cls)
        if repository is None:
            if key is None and not issubclass(cls, Entity):
                raise TypeError(f"{cls.__qualname__} is not an Entity: pass key=")
            repository = InMemoryRepository(self._store, transaction, cls, key or key_of)
            transaction.repositories[cls] = repository
        return repository

    def __enter__(self) -> Self:
        if self._transaction is not None:
            raise TransactionError("the unit of work is already open; units of work do not nest")
        self._transaction = _Transaction()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None:
        self.rollback()
        if self._transaction is not None:
            self._transaction.closed = True
        self._transaction = None

    def commit(self) -> None:
        """Write every change atomically, bump versions, and keep the committed events.

        Raises:
            ConcurrencyError: An aggregate changed (or added) here was committed by another
                unit of work first; nothing is written.
            TransactionError: Called outside the `with` block.
        """
        transaction = self._transaction
        if transaction is None:
            raise TransactionError("commit() called outside the unit of work's `with` block")
        entries = list(transaction.identity.values())
        self._store._commit(entries)  # noqa: SLF001 - the store's own unit of work
        for entry in entries:
            obj = entry.obj
            if isinstance(obj, Aggregate) and obj.events:
                self._events.extend(obj.events)
                obj.events.clear()

    def rollback(self) -> None:
        """Discard every change since the last commit, and the events recorded with them."""
        transaction = self._transaction
        if transaction is None:
            raise TransactionError("rollback() called outside the unit of work's `with` block")
        for entry in transaction.identity.values():
            if isinstance(entry.obj, Aggregate):
                entry.obj.events.clear()
        transaction.identity.clear()

    def collect_new_events(self) -> Sequence[Event]:
        """Return (and forget) the events of every aggregate committed so far."""
        events = self._events
        if not events:
            return ()
        self._events = []
        return events

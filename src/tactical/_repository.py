"""The repository and unit-of-work protocols that users' code depends on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import TracebackType
    from typing import Self

    from tactical._messages import Event

__all__ = ["Repository", "UnitOfWork"]

A = TypeVar("A")
K_contra = TypeVar("K_contra", contravariant=True)


class Repository(Protocol[A, K_contra]):
    """A collection-like view of one kind of aggregate, keyed by its identity.

    A repository lives inside a unit of work's transaction: what `add` puts in is written
    when the unit of work commits; `get` returns the same object for the same key within one
    transaction. Depend on this protocol in handlers; pass an
    [`InMemoryRepository`][tactical.InMemoryRepository] in tests and a database one in
    production.

    Example:
        >>> from tactical import Aggregate, InMemoryUnitOfWork, Repository
        >>> class Product(Aggregate, key="sku"):
        ...     def __init__(self, sku: str) -> None:
        ...         self.sku = sku
        >>> def restock(products: Repository[Product, str], sku: str) -> Product:
        ...     product = products.get(sku)
        ...     if product is None:
        ...         product = Product(sku)
        ...         products.add(product)
        ...     return product
        >>> with InMemoryUnitOfWork() as uow:
        ...     restock(uow.repository(Product), "LAMP").sku
        'LAMP'
    """

    def add(self, aggregate: A, /) -> None:
        """Add a new aggregate; it is inserted when the unit of work commits."""
        ...

    def get(self, key: K_contra, /) -> A | None:
        """Return the aggregate with this key, or ``None`` when there is none."""
        ...


class UnitOfWork(Protocol):
    """An atomic operation: a context manager that opens repositories and commits on request.

    Entering the `with` block opens a transaction and its repositories. Nothing is written
    until `commit()`; leaving the block rolls back whatever was not committed, so the caller
    decides when work is done. Events recorded by aggregates that were committed are returned
    by `collect_new_events()`, which the message bus calls after every handler.

    Declare your application's unit of work as a protocol that adds its repositories as
    read-only properties, and implement it with a fake and a real adapter.

    Example:
        >>> from typing import Protocol
        >>> from tactical import Aggregate, Repository, UnitOfWork
        >>> class Product(Aggregate, key="sku"):
        ...     def __init__(self, sku: str) -> None:
        ...         self.sku = sku
        >>> class AllocationUnitOfWork(UnitOfWork, Protocol):
        ...     @property
        ...     def products(self) -> Repository[Product, str]: ...
    """

    def __enter__(self) -> Self:
        """Open a transaction and its repositories."""
        ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None:
        """Roll back whatever was not committed and close the transaction."""
        ...

    def commit(self) -> None:
        """Write every change made in this transaction, atomically.

        Raises:
            ConcurrencyError: An aggregate changed here was changed by someone else first.
        """
        ...

    def rollback(self) -> None:
        """Discard every change made since the last commit."""
        ...

    def collect_new_events(self) -> Iterable[Event]:
        """Return (and forget) the events of the aggregates committed so far."""
        ...

"""Product repositories: the `ProductRepository` port implemented over tactical's stores.

`InMemoryProductRepository` wraps the in-memory fake's repository, `SqlProductRepository`
the SQLAlchemy one; both add the lookup of a product by the reference of one of its batches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from allocation.adapters import orm

if TYPE_CHECKING:
    from allocation.domain.model import Product
    from tactical import InMemoryRepository
    from tactical.sqlalchemy import SqlAlchemyRepository


# --8<-- [start:in_memory]
class InMemoryProductRepository:
    """The products of an in-memory transaction, with the lookup by batch reference.

    Adding and getting go straight to tactical's `InMemoryRepository`, which keeps the
    transaction's semantics; the lookup scans what the transaction sees, as a query would.

    Args:
        products: The repository of `Product` in the open in-memory unit of work.
    """

    __slots__ = ("_products",)

    def __init__(self, products: InMemoryRepository[Product, str]) -> None:
        """Wrap the transaction's repository of products."""
        self._products = products

    def add(self, product: Product, /) -> None:
        """Add a new product; it is inserted when the unit of work commits."""
        self._products.add(product)

    def get(self, sku: str, /) -> Product | None:
        """Return the product with this sku, or ``None``."""
        return self._products.get(sku)

    def get_by_batchref(self, batchref: str, /) -> Product | None:
        """Return the product that owns the batch with this reference, or ``None``."""
        return next(
            (
                product
                for product in self._products
                if any(batch.reference == batchref for batch in product.batches)
            ),
            None,
        )
        # --8<-- [end:in_memory]


# --8<-- [start:sql]
class SqlProductRepository:
    """The products of a SQL transaction, with the lookup by batch reference.

    Adding and getting go to tactical's `SqlAlchemyRepository` (whole aggregates, version
    checks); the lookup finds the product whose sku the batch's row names, loaded as `get`
    loads it.

    Args:
        products: The repository of `Product` in the open SQL unit of work.
    """

    __slots__ = ("_products",)

    def __init__(self, products: SqlAlchemyRepository[Product, str]) -> None:
        """Wrap the transaction's repository of products."""
        self._products = products

    def add(self, product: Product, /) -> None:
        """Add a new product; it is inserted when the unit of work commits."""
        self._products.add(product)

    def get(self, sku: str, /) -> Product | None:
        """Return the product with this sku, or ``None``."""
        return self._products.get(sku)

    def get_by_batchref(self, batchref: str, /) -> Product | None:
        """Return the product that owns the batch with this reference, or ``None``."""
        owner = select(orm.batches.c.sku).where(orm.batches.c.reference == batchref)
        return self._products.find(orm.products.c.sku == owner.scalar_subquery())
        # --8<-- [end:sql]

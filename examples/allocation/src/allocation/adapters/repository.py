"""Product repositories: the `ProductRepository` port implemented over tactical's stores."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from allocation.domain.model import Product
    from tactical import InMemoryRepository


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

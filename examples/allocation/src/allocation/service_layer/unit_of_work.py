"""The ports of persistence: the product repository and the unit of work that handlers use.

Handlers depend on these protocols only. The adapters implement them: in memory
(`allocation.adapters.unit_of_work.FakeUnitOfWork`) and, in time, on a database.
"""

from __future__ import annotations

from typing import Protocol

from allocation.domain.model import Product
from tactical import Repository, UnitOfWork


# --8<-- [start:product_repository]
class ProductRepository(Repository[Product, str], Protocol):
    """The products, keyed by sku, and found by the reference of one of their batches."""

    def get_by_batchref(self, batchref: str, /) -> Product | None:
        """Return the product that owns the batch with this reference, or ``None``."""
        ...
        # --8<-- [end:product_repository]


# --8<-- [start:unit_of_work]
class AllocationUnitOfWork(UnitOfWork, Protocol):
    """A unit of work of the allocation service: one transaction over its products."""

    @property
    def products(self) -> ProductRepository:
        """The products of this transaction."""
        ...
        # --8<-- [end:unit_of_work]

"""Units of work of the allocation service: the `AllocationUnitOfWork` port implemented."""

from __future__ import annotations

from allocation.adapters.repository import InMemoryProductRepository
from allocation.domain.model import Product
from tactical import InMemoryUnitOfWork


class FakeUnitOfWork(InMemoryUnitOfWork):
    """The allocation unit of work over a tactical `InMemoryStore`.

    It has real transactions (rollback, isolation, version conflicts), so the service runs
    on it as it does on a database: tests use it, and so does the demo. Units of work
    built on one store see the same data.
    """

    @property
    def products(self) -> InMemoryProductRepository:
        """The products of the open transaction."""
        return InMemoryProductRepository(self.repository(Product))

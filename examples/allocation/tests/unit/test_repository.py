"""The in-memory product repository: the `ProductRepository` port over tactical's fake."""

from __future__ import annotations

from allocation.adapters.unit_of_work import FakeUnitOfWork
from allocation.domain.model import Batch, Product
from tactical import InMemoryStore


def product(sku: str, *refs: str) -> Product:
    return Product(sku, [Batch(ref, sku, 10, eta=None) for ref in refs])


# --8<-- [start:get_by_batchref]
def test_get_by_batchref_finds_a_committed_product() -> None:
    """The product that owns a batch is found by the batch's reference."""
    store = InMemoryStore()
    with FakeUnitOfWork(store) as uow:
        uow.products.add(product("LAMP", "b1", "b2"))
        uow.products.add(product("DESK", "b3"))
        uow.commit()
    with FakeUnitOfWork(store) as uow:
        found = uow.products.get_by_batchref("b2")
        assert found is not None
        assert found.sku == "LAMP"
        assert found is uow.products.get("LAMP")
    # --8<-- [end:get_by_batchref]


def test_get_by_batchref_finds_a_product_added_in_this_transaction() -> None:
    """An uncommitted product is visible to its own transaction, as in a database."""
    with FakeUnitOfWork() as uow:
        added = product("LAMP", "b1")
        uow.products.add(added)
        assert uow.products.get_by_batchref("b1") is added


def test_get_by_batchref_returns_none_for_an_unknown_reference() -> None:
    """No product owns the batch: nothing is found."""
    with FakeUnitOfWork() as uow:
        uow.products.add(product("LAMP", "b1"))
        assert uow.products.get_by_batchref("b9") is None


def test_a_change_to_a_product_found_by_batchref_is_committed() -> None:
    """The product found is the transaction's own copy: changing it and committing writes it."""
    store = InMemoryStore()
    with FakeUnitOfWork(store) as uow:
        uow.products.add(product("LAMP", "b1"))
        uow.commit()
    with FakeUnitOfWork(store) as uow:
        found = uow.products.get_by_batchref("b1")
        assert found is not None
        found.change_batch_quantity("b1", 3)
        uow.commit()
    assert store.version_of(Product, "LAMP") == 2

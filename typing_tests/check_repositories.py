"""What users' code sees of aggregates, repositories and units of work."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, assert_type

from tactical import (
    Aggregate,
    Entity,
    Event,
    InMemoryRepository,
    InMemoryStore,
    InMemoryUnitOfWork,
    Repository,
    UnitOfWork,
)


class Restocked(Event):
    sku: str


class Part(Entity, key="code"):
    def __init__(self, code: str) -> None:
        self.code = code


class Product(Aggregate, key="sku"):
    def __init__(self, sku: str, parts: list[Part]) -> None:
        self.sku = sku
        self.parts = parts


class ShopUnitOfWork(UnitOfWork, Protocol):
    @property
    def products(self) -> Repository[Product, str]: ...


class FakeShop(InMemoryUnitOfWork):
    @property
    def products(self) -> InMemoryRepository[Product, str]:
        return self.repository(Product)


def a_typed_repository_on_a_protocol(uow: ShopUnitOfWork) -> None:
    with uow as entered:
        assert_type(entered, ShopUnitOfWork)
        assert_type(uow.products, Repository[Product, str])
        assert_type(uow.products.get("x"), Product | None)
        uow.products.add(Product("x", []))
        uow.products.get(42)  # type: ignore[arg-type]
        uow.products.add(Part("p"))  # type: ignore[arg-type]
        uow.commit()
        uow.rollback()
    assert_type(uow.collect_new_events(), Iterable[Event])


def the_fake_satisfies_the_protocol() -> None:
    uow: ShopUnitOfWork = FakeShop()
    factory: Callable[[], ShopUnitOfWork] = FakeShop
    a_typed_repository_on_a_protocol(uow)
    a_typed_repository_on_a_protocol(factory())
    a_typed_repository_on_a_protocol(InMemoryUnitOfWork())  # type: ignore[arg-type]


def the_in_memory_unit_of_work() -> None:
    store = InMemoryStore()
    with FakeShop(store) as uow:
        assert_type(uow, FakeShop)
        assert_type(uow.store, InMemoryStore)
        assert_type(uow.products.get("x"), Product | None)
        assert_type(uow.repository(Product), InMemoryRepository[Product, Any])
        assert_type(uow.repository(Product).get("x"), Product | None)
        keyed = uow.repository(Product, lambda product: product.sku)
        assert_type(keyed, InMemoryRepository[Product, str])
        assert_type(uow.repository(Part, key=lambda part: len(part.code)).get(3), Part | None)
    assert_type(uow.collect_new_events(), Sequence[Event])
    assert_type(store.version_of(Product, "x"), int | None)
    assert_type(store.keys(Product), list[Any])


def a_repository_is_generic_in_its_aggregate(products: Repository[Product, str]) -> None:
    assert_type(products.get("x"), Product | None)
    wider_keys: Repository[Product, object] = FakeShop().repository(Product)
    narrower: Repository[Product, str] = wider_keys  # keys are contravariant
    assert_type(narrower.get("x"), Product | None)


def aggregates_and_entities(product: Product) -> None:
    assert_type(product.events, list[Event])
    assert_type(product.version, int)
    assert_type(product == Product("y", []), bool)
    assert_type(hash(product.parts[0]), int)

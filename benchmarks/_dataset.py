"""The allocation data set of WORKLOADS.md, and what every variant of W1 shares with the others.

Every variant builds its products and commands here, feeds the rows of its read model to
`checksum`, and times its loop with `timed`, so that two variants differ in the machinery
under test and nothing else.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, Self

from allocation.domain.model import Batch, Product
from tactical import Event, Repository, UnitOfWork

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from types import TracebackType

    from allocation.domain import events

Row = tuple[str, str, str]
"""A row of the read model: ``(orderid, sku, batchref)``."""


@dataclass(frozen=True)
class Measurement:
    """One run of one variant: the timed loop's seconds, its size, the read model's checksum."""

    seconds: float
    operations: int
    checksum: str


def skus(products: int) -> list[str]:
    """The skus ``SKU-0000`` … of the data set."""
    return [f"SKU-{k:04d}" for k in range(products)]


def batch_specs(sku: str, batches: int, today: dt.date) -> list[tuple[str, int, dt.date | None]]:
    """The batches of one product: ``b0`` of 20 in the warehouse, then 1000 each, one day apart.

    With ``batches=3`` this is the data set of WORKLOADS.md; more batches make the aggregate
    bigger (the W1-scaling workload) without changing which batch an order goes to.
    """
    specs: list[tuple[str, int, dt.date | None]] = [(f"{sku}-b0", 20, None)]
    specs.extend((f"{sku}-b{j}", 1000, today + dt.timedelta(days=j)) for j in range(1, batches))
    return specs


def build_products(products: int, batches: int) -> dict[str, Product]:
    """The book's `Product` aggregates of the data set, by sku."""
    today = dt.datetime.now(dt.UTC).date()
    return {
        sku: Product(
            sku,
            [Batch(ref, sku, qty, eta) for ref, qty, eta in batch_specs(sku, batches, today)],
        )
        for sku in skus(products)
    }


def command_args(n: int, products: int) -> list[tuple[str, str, int]]:
    """The fields ``(orderid, sku, qty)`` of the n ``Allocate`` commands, in order.

    Formatting them is set-up; building each command object from them is part of the loop.
    """
    names = skus(products)
    return [(f"order-{i:07d}", names[i % products], 1 + i % 5) for i in range(n)]


def checksum(rows: Iterable[Row]) -> str:
    """SHA-1 over the rows, each as ``"|".join(row) + "\\n"``: the first 12 hex digits."""
    digest = hashlib.sha1()
    for row in rows:
        digest.update(("|".join(map(str, row)) + "\n").encode())
    return digest.hexdigest()[:12]


def timed(loop: Callable[[], object]) -> float:
    """Run ``loop`` once, after a full collection, and return the seconds it took."""
    gc.collect()
    started = time.perf_counter()
    loop()
    return time.perf_counter() - started


class AllocationsView:
    """The read model: one row per `Allocated`, in the order the events were handled."""

    def __init__(self) -> None:
        self.rows: list[Row] = []


def add_allocation_to_read_model(event: events.Allocated, view: AllocationsView) -> None:
    """The read-model handler: append the allocation's row."""
    view.rows.append((event.orderid, event.sku, event.batchref))


class AllocationUnitOfWork(UnitOfWork, Protocol):
    """What the handlers of the W1 variants need: a unit of work with its products."""

    @property
    def products(self) -> Repository[Product, str]:
        """The products of this transaction."""
        ...


class DictProductRepository:
    """Products in a plain dict; remembers which ones this transaction has seen."""

    __slots__ = ("_data", "_seen")

    def __init__(self, data: dict[str, Product], seen: dict[str, Product]) -> None:
        self._data = data
        self._seen = seen

    def add(self, product: Product, /) -> None:
        self._data[product.sku] = product
        self._seen[product.sku] = product

    def get(self, sku: str, /) -> Product | None:
        product = self._data.get(sku)
        if product is not None:
            self._seen[sku] = product
        return product


class DictUnitOfWork:
    """The smallest honest `UnitOfWork`: no copies, no isolation; commit harvests events.

    It measures the bus and the unit-of-work protocol, not a storage engine.
    """

    __slots__ = ("_events", "_seen", "products")

    def __init__(self, data: dict[str, Product]) -> None:
        self._seen: dict[str, Product] = {}
        self._events: list[Event] = []
        self.products = DictProductRepository(data, self._seen)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None:
        self.rollback()

    def commit(self) -> None:
        for product in self._seen.values():
            if product.events:
                self._events.extend(product.events)
                product.events.clear()
        self._seen.clear()

    def rollback(self) -> None:
        for product in self._seen.values():
            product.events.clear()
        self._seen.clear()

    def collect_new_events(self) -> list[Event]:
        collected = self._events
        self._events = []
        return collected

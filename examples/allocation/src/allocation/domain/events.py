"""Events: facts the allocation service records as it works."""

from __future__ import annotations

from dataclasses import dataclass

from tactical import Event


@dataclass(frozen=True)
class Allocated(Event):
    """An order line was allocated to a batch."""

    orderid: str
    sku: str
    qty: int
    batchref: str


@dataclass(frozen=True)
class Deallocated(Event):
    """An order line lost its batch (the batch shrank) and needs allocating again."""

    orderid: str
    sku: str
    qty: int


@dataclass(frozen=True)
class OutOfStock(Event):
    """No batch of the product had room for an order line."""

    sku: str

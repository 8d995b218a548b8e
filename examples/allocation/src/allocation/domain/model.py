"""The domain model: a `Product` aggregate owning its `Batch` entities and `OrderLine` values.

The public API is the book's (same classes, constructor arguments, methods and attributes).
One difference: the version counter is tactical's ``version``, bumped by the unit of work
when a change commits, so `Product.allocate` does not increment it by hand;
``version_number`` remains as a read-only alias.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from allocation.domain import events
from tactical import Aggregate, Entity

if TYPE_CHECKING:
    from datetime import date


class OutOfStockError(Exception):
    """Kept for readers of the book's early chapters; `Product.allocate` records an event."""


# --8<-- [start:order_line]
@dataclass(frozen=True)
class OrderLine:
    """A value object: a quantity of one sku for one order."""

    orderid: str
    sku: str
    qty: int
    # --8<-- [end:order_line]


# --8<-- [start:batch]
class Batch(Entity, key="reference"):
    """A batch of stock of one sku, in the warehouse (``eta`` is None) or on its way."""

    def __init__(self, ref: str, sku: str, qty: int, eta: date | None) -> None:
        """A batch of ``qty`` units of ``sku``, arriving on ``eta`` (None: in the warehouse)."""
        self.reference = ref
        self.sku = sku
        self.eta = eta
        self._purchased_quantity = qty
        self._allocations: set[OrderLine] = set()

    def __repr__(self) -> str:
        """``<Batch reference>``."""
        return f"<Batch {self.reference}>"

    def __gt__(self, other: Batch) -> bool:
        """Later than ``other``: the warehouse (no eta) comes first, then earlier etas."""
        if self.eta is None:
            return False
        if other.eta is None:
            return True
        return self.eta > other.eta

    def allocate(self, line: OrderLine) -> None:
        """Allocate a line to this batch, if it fits; allocating a line twice has no effect."""
        if self.can_allocate(line):
            self._allocations.add(line)

    def deallocate_one(self) -> OrderLine:
        """Take back one allocated line (any one) and return it."""
        return self._allocations.pop()

    @property
    def allocated_quantity(self) -> int:
        """How much of the batch is allocated."""
        return sum(line.qty for line in self._allocations)

    @property
    def available_quantity(self) -> int:
        """How much of the batch is left."""
        return self._purchased_quantity - self.allocated_quantity

    def can_allocate(self, line: OrderLine) -> bool:
        """Whether the line is for this sku and fits in what is left."""
        return self.sku == line.sku and self.available_quantity >= line.qty
        # --8<-- [end:batch]


# --8<-- [start:product]
class Product(Aggregate, key="sku"):
    """The aggregate: a sku and all its batches, changed together or not at all."""

    def __init__(self, sku: str, batches: list[Batch], version_number: int = 0) -> None:
        """A product and its batches; ``version_number`` is the book's name for ``version``."""
        self.sku = sku
        self.batches = batches
        self.version = version_number

    @property
    def version_number(self) -> int:
        """The book's name for the version counter: tactical's ``version``."""
        return self.version

    # --8<-- [start:allocate]
    def allocate(self, line: OrderLine) -> str | None:
        """Allocate to the first batch with room, in-warehouse first, then by earliest eta.

        Records `Allocated`, or `OutOfStock` (and returns ``None``) when nothing fits.
        """
        for batch in sorted(self.batches):
            if batch.can_allocate(line):
                batch.allocate(line)
                self.events.append(
                    events.Allocated(line.orderid, line.sku, line.qty, batch.reference)
                )
                return batch.reference
        self.events.append(events.OutOfStock(line.sku))
        return None
        # --8<-- [end:allocate]

    def change_batch_quantity(self, ref: str, qty: int) -> None:
        """Change a batch's quantity, deallocating lines (recording `Deallocated`) until it fits."""
        batch = next(b for b in self.batches if b.reference == ref)
        batch._purchased_quantity = qty  # noqa: SLF001 - the aggregate owns its batches
        while batch.available_quantity < 0:
            line = batch.deallocate_one()
            self.events.append(events.Deallocated(line.orderid, line.sku, line.qty))
        # --8<-- [end:product]

"""Commands: what the outside world asks the allocation service to do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date  # noqa: TC003 - field types are read at runtime (serialization)

from tactical import Command


@dataclass(frozen=True)
class Allocate(Command):
    """Allocate an order line to a batch of its product."""

    orderid: str
    sku: str
    qty: int


@dataclass(frozen=True)
class CreateBatch(Command):
    """Register a batch of stock, in the warehouse (no eta) or on its way."""

    ref: str
    sku: str
    qty: int
    eta: date | None = None


@dataclass(frozen=True)
class ChangeBatchQuantity(Command):
    """A batch turned out bigger or smaller than purchased."""

    ref: str
    qty: int

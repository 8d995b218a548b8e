"""The read side (CQRS): queries that answer from the read model, never from the aggregates.

Views are plain reads of a table that event handlers keep up to date
(`allocation.service_layer.read_model`); they may lag a write by the time its events take
to be handled, which is the bargain of CQRS: reads that cost one indexed lookup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from allocation.service_layer.read_model import AllocationsReadModel


class Allocation(TypedDict):
    """Where one line of an order is allocated: its sku and the batch's reference."""

    sku: str
    batchref: str


def allocations(orderid: str, read_model: AllocationsReadModel) -> list[Allocation]:
    """Where each line of the order is allocated, by sku; empty for an unknown order.

    Example:
        >>> from allocation.adapters.read_model import InMemoryAllocationsReadModel
        >>> read_model = InMemoryAllocationsReadModel()
        >>> read_model.add("order1", "LAMP", "batch1")
        >>> allocations("order1", read_model)
        [{'sku': 'LAMP', 'batchref': 'batch1'}]
    """
    return [
        Allocation(sku=sku, batchref=batchref) for sku, batchref in read_model.for_order(orderid)
    ]

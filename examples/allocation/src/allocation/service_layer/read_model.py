"""The port of the read side (CQRS): a table of where each order line is allocated.

Handlers keep it up to date from events (`handlers.add_allocation_to_read_model`,
`handlers.remove_allocation_from_read_model`); `allocation.views` reads it. It is
denormalised on purpose: answering "where is order X?" is one indexed lookup, with no
aggregate loaded and no join.
"""

from __future__ import annotations

from typing import Protocol


class AllocationsReadModel(Protocol):
    """Rows of (orderid, sku, batchref): one per order line allocated to a batch."""

    def add(self, orderid: str, sku: str, batchref: str, /) -> None:
        """Record that the order's line of ``sku`` is in ``batchref``; again: no effect."""
        ...

    def remove(self, orderid: str, sku: str, /) -> None:
        """Forget where the order's line of ``sku`` is allocated."""
        ...

    def for_order(self, orderid: str, /) -> list[tuple[str, str]]:
        """The (sku, batchref) pairs of the order, sorted."""
        ...

"""The service layer: what the allocation service does with each command and event.

Handlers take the message (primitives only) and their dependencies by parameter name:
``uow`` is the unit of work of the current `MessageBus.handle` call, ``notifications`` a
`Notifications`, ``read_model`` the `AllocationsReadModel`. Each command handler opens the
unit of work, does one thing to one product, and commits; the bus then handles the events
that the product recorded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from allocation.domain import commands
from allocation.domain.model import Batch, OrderLine, Product

if TYPE_CHECKING:
    from allocation.domain import events
    from allocation.service_layer.read_model import AllocationsReadModel
    from allocation.service_layer.unit_of_work import AllocationUnitOfWork

OUT_OF_STOCK_DESTINATION = "stock@made.com"
"""Who hears that a product ran out of stock."""


class InvalidSku(ValueError):  # noqa: N818 - the book's name, kept for its readers
    """A command named a sku that the service has no batch of."""


class InvalidBatchref(ValueError):  # noqa: N818 - named like InvalidSku
    """A command named a batch reference that the service does not know."""


class DuplicateBatchref(ValueError):  # noqa: N818 - named like InvalidSku
    """A command would add a batch with a reference that another batch has."""


# --8<-- [start:notifications]
class Notifications(Protocol):
    """The port through which the service tells people things (email, in production)."""

    def send(self, destination: str, message: str, /) -> None:
        """Deliver ``message`` to ``destination``."""
        ...
        # --8<-- [end:notifications]


# --8<-- [start:add_batch]
def add_batch(command: commands.CreateBatch, uow: AllocationUnitOfWork) -> None:
    """Add a batch to its product, creating the product on its first batch.

    Raises:
        DuplicateBatchref: A batch (of any product) has this reference already.
    """
    with uow:
        if uow.products.get_by_batchref(command.ref) is not None:
            raise DuplicateBatchref(f"Batch {command.ref} already exists")
        product = uow.products.get(command.sku)
        if product is None:
            product = Product(command.sku, batches=[])
            uow.products.add(product)
        product.batches.append(Batch(command.ref, command.sku, command.qty, command.eta))
        uow.commit()
    # --8<-- [end:add_batch]


# --8<-- [start:allocate]
def allocate(command: commands.Allocate, uow: AllocationUnitOfWork) -> str | None:
    """Allocate an order line to the best batch of its product.

    Returns:
        The reference of the batch, or ``None`` when the product is out of stock (the
        product then records `OutOfStock`).

    Raises:
        InvalidSku: No product has this sku.
    """
    line = OrderLine(command.orderid, command.sku, command.qty)
    with uow:
        product = uow.products.get(line.sku)
        if product is None:
            raise InvalidSku(f"Invalid sku {line.sku}")
        batchref = product.allocate(line)
        uow.commit()
    return batchref
    # --8<-- [end:allocate]


# --8<-- [start:change_batch_quantity]
def change_batch_quantity(command: commands.ChangeBatchQuantity, uow: AllocationUnitOfWork) -> None:
    """Change a batch's quantity; lines that no longer fit are deallocated.

    Raises:
        InvalidBatchref: No product has a batch with this reference.
    """
    with uow:
        product = uow.products.get_by_batchref(command.ref)
        if product is None:
            raise InvalidBatchref(f"Invalid batch reference {command.ref}")
        product.change_batch_quantity(command.ref, command.qty)
        uow.commit()
    # --8<-- [end:change_batch_quantity]


# --8<-- [start:reallocate]
def reallocate(event: events.Deallocated, uow: AllocationUnitOfWork) -> None:
    """Allocate a deallocated line again, in a transaction of its own.

    In the book the product records an `Allocate` command for the bus to handle. Here
    aggregates record events only, so this handler runs the `allocate` use case itself,
    in a fresh transaction after the one that deallocated the line; the bus handles the
    events it records, and retries the handler with back-off if it fails.
    """
    allocate(commands.Allocate(event.orderid, event.sku, event.qty), uow)
    # --8<-- [end:reallocate]


# --8<-- [start:out_of_stock]
def send_out_of_stock_notification(event: events.OutOfStock, notifications: Notifications) -> None:
    """Tell the stock team that a product ran out."""
    notifications.send(OUT_OF_STOCK_DESTINATION, f"Out of stock for {event.sku}")
    # --8<-- [end:out_of_stock]


# --8<-- [start:read_model]
def add_allocation_to_read_model(event: events.Allocated, read_model: AllocationsReadModel) -> None:
    """Record in the read model where the line went."""
    read_model.add(event.orderid, event.sku, event.batchref)


def remove_allocation_from_read_model(
    event: events.Deallocated, read_model: AllocationsReadModel
) -> None:
    """Forget in the read model where the line was; `reallocate` records where it goes next."""
    read_model.remove(event.orderid, event.sku)
    # --8<-- [end:read_model]

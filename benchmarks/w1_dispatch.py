"""W1, dispatch in memory: the limit and tactical's two variants.

- ``limit``: plain function calls doing the domain work: a dict lookup,
  ``product.allocate(line)``, and the product's events handed to the read-model function.
- ``tactical``: a bus from `tactical.bootstrap` over `DictUnitOfWork`, which keeps products in
  a dict: what the bus, the injection and the unit-of-work protocol cost.
- ``tactical-fake``: the same handlers over the transactional `InMemoryUnitOfWork` (private
  copies, conflict checks): what a test suite on the fakes pays per command.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from allocation.domain import commands, events
from allocation.domain.model import OrderLine, Product
from benchmarks._dataset import (
    AllocationsView,
    DictUnitOfWork,
    Measurement,
    add_allocation_to_read_model,
    build_products,
    checksum,
    command_args,
    timed,
)
from tactical import InMemoryRepository, InMemoryStore, InMemoryUnitOfWork, bootstrap

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from benchmarks._dataset import AllocationUnitOfWork
    from tactical import MessageBus, UnitOfWork


class InvalidSkuError(ValueError):
    """A command named a sku that no product has."""


def allocate(command: commands.Allocate, uow: AllocationUnitOfWork) -> str | None:
    """The service-layer handler, as in the book: load, allocate, commit."""
    line = OrderLine(command.orderid, command.sku, command.qty)
    with uow:
        product = uow.products.get(command.sku)
        if product is None:
            raise InvalidSkuError(command.sku)
        batchref = product.allocate(line)
        uow.commit()
    return batchref


def limit(params: Mapping[str, int]) -> Measurement:
    """The same domain work as plain function calls: nothing to dispatch, nothing to inject."""
    products = build_products(params["products"], params["batches"])
    args = command_args(params["n"], params["products"])
    view = AllocationsView()
    allocate_command = commands.Allocate
    allocated = events.Allocated

    def handle(command: commands.Allocate) -> str | None:
        product = products.get(command.sku)
        if product is None:
            raise InvalidSkuError(command.sku)
        batchref = product.allocate(OrderLine(command.orderid, command.sku, command.qty))
        for event in product.events:
            if type(event) is allocated:
                add_allocation_to_read_model(event, view)
        product.events.clear()
        return batchref

    def loop() -> None:
        for orderid, sku, qty in args:
            handle(allocate_command(orderid, sku, qty))

    seconds = timed(loop)
    return Measurement(seconds, len(args), checksum(view.rows))


def _run_bus(params: Mapping[str, int], bus: MessageBus, view: AllocationsView) -> Measurement:
    args = command_args(params["n"], params["products"])
    handle = bus.handle
    allocate_command = commands.Allocate

    def loop() -> None:
        for orderid, sku, qty in args:
            handle(allocate_command(orderid, sku, qty))

    seconds = timed(loop)
    return Measurement(seconds, len(args), checksum(view.rows))


def _bus(uow: Callable[[], UnitOfWork], view: AllocationsView) -> MessageBus:
    return bootstrap(
        uow=uow,
        handlers={
            commands.Allocate: allocate,
            events.Allocated: [add_allocation_to_read_model],
        },
        dependencies={"view": view},
    )


def tactical(params: Mapping[str, int]) -> Measurement:
    """Through `tactical.bootstrap`'s bus, over a dict-backed unit of work."""
    products = build_products(params["products"], params["batches"])
    view = AllocationsView()
    return _run_bus(params, _bus(functools.partial(DictUnitOfWork, products), view), view)


class FakeUnitOfWork(InMemoryUnitOfWork):
    """tactical's transactional fake, with the products repository the handler expects."""

    @property
    def products(self) -> InMemoryRepository[Product, str]:
        """The products of this transaction."""
        return self.repository(Product)


def tactical_fake(params: Mapping[str, int]) -> Measurement:
    """Through the same bus, over tactical's transactional in-memory fake."""
    store = InMemoryStore()
    with FakeUnitOfWork(store) as uow:
        for product in build_products(params["products"], params["batches"]).values():
            uow.products.add(product)
        uow.commit()
    uow.collect_new_events()
    view = AllocationsView()
    return _run_bus(params, _bus(functools.partial(FakeUnitOfWork, store), view), view)

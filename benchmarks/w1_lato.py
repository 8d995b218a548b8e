"""W1 in lato's idiom: an `Application` of modules, pydantic messages, injection, `ctx.publish`.

The command and the event are lato messages (pydantic models with an id); the handler gets
its unit of work (the same `DictUnitOfWork` as the ``tactical`` variant, opened per
transaction context) and the context by type, and publishes each domain `Allocated` as a lato
event, which the read-model module's handler receives with the view injected by type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import lato

from allocation.domain import events
from allocation.domain.model import OrderLine
from benchmarks._dataset import (
    AllocationsView,
    DictUnitOfWork,
    Measurement,
    build_products,
    checksum,
    command_args,
    timed,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from allocation.domain.model import Product


class Allocate(lato.Command):  # type: ignore[misc, unused-ignore]
    """Allocate an order line (lato's commands are pydantic models)."""

    orderid: str
    sku: str
    qty: int


class Allocated(lato.Event):  # type: ignore[misc, unused-ignore]
    """An order line was allocated to a batch."""

    orderid: str
    sku: str
    qty: int
    batchref: str


class InvalidSkuError(ValueError):
    """A command named a sku that no product has."""


def build_application(products: dict[str, Product], view: AllocationsView) -> lato.Application:
    """The application: an allocation module, a views module, a unit of work per transaction."""
    allocation = lato.ApplicationModule("allocation")

    @allocation.handler(Allocate)  # type: ignore[untyped-decorator, unused-ignore]
    def allocate(
        command: Allocate, uow: DictUnitOfWork, ctx: lato.TransactionContext
    ) -> str | None:
        line = OrderLine(command.orderid, command.sku, command.qty)
        with uow:
            product = uow.products.get(command.sku)
            if product is None:
                raise InvalidSkuError(command.sku)
            batchref = product.allocate(line)
            uow.commit()
        for event in uow.collect_new_events():
            if isinstance(event, events.Allocated):
                ctx.publish(
                    Allocated(
                        orderid=event.orderid,
                        sku=event.sku,
                        qty=event.qty,
                        batchref=event.batchref,
                    )
                )
        return batchref

    views = lato.ApplicationModule("views")

    @views.handler(Allocated)  # type: ignore[untyped-decorator, unused-ignore]
    def add_allocation_to_read_model(event: Allocated, view: AllocationsView) -> None:
        view.rows.append((event.orderid, event.sku, event.batchref))

    application = lato.Application("allocation", view=view)
    application.include_submodule(allocation)
    application.include_submodule(views)

    @application.on_enter_transaction_context  # type: ignore[untyped-decorator, unused-ignore]
    def begin(ctx: lato.TransactionContext) -> None:
        ctx.set_dependencies(uow=DictUnitOfWork(products))  # type: ignore[no-untyped-call, unused-ignore]

    return application


def run(params: Mapping[str, int]) -> Measurement:
    """W1 through lato's `Application.execute`."""
    products = build_products(params["products"], params["batches"])
    view = AllocationsView()
    execute = build_application(products, view).execute
    args = command_args(params["n"], params["products"])

    def loop() -> None:
        for orderid, sku, qty in args:
            execute(Allocate(orderid=orderid, sku=sku, qty=qty))

    seconds = timed(loop)
    return Measurement(seconds, len(args), checksum(view.rows))

"""W1 in eventsourcing's idiom: an `Application` over an event-sourced aggregate, in memory.

The aggregate is eventsourcing's own (`Aggregate` with ``@event`` methods), holding the book's
`Batch` entities and applying the book's allocation rule; it is created from one event that
carries its batches. Persistence is the in-memory POPO module: each command gets the product
from the repository (replayed from its stored events), allocates, and saves; the read model is
updated from the events that ``save`` recorded. Commands are the book's `Allocate`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import JSONTranscoder, Transcoding

from allocation.domain import commands
from allocation.domain.model import Batch, OrderLine
from benchmarks._dataset import (
    AllocationsView,
    Measurement,
    batch_specs,
    checksum,
    command_args,
    skus,
    timed,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


class DateAsISO(Transcoding):  # type: ignore[misc, unused-ignore]
    """Stores a batch's eta (a `date`) as an ISO string."""

    type = dt.date
    name = "date_iso"

    def encode(self, obj: dt.date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> dt.date:
        return dt.date.fromisoformat(data)


class Product(Aggregate):  # type: ignore[misc, unused-ignore]
    """The book's product, event-sourced: every change is an event that the method body applies."""

    @staticmethod
    def create_id(sku: str) -> uuid.UUID:
        """A product's id follows from its sku."""
        return uuid.uuid5(uuid.NAMESPACE_URL, f"/products/{sku}")

    @event("Registered")  # type: ignore[untyped-decorator, unused-ignore]
    def __init__(self, sku: str, batches: Sequence[Sequence[Any]]) -> None:
        self.sku = sku
        self.batches = [Batch(ref, sku, qty, eta) for ref, qty, eta in batches]
        self._by_reference = {batch.reference: batch for batch in self.batches}

    def allocate(self, line: OrderLine) -> str | None:
        """The book's rule: the first batch with room, in-warehouse first, then by eta."""
        for batch in sorted(self.batches):
            if batch.can_allocate(line):
                self._allocated(line.orderid, line.sku, line.qty, batch.reference)
                return batch.reference
        self._out_of_stock(line.sku)
        return None

    class Allocated(Aggregate.Event):  # type: ignore[misc, unused-ignore]
        """An order line was allocated to a batch."""

        orderid: str
        sku: str
        qty: int
        batchref: str

    @event(Allocated)  # type: ignore[untyped-decorator, unused-ignore]
    def _allocated(self, orderid: str, sku: str, qty: int, batchref: str) -> None:
        self._by_reference[batchref].allocate(OrderLine(orderid, sku, qty))

    @event("OutOfStock")  # type: ignore[untyped-decorator, unused-ignore]
    def _out_of_stock(self, sku: str) -> None:
        pass


class InvalidSkuError(ValueError):
    """A command named a sku that no product has."""


class AllocationService(Application[uuid.UUID]):  # type: ignore[misc, unused-ignore]
    """The allocation service as an eventsourcing application, with its read model."""

    def __init__(self, view: AllocationsView, env: Mapping[str, str] | None = None) -> None:
        super().__init__(env=dict(env or {"PERSISTENCE_MODULE": "eventsourcing.popo"}))
        self.view = view

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def add_product(self, sku: str, batches: Sequence[tuple[str, int, dt.date | None]]) -> None:
        """Register a product and its batches."""
        self.save(Product(sku, [list(spec) for spec in batches]))

    def allocate(self, command: commands.Allocate) -> str | None:
        """Allocate an order line to the best batch of its product, and save the event."""
        try:
            product: Product = self.repository.get(Product.create_id(command.sku))
        except AggregateNotFoundError as error:
            raise InvalidSkuError(command.sku) from error
        batchref: str | None = product.allocate(
            OrderLine(command.orderid, command.sku, command.qty)
        )
        for recording in self.save(product):
            self.project(recording.domain_event)
        return batchref

    def project(self, domain_event: object) -> None:
        """The read model's handler: a row per `Allocated`."""
        if isinstance(domain_event, Product.Allocated):
            self.view.rows.append((domain_event.orderid, domain_event.sku, domain_event.batchref))


def run(params: Mapping[str, int]) -> Measurement:
    """W1 through an eventsourcing application on in-memory (POPO) persistence."""
    view = AllocationsView()
    service = AllocationService(view)
    today = dt.datetime.now(dt.UTC).date()
    for sku in skus(params["products"]):
        service.add_product(sku, batch_specs(sku, params["batches"], today))
    args = command_args(params["n"], params["products"])
    allocate = service.allocate
    allocate_command = commands.Allocate

    def loop() -> None:
        for orderid, sku, qty in args:
            allocate(allocate_command(orderid, sku, qty))

    seconds = timed(loop)
    return Measurement(seconds, len(args), checksum(view.rows))

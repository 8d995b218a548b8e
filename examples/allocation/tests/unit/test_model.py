"""The domain model: batches, and the product that allocates order lines to them."""

from __future__ import annotations

from datetime import date, timedelta

from allocation.domain import events
from allocation.domain.model import Batch, OrderLine, Product

TODAY = date(2024, 3, 1)
TOMORROW = TODAY + timedelta(days=1)
LATER = TODAY + timedelta(days=10)


def make_batch_and_line(sku: str, batch_qty: int, line_qty: int) -> tuple[Batch, OrderLine]:
    return Batch("batch-001", sku, batch_qty, eta=TODAY), OrderLine("order-123", sku, line_qty)


class TestBatch:
    def test_allocating_reduces_the_available_quantity(self) -> None:
        """Allocating a line takes its quantity out of what the batch has left."""
        batch, line = make_batch_and_line("SMALL-TABLE", 20, 2)
        batch.allocate(line)
        assert batch.available_quantity == 18
        assert batch.allocated_quantity == 2

    def test_can_allocate_if_available_is_greater_than_required(self) -> None:
        """A batch with more than the line needs can take it."""
        batch, line = make_batch_and_line("ELEGANT-LAMP", 20, 2)
        assert batch.can_allocate(line)

    def test_can_allocate_if_available_equals_required(self) -> None:
        """A batch with exactly what the line needs can take it."""
        batch, line = make_batch_and_line("ELEGANT-LAMP", 2, 2)
        assert batch.can_allocate(line)

    def test_cannot_allocate_if_available_is_smaller_than_required(self) -> None:
        """A batch with less than the line needs cannot take it."""
        batch, line = make_batch_and_line("ELEGANT-LAMP", 2, 20)
        assert not batch.can_allocate(line)

    def test_cannot_allocate_if_skus_do_not_match(self) -> None:
        """A batch only takes lines of its own sku."""
        batch = Batch("batch-001", "UNCOMFORTABLE-CHAIR", 100, eta=None)
        assert not batch.can_allocate(OrderLine("order-123", "EXPENSIVE-TOASTER", 10))

    def test_a_line_that_does_not_fit_is_not_allocated(self) -> None:
        """Allocating a line that does not fit leaves the batch as it was."""
        batch, line = make_batch_and_line("ELEGANT-LAMP", 2, 20)
        batch.allocate(line)
        assert batch.available_quantity == 2

    def test_allocation_is_idempotent(self) -> None:
        """Allocating the same line twice allocates it once."""
        batch, line = make_batch_and_line("ANGULAR-DESK", 20, 2)
        batch.allocate(line)
        batch.allocate(line)
        assert batch.available_quantity == 18

    def test_deallocate_one_gives_back_an_allocated_line(self) -> None:
        """Deallocating returns the line and frees its quantity."""
        batch, line = make_batch_and_line("DECORATIVE-TRINKET", 20, 2)
        batch.allocate(line)
        assert batch.deallocate_one() == line
        assert batch.available_quantity == 20

    # --8<-- [start:entity_equality]
    def test_batches_are_equal_when_their_references_are(self) -> None:
        """A batch is an entity: its reference is its identity."""
        assert Batch("b1", "LAMP", 10, eta=None) == Batch("b1", "TABLE", 99, eta=TODAY)
        assert Batch("b1", "LAMP", 10, eta=None) != Batch("b2", "LAMP", 10, eta=None)
        # --8<-- [end:entity_equality]


class TestProductAllocate:
    # --8<-- [start:prefers_warehouse]
    def test_prefers_warehouse_batches_to_shipments(self) -> None:
        """Stock in the warehouse (no eta) is allocated before stock on its way."""
        in_stock = Batch("in-stock-batch", "RETRO-CLOCK", 100, eta=None)
        shipment = Batch("shipment-batch", "RETRO-CLOCK", 100, eta=TOMORROW)
        product = Product("RETRO-CLOCK", [shipment, in_stock])
        product.allocate(OrderLine("oref", "RETRO-CLOCK", 10))
        assert in_stock.available_quantity == 90
        assert shipment.available_quantity == 100
        # --8<-- [end:prefers_warehouse]

    def test_prefers_earlier_batches(self) -> None:
        """Among shipments, the one that arrives first is allocated first."""
        earliest = Batch("speedy-batch", "MINIMALIST-SPOON", 100, eta=TODAY)
        medium = Batch("normal-batch", "MINIMALIST-SPOON", 100, eta=TOMORROW)
        latest = Batch("slow-batch", "MINIMALIST-SPOON", 100, eta=LATER)
        product = Product("MINIMALIST-SPOON", [medium, latest, earliest])
        product.allocate(OrderLine("order1", "MINIMALIST-SPOON", 10))
        assert earliest.available_quantity == 90
        assert medium.available_quantity == 100
        assert latest.available_quantity == 100

    def test_falls_back_to_a_later_batch_when_the_best_one_is_too_small(self) -> None:
        """A line that does not fit in the warehouse goes to a shipment."""
        in_stock = Batch("in-stock-batch", "RETRO-CLOCK", 5, eta=None)
        shipment = Batch("shipment-batch", "RETRO-CLOCK", 100, eta=TOMORROW)
        product = Product("RETRO-CLOCK", [in_stock, shipment])
        assert product.allocate(OrderLine("oref", "RETRO-CLOCK", 10)) == "shipment-batch"

    def test_returns_the_allocated_batch_ref(self) -> None:
        """`allocate` answers with the reference of the batch it chose."""
        in_stock = Batch("in-stock-batch-ref", "HIGHBROW-POSTER", 100, eta=None)
        shipment = Batch("shipment-batch-ref", "HIGHBROW-POSTER", 100, eta=TOMORROW)
        product = Product("HIGHBROW-POSTER", [in_stock, shipment])
        assert product.allocate(OrderLine("oref", "HIGHBROW-POSTER", 10)) == in_stock.reference

    def test_records_an_allocated_event(self) -> None:
        """A successful allocation records `Allocated` with the chosen batch."""
        product = Product("LAMP", [Batch("b1", "LAMP", 10, eta=None)])
        product.allocate(OrderLine("o1", "LAMP", 3))
        assert product.events == [events.Allocated("o1", "LAMP", 3, "b1")]

    # --8<-- [start:out_of_stock_event]
    def test_records_out_of_stock_event_if_cannot_allocate(self) -> None:
        """When no batch has room, the product records `OutOfStock` and returns None."""
        product = Product("SMALL-FORK", [Batch("batch1", "SMALL-FORK", 10, eta=TODAY)])
        product.allocate(OrderLine("order1", "SMALL-FORK", 10))
        allocation = product.allocate(OrderLine("order2", "SMALL-FORK", 1))
        assert product.events[-1] == events.OutOfStock(sku="SMALL-FORK")
        assert allocation is None
        # --8<-- [end:out_of_stock_event]

    # --8<-- [start:version]
    def test_does_not_touch_the_version(self) -> None:
        """The unit of work counts versions, not the domain; `version_number` is an alias."""
        product = Product("LAMP", [Batch("b1", "LAMP", 10, eta=None)], version_number=7)
        product.allocate(OrderLine("o1", "LAMP", 3))
        assert (product.version, product.version_number) == (7, 7)
        # --8<-- [end:version]


class TestProductChangeBatchQuantity:
    def test_a_bigger_batch_keeps_its_lines(self) -> None:
        """Growing a batch deallocates nothing and frees the difference."""
        batch = Batch("b1", "LAMP", 10, eta=None)
        product = Product("LAMP", [batch])
        product.allocate(OrderLine("o1", "LAMP", 10))
        product.events.clear()
        product.change_batch_quantity("b1", 15)
        assert batch.available_quantity == 5
        assert product.events == []

    def test_deallocates_lines_until_the_batch_fits(self) -> None:
        """A shrunk batch gives lines back, recording `Deallocated` for each, until it fits."""
        batch = Batch("b1", "LAMP", 20, eta=None)
        product = Product("LAMP", [batch])
        lines = [OrderLine("o1", "LAMP", 10), OrderLine("o2", "LAMP", 10)]
        for line in lines:
            product.allocate(line)
        product.events.clear()
        product.change_batch_quantity("b1", 15)
        assert batch.available_quantity == 5
        [event] = product.events
        assert event in [events.Deallocated(x.orderid, x.sku, x.qty) for x in lines]

"""The read side on the fakes: event handlers keep the view of each order up to date."""

from __future__ import annotations

import functools
from datetime import date

import pytest

from allocation import bootstrap, views
from allocation.adapters.read_model import InMemoryAllocationsReadModel
from allocation.adapters.unit_of_work import FakeUnitOfWork
from allocation.domain import commands
from tactical import InMemoryStore, MessageBus


class Silent:
    def send(self, destination: str, message: str, /) -> None:
        pass


@pytest.fixture
def read_model() -> InMemoryAllocationsReadModel:
    return InMemoryAllocationsReadModel()


@pytest.fixture
def bus(read_model: InMemoryAllocationsReadModel) -> MessageBus:
    return bootstrap.bootstrap(
        uow=functools.partial(FakeUnitOfWork, InMemoryStore()),
        notifications=Silent(),
        read_model=read_model,
    )


def test_an_allocation_appears_in_the_view(
    bus: MessageBus, read_model: InMemoryAllocationsReadModel
) -> None:
    """Once an order line is allocated, the view of its order shows the sku and the batch."""
    bus.handle(commands.CreateBatch("sku1batch", "sku1", 50, None))
    bus.handle(commands.CreateBatch("sku2batch", "sku2", 50, date(2011, 1, 1)))
    bus.handle(commands.Allocate("order1", "sku1", 20))
    bus.handle(commands.Allocate("order1", "sku2", 20))
    bus.handle(commands.Allocate("otherorder", "sku1", 30))
    assert views.allocations("order1", read_model) == [
        {"sku": "sku1", "batchref": "sku1batch"},
        {"sku": "sku2", "batchref": "sku2batch"},
    ]


# --8<-- [start:reallocation]
def test_a_reallocation_moves_the_line_in_the_view(
    bus: MessageBus, read_model: InMemoryAllocationsReadModel
) -> None:
    """A line deallocated and allocated again is shown in its new batch only."""
    bus.handle(commands.CreateBatch("b1", "sku1", 50, None))
    bus.handle(commands.CreateBatch("b2", "sku1", 50, date(2011, 1, 1)))
    bus.handle(commands.Allocate("o1", "sku1", 40))
    bus.handle(commands.ChangeBatchQuantity("b1", 10))
    assert views.allocations("o1", read_model) == [{"sku": "sku1", "batchref": "b2"}]
    # --8<-- [end:reallocation]


def test_out_of_stock_leaves_the_view_empty(
    bus: MessageBus, read_model: InMemoryAllocationsReadModel
) -> None:
    """A line that found no batch is nowhere in the view."""
    bus.handle(commands.CreateBatch("b1", "sku1", 5, None))
    bus.handle(commands.Allocate("o1", "sku1", 10))
    assert views.allocations("o1", read_model) == []


def test_an_unknown_order_has_no_allocations(read_model: InMemoryAllocationsReadModel) -> None:
    """Nothing known of an order: an empty list."""
    assert views.allocations("nope", read_model) == []

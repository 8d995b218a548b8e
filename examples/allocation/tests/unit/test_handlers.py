"""The service layer, driven through the message bus with in-memory fakes."""

from __future__ import annotations

import functools
from collections import defaultdict
from datetime import date

import pytest

from allocation import bootstrap
from allocation.adapters.unit_of_work import FakeUnitOfWork
from allocation.domain import commands, events
from allocation.domain.model import Product
from allocation.service_layer.handlers import DuplicateBatchref, InvalidBatchref, InvalidSku
from tactical import Event, InMemoryStore, MessageBus


# --8<-- [start:fixtures]
class FakeNotifications:
    """Keeps what would have been sent, by destination."""

    def __init__(self) -> None:
        self.sent: defaultdict[str, list[str]] = defaultdict(list)

    def send(self, destination: str, message: str, /) -> None:
        self.sent[destination].append(message)


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def notifications() -> FakeNotifications:
    return FakeNotifications()


@pytest.fixture
def recorded() -> list[Event]:
    return []


@pytest.fixture
def bus(
    store: InMemoryStore, notifications: FakeNotifications, recorded: list[Event]
) -> MessageBus:
    return bootstrap.bootstrap(
        uow=functools.partial(FakeUnitOfWork, store),
        notifications=notifications,
        listeners=[recorded.append],
    )
    # --8<-- [end:fixtures]


def committed_product(store: InMemoryStore, sku: str) -> Product | None:
    """The product as committed: what a fresh unit of work on the store sees."""
    with FakeUnitOfWork(store) as uow:
        return uow.products.get(sku)


class TestAddBatch:
    def test_for_a_new_product(self, bus: MessageBus, store: InMemoryStore) -> None:
        """The first batch of a sku creates its product, committed."""
        bus.handle(commands.CreateBatch("b1", "CRUNCHY-ARMCHAIR", 100, eta=None))
        product = committed_product(store, "CRUNCHY-ARMCHAIR")
        assert product is not None
        assert [b.reference for b in product.batches] == ["b1"]

    def test_for_an_existing_product(self, bus: MessageBus, store: InMemoryStore) -> None:
        """Further batches of a sku join the product that exists."""
        bus.handle(commands.CreateBatch("b1", "GARISH-RUG", 100, eta=None))
        bus.handle(commands.CreateBatch("b2", "GARISH-RUG", 99, eta=date(2024, 3, 15)))
        product = committed_product(store, "GARISH-RUG")
        assert product is not None
        assert [b.reference for b in product.batches] == ["b1", "b2"]
        assert store.keys(Product) == ["GARISH-RUG"]

    def test_refuses_a_reference_that_exists(self, bus: MessageBus, store: InMemoryStore) -> None:
        """A batch reference is unique across products: a second one is refused, unwritten."""
        bus.handle(commands.CreateBatch("b1", "GARISH-RUG", 100, eta=None))
        with pytest.raises(DuplicateBatchref, match=r"^Batch b1 already exists$"):
            bus.handle(commands.CreateBatch("b1", "CRUNCHY-ARMCHAIR", 5, eta=None))
        assert store.keys(Product) == ["GARISH-RUG"]


class TestAllocate:
    # --8<-- [start:allocate]
    def test_returns_the_allocation(self, bus: MessageBus) -> None:
        """Handling `Allocate` returns the reference of the batch chosen."""
        bus.handle(commands.CreateBatch("batch1", "COMPLICATED-LAMP", 100, eta=None))
        assert bus.handle(commands.Allocate("o1", "COMPLICATED-LAMP", 10)) == "batch1"

    def test_errors_for_an_invalid_sku(self, bus: MessageBus) -> None:
        """A sku with no batch is rejected with the book's message."""
        bus.handle(commands.CreateBatch("b1", "AREALSKU", 100, eta=None))
        with pytest.raises(InvalidSku, match=r"^Invalid sku NONEXISTENTSKU$"):
            bus.handle(commands.Allocate("o1", "NONEXISTENTSKU", 10))
        # --8<-- [end:allocate]

    def test_commits(self, bus: MessageBus, store: InMemoryStore) -> None:
        """The allocation is committed: a fresh unit of work sees it, one version later."""
        bus.handle(commands.CreateBatch("b1", "OMINOUS-MIRROR", 100, eta=None))
        bus.handle(commands.Allocate("o1", "OMINOUS-MIRROR", 10))
        product = committed_product(store, "OMINOUS-MIRROR")
        assert product is not None
        assert product.batches[0].available_quantity == 90
        assert product.version == 2

    def test_records_allocated(self, bus: MessageBus, recorded: list[Event]) -> None:
        """The bus handles the `Allocated` event that the product recorded."""
        bus.handle(commands.CreateBatch("b1", "POPULAR-CURTAINS", 100, eta=None))
        bus.handle(commands.Allocate("o1", "POPULAR-CURTAINS", 10))
        assert recorded == [events.Allocated("o1", "POPULAR-CURTAINS", 10, "b1")]

    # --8<-- [start:out_of_stock]
    def test_sends_email_on_out_of_stock(
        self, bus: MessageBus, notifications: FakeNotifications
    ) -> None:
        """Running out of stock notifies the stock team, and allocates nothing."""
        bus.handle(commands.CreateBatch("b1", "POPULAR-CURTAINS", 9, eta=None))
        assert bus.handle(commands.Allocate("o1", "POPULAR-CURTAINS", 10)) is None
        assert notifications.sent == {"stock@made.com": ["Out of stock for POPULAR-CURTAINS"]}
        # --8<-- [end:out_of_stock]


class TestChangeBatchQuantity:
    def test_changes_the_available_quantity(self, bus: MessageBus, store: InMemoryStore) -> None:
        """The batch's new quantity is committed."""
        bus.handle(commands.CreateBatch("batch1", "ADORABLE-SETTEE", 100, eta=None))
        bus.handle(commands.ChangeBatchQuantity("batch1", 50))
        product = committed_product(store, "ADORABLE-SETTEE")
        assert product is not None
        assert product.batches[0].available_quantity == 50

    # --8<-- [start:reallocates]
    def test_reallocates_if_necessary(
        self, bus: MessageBus, store: InMemoryStore, recorded: list[Event]
    ) -> None:
        """Lines that no longer fit are deallocated and allocated again to another batch."""
        bus.handle(commands.CreateBatch("batch1", "INDIFFERENT-TABLE", 50, eta=None))
        bus.handle(commands.CreateBatch("batch2", "INDIFFERENT-TABLE", 50, date(2024, 3, 15)))
        bus.handle(commands.Allocate("order1", "INDIFFERENT-TABLE", 20))
        bus.handle(commands.Allocate("order2", "INDIFFERENT-TABLE", 20))
        recorded.clear()

        bus.handle(commands.ChangeBatchQuantity("batch1", 25))

        product = committed_product(store, "INDIFFERENT-TABLE")
        assert product is not None
        assert [b.available_quantity for b in product.batches] == [5, 30]
        deallocated, allocated = recorded
        assert isinstance(deallocated, events.Deallocated)
        assert allocated == events.Allocated(deallocated.orderid, "INDIFFERENT-TABLE", 20, "batch2")
        # --8<-- [end:reallocates]

    def test_errors_for_an_unknown_batch(self, bus: MessageBus) -> None:
        """A reference that no product has a batch of is rejected."""
        with pytest.raises(InvalidBatchref, match=r"^Invalid batch reference nope$"):
            bus.handle(commands.ChangeBatchQuantity("nope", 10))


class TestBootstrap:
    # --8<-- [start:defaults]
    def test_defaults_run_in_memory(self, capsys: pytest.CaptureFixture[str]) -> None:
        """With no arguments the service runs on a fresh in-memory store, notifying the console."""
        bus = bootstrap.bootstrap()
        bus.handle(commands.CreateBatch("b1", "LAMP", 1, eta=None))
        assert bus.handle(commands.Allocate("o1", "LAMP", 1)) == "b1"
        assert bus.handle(commands.Allocate("o2", "LAMP", 1)) is None
        assert capsys.readouterr().out == "notification to stock@made.com: Out of stock for LAMP\n"
        # --8<-- [end:defaults]

    def test_each_bus_has_its_own_default_store(self) -> None:
        """Two default buses share nothing."""
        bootstrap.bootstrap().handle(commands.CreateBatch("b1", "LAMP", 1, eta=None))
        with pytest.raises(InvalidSku):
            bootstrap.bootstrap().handle(commands.Allocate("o1", "LAMP", 1))

    def test_listeners_hear_every_event_before_its_handlers(
        self, store: InMemoryStore, notifications: FakeNotifications
    ) -> None:
        """A listener receives each event, handled or not, ahead of the service's handlers."""
        heard: list[str] = []

        def listen(event: Event) -> None:
            heard.append(f"{type(event).__name__}, {len(notifications.sent)} sent")

        bus = bootstrap.bootstrap(
            uow=functools.partial(FakeUnitOfWork, store),
            notifications=notifications,
            listeners=[listen],
        )
        bus.handle(commands.CreateBatch("b1", "LAMP", 1, eta=None))
        bus.handle(commands.Allocate("o1", "LAMP", 1))
        bus.handle(commands.Allocate("o2", "LAMP", 1))
        assert heard == ["Allocated, 0 sent", "OutOfStock, 0 sent"]
        assert len(notifications.sent) == 1

"""A guided tour of the allocation service, run in memory: ``allocation demo``.

Each step sends one command to the message bus and prints it, then the events it caused
(in the order the bus handled them) and the command's result. The output is the same on
every run: dates are fixed relative to a fixed "today", and no step depends on the order
of a set.
"""

from __future__ import annotations

import dataclasses
import functools
from datetime import date, timedelta
from typing import TYPE_CHECKING

from allocation.adapters.notifications import ConsoleNotifications
from allocation.adapters.unit_of_work import FakeUnitOfWork
from allocation.bootstrap import bootstrap
from allocation.domain import commands, events
from allocation.service_layer import handlers
from tactical import Event, InMemoryStore

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TextIO

    from tactical import Command, Message, MessageBus, Middleware

TODAY = date(2024, 3, 1)
SKU = "RETRO-CLOCK"
INDENT = "   "
NESTED = INDENT + " " * 9


def describe(message: object) -> str:
    """A message as one readable line: its type and its fields, dates in ISO format."""
    if dataclasses.is_dataclass(message):
        fields = ", ".join(
            f"{field.name}={getattr(message, field.name)}" for field in dataclasses.fields(message)
        )
        return f"{type(message).__name__}({fields})"
    return repr(message)


class Journal:
    """Prints every event the service records, and keeps which batch each order is in.

    Registered as a listener of every event, it is also a tiny read model: the kind of
    view that the book keeps up to date with event handlers.
    """

    def __init__(self, out: TextIO) -> None:
        """Print to ``out``; no order is allocated yet."""
        self.out = out
        self.allocations: dict[str, str] = {}

    def __call__(self, event: Event) -> None:
        """Print ``event`` and fold it into the allocations."""
        self.out.write(f"{INDENT}event    {describe(event)}\n")
        if isinstance(event, events.Allocated):
            self.allocations[event.orderid] = event.batchref
        elif isinstance(event, events.Deallocated):
            self.allocations.pop(event.orderid, None)


def _announce_handlers(out: TextIO) -> Middleware:
    """A bus middleware that prints which service-layer handler takes each event."""

    def announce(message: Message, handler: str, proceed: Callable[[], Any]) -> Any:
        module, _, name = handler.rpartition(".")
        if isinstance(message, Event) and module == handlers.__name__:
            out.write(f"{NESTED}handled by {name}\n")
        return proceed()

    return announce


class _Tour:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.store = InMemoryStore()
        self.journal = Journal(out)
        self.bus: MessageBus = bootstrap(
            uow=functools.partial(FakeUnitOfWork, self.store),
            notifications=ConsoleNotifications(out, prefix=NESTED),
            middleware=[_announce_handlers(out)],
            listeners=[self.journal],
        )
        self.steps = 0

    def say(self, text: str) -> None:
        self.out.write(f"{text}\n")

    def step(self, text: str) -> None:
        self.steps += 1
        self.say(f"\n{self.steps}. {text}")

    def send(self, command: Command) -> None:
        self.say(f"{INDENT}command  {describe(command)}")
        result = self.bus.handle(command)
        if isinstance(command, commands.Allocate):
            outcome = "not allocated" if result is None else f"allocated to {result}"
            self.say(f"{INDENT}result   {outcome}")

    def show_allocations(self) -> None:
        self.say("\nWhere each order is (kept from the events above):")
        for orderid, batchref in sorted(self.journal.allocations.items()):
            self.say(f"{INDENT}{orderid:<9} -> {batchref}")
        self.say(f"\nThe batches of {SKU} (read through a unit of work):")
        with FakeUnitOfWork(self.store) as uow:
            product = uow.products.get(SKU)
            batches = [] if product is None else product.batches
            for batch in batches:
                where = "in the warehouse" if batch.eta is None else f"arriving {batch.eta}"
                self.say(
                    f"{INDENT}{batch.reference:<9} {where:<20} "
                    f"{batch.allocated_quantity:>3} allocated {batch.available_quantity:>3} free"
                )
            version = 0 if product is None else product.version
        self.say(f"{INDENT}(product version {version}: one per committed change)")


def run(out: TextIO) -> None:
    """Walk through batches, allocation, running out of stock and a batch that shrinks."""
    tour = _Tour(out)
    eta = TODAY + timedelta(days=14)
    tour.say('The allocation service of "Architecture Patterns with Python", on tactical.')
    tour.say("Each step sends a command to the message bus; under it come the events it")
    tour.say("caused, in the order the bus handled them, and the command's result.")
    tour.say(f"Everything runs in memory. Today is {TODAY}.")

    tour.step(f"Stock arrives: 10 clocks in the warehouse, 50 on a ship due on {eta}.")
    tour.send(commands.CreateBatch("warehouse", SKU, 10, eta=None))
    tour.send(commands.CreateBatch("ship", SKU, 50, eta=eta))

    tour.step("An order for 6 clocks: stock in the warehouse goes first, it can ship today.")
    tour.send(commands.Allocate("order-1", SKU, 6))

    tour.step("An order for 8: only 4 are left in the warehouse, so it waits for the ship.")
    tour.send(commands.Allocate("order-2", SKU, 8))

    tour.step("An order for 50: no batch has room, so the stock team is notified.")
    tour.send(commands.Allocate("order-3", SKU, 50))

    tour.step(
        "Six warehouse clocks turn out broken: the batch shrinks to 4, order-1 no longer\n"
        "   fits, and is deallocated, then allocated again, to the ship."
    )
    tour.send(commands.ChangeBatchQuantity("warehouse", 4))

    tour.show_allocations()

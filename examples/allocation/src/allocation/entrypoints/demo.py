"""A guided tour of the allocation service: ``allocation demo``.

It runs the real service, its SQL unit of work and its read model, on the embedded
database, SQLite, in a file of its own that it deletes afterwards: it needs no service, and
leaves the configured database alone. Each step sends one command to the message bus and
prints it, then the events it caused (in the order the bus handled them) and the command's
result. The output is the same on every run: dates are fixed relative to a fixed "today",
and no step depends on the order of a set.
"""

from __future__ import annotations

import dataclasses
import functools
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from allocation import views
from allocation.adapters import orm
from allocation.adapters.notifications import ConsoleNotifications
from allocation.adapters.read_model import SqlAllocationsReadModel
from allocation.adapters.schema import create_tables, open_database
from allocation.adapters.unit_of_work import SqlUnitOfWork
from allocation.bootstrap import bootstrap
from allocation.domain import commands
from allocation.service_layer import handlers
from tactical import Event
from tactical.sqlalchemy import create_session_factory

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TextIO

    from sqlalchemy import Engine

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
    """Prints every event the service records: a listener of every event type."""

    def __init__(self, out: TextIO) -> None:
        """Print to ``out``."""
        self.out = out

    def __call__(self, event: Event) -> None:
        """Print ``event``."""
        self.out.write(f"{INDENT}event    {describe(event)}\n")


def _announce_handlers(out: TextIO) -> Middleware:
    """A bus middleware that prints which service-layer handler takes each event."""

    def announce(message: Message, handler: str, proceed: Callable[[], Any]) -> Any:
        module, _, name = handler.rpartition(".")
        if isinstance(message, Event) and module == handlers.__name__:
            out.write(f"{NESTED}handled by {name}\n")
        return proceed()

    return announce


class _Tour:
    def __init__(self, out: TextIO, engine: Engine) -> None:
        self.out = out
        orm.start_mappers()
        create_tables(engine)
        self.sessions = create_session_factory(engine)
        self.read_model = SqlAllocationsReadModel(engine)
        self.bus: MessageBus = bootstrap(
            uow=functools.partial(SqlUnitOfWork, self.sessions),
            notifications=ConsoleNotifications(out, prefix=NESTED),
            read_model=self.read_model,
            middleware=[_announce_handlers(out)],
            listeners=[Journal(out)],
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

    def show_allocations(self, orderids: list[str]) -> None:
        self.say("\nWhere each order is (the read model, kept up to date by event handlers):")
        for orderid in orderids:
            found = views.allocations(orderid, self.read_model)
            where = ", ".join(row["batchref"] for row in found) or "nowhere"
            self.say(f"{INDENT}{orderid:<9} -> {where}")
        self.say(f"\nThe batches of {SKU} (the aggregate, read through a unit of work):")
        with SqlUnitOfWork(self.sessions) as uow:
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
    with tempfile.TemporaryDirectory(prefix="allocation-demo-") as folder:
        engine = open_database(f"sqlite:///{Path(folder) / 'demo.sqlite3'}")
        try:
            _walk(_Tour(out, engine))
        finally:
            engine.dispose()


def _walk(tour: _Tour) -> None:
    eta = TODAY + timedelta(days=14)
    tour.say('The allocation service of "Architecture Patterns with Python", on tactical.')
    tour.say("Each step sends a command to the message bus; under it come the events it")
    tour.say("caused, in the order the bus handled them, and the command's result.")
    tour.say("It all runs on SQLite, in a throw-away file: no service is needed.")
    tour.say(f"Today is {TODAY}.")

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

    tour.show_allocations(["order-1", "order-2", "order-3"])

"""Wiring: the allocation service's handlers and their dependencies, as one message bus.

`bootstrap` builds the bus from whatever it is given (tests give fakes); `from_config`
builds the real service from a `Config`: the database with its outbox (and inbox), the
mail server. Entrypoints call one of them once and hand the bus messages.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import tactical
from allocation.adapters import messaging, orm
from allocation.adapters.notifications import (
    ConsoleNotifications,
    EmailNotifications,
    UnconfiguredNotifications,
)
from allocation.adapters.read_model import InMemoryAllocationsReadModel, SqlAllocationsReadModel
from allocation.adapters.schema import create_tables, open_database
from allocation.adapters.unit_of_work import FakeUnitOfWork, SqlUnitOfWork
from allocation.domain import commands, events
from allocation.service_layer import handlers
from tactical import InMemoryStore
from tactical.sqlalchemy import Inbox, Outbox, create_session_factory

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from allocation.config import Config
    from allocation.service_layer.handlers import Notifications
    from allocation.service_layer.read_model import AllocationsReadModel
    from allocation.service_layer.unit_of_work import AllocationUnitOfWork
    from tactical import DeadLetterHook, Event, Message, MessageBus, Middleware

EVENT_TYPES: tuple[type[Event], ...] = (events.Allocated, events.Deallocated, events.OutOfStock)
"""Every event the service records."""


# --8<-- [start:bootstrap]
def bootstrap(
    *,
    uow: Callable[[], AllocationUnitOfWork] | None = None,
    notifications: Notifications | None = None,
    read_model: AllocationsReadModel | None = None,
    middleware: Sequence[Middleware] = (),
    listeners: Sequence[Callable[[Event], object]] = (),
    on_dead_letter: DeadLetterHook | None = None,
) -> MessageBus:
    """Build the allocation service's message bus.

    Args:
        uow: A factory of units of work, called once per message handled; by default
            in-memory units of work sharing one fresh store.
        notifications: Where out-of-stock notifications go; the console by default.
        read_model: The read side that event handlers keep up to date; by default a fresh
            one in memory.
        middleware: Wrapped around every handler call (logging, timing).
        listeners: Called with every event the service records, before its handlers run
            (a journal for demos and tests; every event reaches them, handled or not).
        on_dead_letter: Receives each event whose handler failed every attempt (after the
            bus has logged it).

    Returns:
        The bus: ``bus.handle(command)`` returns what the command's handler returns.
    """
    if uow is None:
        uow = functools.partial(FakeUnitOfWork, InMemoryStore())
    if notifications is None:
        notifications = ConsoleNotifications()
    if read_model is None:
        read_model = InMemoryAllocationsReadModel()
    routes: dict[type[Message], list[Callable[..., Any]]] = {
        commands.CreateBatch: [handlers.add_batch],
        commands.Allocate: [handlers.allocate],
        commands.ChangeBatchQuantity: [handlers.change_batch_quantity],
    }
    for event_type in EVENT_TYPES:
        routes[event_type] = list(listeners)
    routes[events.Allocated].append(handlers.add_allocation_to_read_model)
    # The line leaves the read model before `reallocate` records where it goes next.
    routes[events.Deallocated].extend(
        [handlers.remove_allocation_from_read_model, handlers.reallocate]
    )
    routes[events.OutOfStock].append(handlers.send_out_of_stock_notification)
    return tactical.bootstrap(
        uow=uow,
        handlers=routes,
        dependencies={"notifications": notifications, "read_model": read_model},
        middleware=middleware,
        on_dead_letter=on_dead_letter,
    )
    # --8<-- [end:bootstrap]


@dataclass(frozen=True, slots=True)
class Service:
    """The allocation service, wired to real infrastructure: what entrypoints run.

    Attributes:
        bus: Handles commands (each in its own unit of work, in any thread).
        read_model: Answers the views.
        engine: The database's engine.
        sessions: The units of work's sessions (they write the outbox, and the inbox).
        outbox: Where `Allocated` events wait for the relay.
        inbox: Records the inbound messages handled, when the service consumes.
    """

    bus: MessageBus
    read_model: AllocationsReadModel
    engine: Engine
    sessions: Callable[[], Session]
    outbox: Outbox
    inbox: Inbox | None = None

    def close(self) -> None:
        """Close the database connections."""
        self.engine.dispose()


# --8<-- [start:from_config]
def from_config(
    config: Config,
    *,
    create_schema: bool = True,
    consumer: bool = False,
    middleware: Sequence[Middleware] = (),
) -> Service:
    """The service on the configured database and mail server.

    Args:
        config: Where the database and the mail server are.
        create_schema: Create the tables that are missing first.
        consumer: Record each inbound message handled in the inbox (to consume a stream).
        middleware: Wrapped around every handler call.
    """
    orm.start_mappers()
    engine = open_database(config.database_url)
    if create_schema:
        create_tables(engine)
    outbox = messaging.make_outbox(config.stream_prefix)
    with_outbox = outbox.sessions(create_session_factory(engine))
    inbox = Inbox(messaging.inbox, engine, group=messaging.CONSUMER_GROUP) if consumer else None
    sessions = with_outbox if inbox is None else inbox.sessions(with_outbox)
    notifications: Notifications = (
        UnconfiguredNotifications()
        if config.smtp_host is None
        else EmailNotifications(config.smtp_host, config.smtp_port)
    )
    read_model = SqlAllocationsReadModel(engine)
    bus = bootstrap(
        uow=functools.partial(SqlUnitOfWork, sessions),
        notifications=notifications,
        read_model=read_model,
        middleware=middleware,
        on_dead_letter=messaging.OutboxDeadLetters(
            outbox, with_outbox, config.stream_prefix + messaging.DEAD_LETTERS
        ),
    )
    return Service(bus, read_model, engine, sessions, outbox, inbox)
    # --8<-- [end:from_config]

"""Wiring: the allocation service's handlers and their dependencies, as one message bus.

Entrypoints call `bootstrap` once and hand the bus messages; tests call it with fakes.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import tactical
from allocation.adapters.notifications import ConsoleNotifications
from allocation.adapters.unit_of_work import FakeUnitOfWork
from allocation.domain import commands, events
from allocation.service_layer import handlers
from tactical import InMemoryStore

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from allocation.service_layer.handlers import Notifications
    from allocation.service_layer.unit_of_work import AllocationUnitOfWork
    from tactical import Event, Message, MessageBus, Middleware

EVENT_TYPES: tuple[type[Event], ...] = (events.Allocated, events.Deallocated, events.OutOfStock)
"""Every event the service records."""


def bootstrap(
    *,
    uow: Callable[[], AllocationUnitOfWork] | None = None,
    notifications: Notifications | None = None,
    middleware: Sequence[Middleware] = (),
    listeners: Sequence[Callable[[Event], object]] = (),
) -> MessageBus:
    """Build the allocation service's message bus.

    Args:
        uow: A factory of units of work, called once per message handled; by default
            in-memory units of work sharing one fresh store.
        notifications: Where out-of-stock notifications go; the console by default.
        middleware: Wrapped around every handler call (logging, timing).
        listeners: Called with every event the service records, before its handlers run
            (a journal for demos and tests; every event reaches them, handled or not).

    Returns:
        The bus: ``bus.handle(command)`` returns what the command's handler returns.
    """
    if uow is None:
        uow = functools.partial(FakeUnitOfWork, InMemoryStore())
    if notifications is None:
        notifications = ConsoleNotifications()
    routes: dict[type[Message], list[Callable[..., Any]]] = {
        commands.CreateBatch: [handlers.add_batch],
        commands.Allocate: [handlers.allocate],
        commands.ChangeBatchQuantity: [handlers.change_batch_quantity],
    }
    for event_type in EVENT_TYPES:
        routes[event_type] = list(listeners)
    routes[events.Deallocated].append(handlers.reallocate)
    routes[events.OutOfStock].append(handlers.send_out_of_stock_notification)
    return tactical.bootstrap(
        uow=uow,
        handlers=routes,
        dependencies={"notifications": notifications},
        middleware=middleware,
    )

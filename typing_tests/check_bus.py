"""What users' code sees of handlers, bootstrap and the message bus."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, assert_type

from tactical import (
    BoundHandler,
    Command,
    DeadLetterHook,
    Event,
    Handlers,
    InMemoryStore,
    InMemoryUnitOfWork,
    Message,
    MessageBus,
    Middleware,
    UnitOfWork,
    bootstrap,
)


@dataclass(frozen=True)
class Greet(Command):
    name: str


@dataclass(frozen=True)
class Greeted(Event):
    name: str


handlers = Handlers()


@handlers.register
def greet(command: Greet, uow: UnitOfWork, greeting: str = "Hello") -> str:
    return f"{greeting}, {command.name}"


@handlers.register
def remember(event: Greeted, seen: list[str]) -> None:
    seen.append(event.name)


def a_registered_handler_keeps_its_type(uow: UnitOfWork) -> None:
    assert_type(greet(Greet("Ada"), uow), str)
    assert_type(greet(Greet("Ada"), uow=uow, greeting="Hi"), str)
    registered = handlers.register(remember)
    assert_type(registered(Greeted("Ada"), seen=[]), None)
    registered(Greeted("Ada"), seen="not a list")  # type: ignore[arg-type]
    greet(Greeted("Ada"), uow)  # type: ignore[arg-type]
    handlers.add(Greet, greet)
    for message_type, handler in handlers:
        assert_type(message_type, type[Message])
        assert_type(handler, Callable[..., Any])


def bootstrap_returns_a_message_bus() -> None:
    seen: list[str] = []
    bus = bootstrap(
        uow=functools.partial(InMemoryUnitOfWork, InMemoryStore()),
        handlers=handlers,
        dependencies={"seen": seen},
    )
    assert_type(bus, MessageBus)
    assert_type(bus.handle(Greet("Ada")), Any)
    assert_type(bus.handles(Greet), bool)
    mapped = bootstrap(uow=InMemoryUnitOfWork, handlers={Greet: greet, Greeted: [remember]})
    assert_type(mapped, MessageBus)
    bootstrap(uow=InMemoryUnitOfWork(), handlers=handlers)  # type: ignore[arg-type]


def timing(message: Message, handler: str, proceed: Callable[[], Any], /) -> Any:
    return proceed()


def on_dead_letter(event: Event, handler: str, error: Exception, /) -> None:
    pass


def bound(message: Any, uow: Any, /) -> Any:
    return None


def the_protocols_accept_plain_functions() -> None:
    middleware: Middleware = timing
    hook: DeadLetterHook = on_dead_letter
    handler: BoundHandler = bound
    bus = MessageBus(
        uow=InMemoryUnitOfWork,
        commands={Greet: handler},
        events={Greeted: [handler]},
        middleware=[middleware],
        on_dead_letter=hook,
        sleep=lambda seconds: None,
    )
    assert_type(bus, MessageBus)
    bootstrap(
        uow=InMemoryUnitOfWork,
        handlers=handlers,
        middleware=[timing],
        on_dead_letter=on_dead_letter,
        clock=lambda: 0.0,
        random=lambda: 0.5,
    )

"""`bootstrap`: wire handlers and their dependencies into a `MessageBus`, checked up front."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeGuard, TypeVar, cast

from tactical._bus import (
    COMMAND_RETRY,
    EVENT_RETRY,
    BoundHandler,
    DeadLetterHook,
    MessageBus,
    Middleware,
    handler_name,
)
from tactical._exceptions import BootstrapError
from tactical._messages import Command, Event, Message

if TYPE_CHECKING:
    from tactical._repository import UnitOfWork
    from tactical._retry import Backoff

__all__ = ["Handlers", "bootstrap"]

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=Message)

UOW = "uow"
"""The parameter name through which a handler receives the current unit of work."""


class Handlers:
    """A registry of handlers, filled with a decorator; pass it to `bootstrap`.

    The message type is read from the annotation of the handler's first parameter, once,
    when the handler is registered.

    Example:
        >>> from dataclasses import dataclass
        >>> from tactical import Command, Handlers
        >>> @dataclass(frozen=True)
        ... class Greet(Command):
        ...     name: str
        >>> handlers = Handlers()
        >>> @handlers.register
        ... def greet(command: Greet) -> str:
        ...     return f"hello {command.name}"
        >>> [message_type.__name__ for message_type, _ in handlers]
        ['Greet']
    """

    def __init__(self) -> None:
        self._entries: list[tuple[type[Message], Callable[..., Any]]] = []

    def register(self, handler: F, /) -> F:
        """Register ``handler`` for the message type its first parameter is annotated with.

        Raises:
            BootstrapError: The first parameter has no annotation naming a message type.
        """
        message_type = _first_parameter_type(handler)
        self.add(message_type, handler)
        return handler

    def add(self, message_type: type[Message], handler: Callable[..., Any], /) -> None:
        """Register ``handler`` for ``message_type`` explicitly."""
        self._entries.append((message_type, handler))

    def __iter__(self) -> Iterator[tuple[type[Message], Callable[..., Any]]]:
        """The registrations, in order."""
        return iter(self._entries)


HandlerSpec = Callable[..., Any] | Sequence[Callable[..., Any]]


def bootstrap(
    *,
    uow: Callable[[], UnitOfWork],
    handlers: Handlers | Mapping[type[Message], HandlerSpec],
    dependencies: Mapping[str, object] | None = None,
    middleware: Sequence[Middleware] = (),
    command_retry: Backoff = COMMAND_RETRY,
    event_retry: Backoff = EVENT_RETRY,
    on_dead_letter: DeadLetterHook | None = None,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    random: Callable[[], float] | None = None,
) -> MessageBus:
    """Build a [`MessageBus`][tactical.MessageBus], injecting dependencies into handlers.

    A handler's first parameter receives the message. Every other parameter is injected by
    name: ``uow`` receives the unit of work of the current `handle` call (a fresh one per
    call, from the ``uow`` factory), and any other name receives the dependency of that name.
    A parameter with a default value may go without. Everything is checked here, once: no
    signature is inspected per message.

    Args:
        uow: A factory of units of work (a class, or a function), called once per `handle`.
        handlers: Message types to a handler or a list of handlers, or a
            [`Handlers`][tactical.Handlers] registry.
        dependencies: Named objects to inject (a mailer, a publisher, a clock...).
        middleware: Wrapped around every handler call; see
            [`Middleware`][tactical.Middleware].
        command_retry: The back-off for commands that raise `ConcurrencyError`.
        event_retry: The back-off for failing event handlers.
        on_dead_letter: Receives each event whose handler failed every attempt.
        sleep: How to wait between attempts.
        clock: Monotonic seconds, for retry deadlines.
        random: Floats in ``[0, 1)``, for jitter.

    Raises:
        BootstrapError: A parameter no dependency provides, two handlers for one command, a
            handler for something that is not a message type, a handler that is not callable.

    Example:
        >>> from dataclasses import dataclass
        >>> from tactical import Command, InMemoryUnitOfWork, bootstrap
        >>> @dataclass(frozen=True)
        ... class Greet(Command):
        ...     name: str
        >>> def greet(command: Greet, greeting: str) -> str:
        ...     return f"{greeting}, {command.name}"
        >>> bus = bootstrap(
        ...     uow=InMemoryUnitOfWork,
        ...     handlers={Greet: greet},
        ...     dependencies={"greeting": "Hello"},
        ... )
        >>> bus.handle(Greet("Ada"))
        'Hello, Ada'
    """
    provided = dict(dependencies or {})
    if UOW in provided:
        raise BootstrapError("'uow' is reserved for the unit of work; pass it as uow=")
    if not callable(uow):
        raise BootstrapError(f"uow must be a factory of units of work, got {uow!r}")
    commands: dict[type[Command], BoundHandler] = {}
    events: dict[type[Event], list[BoundHandler]] = {}
    for message_type, handler in _registrations(handlers):
        bound = _bind(handler, provided)
        if _is_subclass(message_type, Command):
            if message_type in commands:
                raise BootstrapError(
                    f"two handlers for command {message_type.__qualname__}: "
                    f"{handler_name(commands[message_type])} and {handler_name(handler)}; "
                    "a command has exactly one"
                )
            commands[message_type] = bound
        elif _is_subclass(message_type, Event):
            events.setdefault(message_type, []).append(bound)
        else:
            raise BootstrapError(
                f"{handler_name(handler)} is registered for {message_type!r}, "
                "which is not a Command or Event type"
            )
    return MessageBus(
        uow=uow,
        commands=commands,
        events=events,
        middleware=middleware,
        command_retry=command_retry,
        event_retry=event_retry,
        on_dead_letter=on_dead_letter,
        sleep=sleep,
        clock=clock,
        random=random,
    )


def _is_subclass(candidate: object, kind: type[M]) -> TypeGuard[type[M]]:
    return isinstance(candidate, type) and issubclass(candidate, kind)


def _registrations(
    handlers: Handlers | Mapping[type[Message], HandlerSpec],
) -> Iterator[tuple[type[Message], Callable[..., Any]]]:
    if isinstance(handlers, Handlers):
        yield from handlers
        return
    for message_type, spec in handlers.items():
        if callable(spec):
            yield message_type, spec
        elif isinstance(spec, (list, tuple)):
            for handler in spec:
                yield message_type, handler
        else:
            raise BootstrapError(
                f"the handler of {getattr(message_type, '__qualname__', message_type)!r} "
                f"must be a callable or a list of callables, got {spec!r}"
            )


def _bind(handler: Callable[..., Any], provided: Mapping[str, object]) -> BoundHandler:
    """Turn ``handler(message, **named)`` into ``bound(message, uow)``, once."""
    if not callable(handler):
        raise BootstrapError(f"handler {handler!r} is not callable")
    wants_uow, injected, positional = _injection_plan(handler, provided)
    # The common shapes are called positionally: keyword calls and partials cost per message.
    if positional and wants_uow and not injected:
        return cast("BoundHandler", handler)  # handler(message, uow): the bus's own shape
    bound: BoundHandler
    if positional and not wants_uow:
        arguments = tuple(injected.values())

        def bound(message: Any, uow: Any, /) -> Any:  # noqa: ARG001 - the bus's calling shape
            return handler(message, *arguments)
    else:
        target = functools.partial(handler, **injected) if injected else handler
        if wants_uow:

            def bound(message: Any, uow: Any, /) -> Any:
                return target(message, uow=uow)
        else:

            def bound(message: Any, uow: Any, /) -> Any:  # noqa: ARG001 - the bus's calling shape
                return target(message)

    bound.__qualname__ = getattr(handler, "__qualname__", type(handler).__qualname__)  # type: ignore[attr-defined]
    bound.__module__ = getattr(handler, "__module__", None)  # type: ignore[assignment]
    return bound


def _injection_plan(
    handler: Callable[..., Any], provided: Mapping[str, object]
) -> tuple[bool, dict[str, object], bool]:
    """How to call ``handler``: with the unit of work or not, with which dependencies.

    Returns whether it takes ``uow``, the dependencies it takes (in signature order), and
    whether all of them can be passed positionally in that order.
    """
    import inspect  # only at bootstrap, to keep `import tactical` fast

    empty = inspect.Parameter.empty
    name = handler_name(handler)
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError) as error:
        raise BootstrapError(f"cannot read the signature of handler {name}: {error}") from error
    parameters = list(signature.parameters.values())
    if not parameters or parameters[0].kind.name not in _POSITIONAL:
        raise BootstrapError(f"handler {name}() must take the message as its first parameter")
    wants_uow = False
    positional = True
    injected: dict[str, object] = {}
    for parameter in parameters[1:]:
        kind = parameter.kind.name
        if kind in _VARIADIC:
            positional = False
            continue
        if kind == "POSITIONAL_ONLY":
            raise BootstrapError(
                f"handler {name}() parameter {parameter.name!r} is positional-only; "
                "dependencies are injected by name"
            )
        if parameter.name == UOW:
            wants_uow = True
        elif parameter.name in provided:
            injected[parameter.name] = provided[parameter.name]
        elif parameter.default is empty:
            raise BootstrapError(
                f"handler {name}() needs {parameter.name!r}, which no dependency provides "
                f"(dependencies: {', '.join(sorted(provided)) or 'none'})"
            )
        else:
            positional = False  # a parameter left to its default: pass the others by name
            continue
        positional = positional and kind == "POSITIONAL_OR_KEYWORD"
    return wants_uow, injected, positional


_POSITIONAL = ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")
_VARIADIC = ("VAR_POSITIONAL", "VAR_KEYWORD")


def _first_parameter_type(handler: Callable[..., Any]) -> type[Message]:
    import inspect  # only at bootstrap, to keep `import tactical` fast

    name = handler_name(handler)
    try:
        parameters = list(inspect.signature(handler).parameters.values())
    except (TypeError, ValueError) as error:
        raise BootstrapError(f"cannot read the signature of handler {name}: {error}") from error
    annotation = parameters[0].annotation if parameters else None
    for _ in range(2):  # a quoted annotation under postponed evaluation is a string twice
        if not isinstance(annotation, str):
            break
        # Only the message's annotation is resolved: the others may name types that exist
        # for type checkers only (imported under TYPE_CHECKING).
        namespace = getattr(inspect.unwrap(handler), "__globals__", {})
        try:
            annotation = eval(annotation, namespace)  # noqa: S307 - the handler's own source text
        except Exception as error:
            raise BootstrapError(
                f"cannot resolve the annotation {annotation!r} of handler {name}: {error}"
            ) from error
    message_type = annotation
    if not (_is_subclass(message_type, Command) or _is_subclass(message_type, Event)):
        raise BootstrapError(
            f"handler {name}(): annotate the first parameter with the message type it handles"
        )
    return cast("type[Message]", message_type)

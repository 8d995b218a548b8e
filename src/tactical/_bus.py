"""The message bus: a mapping from message type to handlers, and a queue."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Protocol, cast

from tactical._exceptions import BootstrapError, ConcurrencyError, NoHandlerError
from tactical._messages import Command, Event, Message
from tactical._retry import Backoff, call_with_backoff

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from tactical._repository import UnitOfWork

__all__ = [
    "COMMAND_RETRY",
    "EVENT_RETRY",
    "BoundHandler",
    "DeadLetterHook",
    "MessageBus",
    "Middleware",
]

LOGGER = "tactical.bus"
"""The name of the logger that reports failed event handlers."""

COMMAND_RETRY = Backoff(initial=0.002, factor=2.0, cap=0.2, jitter=True, attempts=None, deadline=30)
"""The default retry of a command that raised `ConcurrencyError`: a 30-second budget."""

EVENT_RETRY = Backoff(initial=0.05, factor=2.0, cap=2.0, jitter=True, attempts=3)
"""The default retry of a failing event handler: 3 attempts in all."""


class BoundHandler(Protocol):
    """A handler as the bus calls it: the message and this call's unit of work.

    [`bootstrap`][tactical.bootstrap] turns your handlers, which take the message and any
    dependencies by name, into bound handlers. Write one yourself only when you build a
    [`MessageBus`][tactical.MessageBus] without `bootstrap`.

    Example:
        >>> def allocate(command: object, uow: object, /) -> str:
        ...     return "allocated"
        >>> handler: BoundHandler = allocate
    """

    def __call__(self, message: Any, uow: Any, /) -> Any: ...


class Middleware(Protocol):
    """A callable around every handler call, for logging, timing and tracing.

    It receives the message, the handler's qualified name and a function that runs the
    handler; it must call ``proceed()`` once and return what it returns (or raise).

    Example:
        >>> import time
        >>> def timing(message, handler: str, proceed):
        ...     started = time.perf_counter()
        ...     try:
        ...         return proceed()
        ...     finally:
        ...         elapsed = time.perf_counter() - started
    """

    def __call__(self, message: Message, handler: str, proceed: Callable[[], Any], /) -> Any: ...


class DeadLetterHook(Protocol):
    """Called with an event whose handler failed every attempt, the handler's name and the error.

    Use it to store the event for inspection and replay (a table, a dead-letter stream). It
    must not raise; if it does, the error is logged and the bus carries on.

    Example:
        >>> dead_letters = []
        >>> def keep(event: Event, handler: str, error: Exception, /) -> None:
        ...     dead_letters.append((type(event).__name__, handler, repr(error)))
        >>> hook: DeadLetterHook = keep
    """

    def __call__(self, event: Event, handler: str, error: Exception, /) -> None: ...


def handler_name(handler: object) -> str:
    """The name that logs and middleware use for a handler."""
    module = getattr(handler, "__module__", None)
    name = getattr(handler, "__qualname__", None) or type(handler).__qualname__
    return f"{module}.{name}" if module else name


class _Route:
    __slots__ = ("command", "handlers")

    def __init__(self, command: BoundHandler | None, handlers: tuple[_Named, ...]) -> None:
        self.command = command
        self.handlers = handlers


class _Named:
    __slots__ = ("call", "name")

    def __init__(self, name: str, call: BoundHandler) -> None:
        self.name = name
        self.call = call


class MessageBus:
    """Dispatches a message, then every event that handling it caused, in order (FIFO).

    A command goes to its one handler; its exception reaches the caller unchanged, except a
    [`ConcurrencyError`][tactical.ConcurrencyError], which re-runs the handler (a fresh
    transaction) with back-off until ``command_retry`` gives up. An event goes to each of its
    handlers in registration order; a failing handler is retried per ``event_retry``, then
    logged (handler name and event type, never the payload) and passed to ``on_dead_letter``,
    and the other handlers still run. After every handler the events that the unit of work
    collected are queued.

    Each `handle` call builds its own unit of work from the ``uow`` factory, so one bus
    serves many threads. Build one with [`bootstrap`][tactical.bootstrap], which injects
    dependencies; handlers given here directly are [`BoundHandler`][tactical.BoundHandler]s.

    Args:
        uow: A factory of units of work, called once per `handle`.
        commands: The one handler of each command type.
        events: The handlers of each event type, in the order they run.
        middleware: Wrapped around every handler call, the first outermost.
        command_retry: The back-off for commands that raised `ConcurrencyError`.
        event_retry: The back-off for failing event handlers.
        on_dead_letter: Receives each event whose handler failed every attempt.
        sleep: How to wait between attempts.
        clock: Monotonic seconds, for retry deadlines.
        random: Floats in ``[0, 1)``, for jitter.

    Example:
        >>> from dataclasses import dataclass
        >>> from tactical import Command, InMemoryUnitOfWork, MessageBus
        >>> @dataclass(frozen=True)
        ... class Ping(Command):
        ...     pass
        >>> bus = MessageBus(uow=InMemoryUnitOfWork, commands={Ping: lambda message, uow: "pong"})
        >>> bus.handle(Ping())
        'pong'
    """

    def __init__(
        self,
        *,
        uow: Callable[[], UnitOfWork],
        commands: Mapping[type[Command], BoundHandler] | None = None,
        events: Mapping[type[Event], Sequence[BoundHandler]] | None = None,
        middleware: Sequence[Middleware] = (),
        command_retry: Backoff = COMMAND_RETRY,
        event_retry: Backoff = EVENT_RETRY,
        on_dead_letter: DeadLetterHook | None = None,
        sleep: Callable[[float], object] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        random: Callable[[], float] | None = None,
    ) -> None:
        self._uow = uow
        self._command_retry = command_retry
        self._event_retry = event_retry
        self._on_dead_letter = on_dead_letter
        self._sleep = sleep
        self._clock = clock
        self._random = random
        self._routes: dict[type[Any], _Route] = {}
        for command_type, command_handler in (commands or {}).items():
            _check_message_type(command_type, Command, command_handler)
            wrapped = _wrap(command_handler, middleware)
            self._routes[command_type] = _Route(wrapped.call, (wrapped,))
        for event_type, event_handlers in (events or {}).items():
            _check_message_type(event_type, Event, event_handlers)
            named = tuple(_wrap(h, middleware) for h in event_handlers)
            self._routes[event_type] = _Route(None, named)

    def handles(self, message_type: type[Message]) -> bool:
        """Whether a handler is registered for exactly this message type."""
        return message_type in self._routes

    def handle(self, message: Message) -> Any:
        """Handle a message and everything it causes, in one thread, and return the result.

        Returns:
            What the handler of ``message`` returned, when it is a command; else ``None``.

        Raises:
            NoHandlerError: A command has no handler.
            TypeError: ``message`` is neither a `Command` nor an `Event`.
            Exception: Whatever a command handler raised, unchanged.
        """
        uow = self._uow()
        route = self._routes.get(type(message))
        if route is None:
            _no_route(message)
            return None
        command = route.command
        if command is None:
            self._dispatch([message], uow)
            return None
        try:
            result = command(message, uow)
        except ConcurrencyError as conflict:
            result = self._retry_command(command, message, uow, conflict)
        caused = uow.collect_new_events()
        if caused:
            self._dispatch(list(caused), uow)
        return result

    def _dispatch(self, queue: list[Message], uow: UnitOfWork) -> None:
        """Handle ``queue`` in order, and every event its handlers cause, in this unit of work."""
        routes = self._routes
        for current in queue:  # the queue grows while it is walked: caused events go last
            route = routes.get(type(current))
            if route is None:
                _no_route(current)
                continue
            if route.command is not None:
                try:
                    route.command(current, uow)
                except ConcurrencyError as conflict:
                    self._retry_command(route.command, current, uow, conflict)
                queue.extend(uow.collect_new_events())
                continue
            for handler in route.handlers:
                try:
                    handler.call(current, uow)
                except Exception as error:  # noqa: BLE001 - an event handler may fail any way
                    self._retry_event(handler, cast("Event", current), uow, error)
                queue.extend(uow.collect_new_events())

    def _retry_command(
        self, handler: BoundHandler, command: Message, uow: UnitOfWork, error: ConcurrencyError
    ) -> Any:
        return call_with_backoff(
            lambda: handler(command, uow),
            on=(ConcurrencyError,),
            backoff=self._command_retry,
            sleep=self._sleep,
            clock=self._clock,
            random=self._random,
            failed=error,
        )

    def _retry_event(
        self, handler: _Named, event: Event, uow: UnitOfWork, error: Exception
    ) -> None:
        try:
            call_with_backoff(
                lambda: handler.call(event, uow),
                on=(Exception,),
                backoff=self._event_retry,
                sleep=self._sleep,
                clock=self._clock,
                random=self._random,
                failed=error,
            )
        except Exception as last:  # noqa: BLE001 - reported below, never raised
            error = last
        else:
            return
        import logging  # only on this rare path, to keep `import tactical` fast

        logger = logging.getLogger(LOGGER)
        logger.error(
            "event handler %s failed for %s: %s",
            handler.name,
            type(event).__qualname__,
            type(error).__qualname__,
            exc_info=error,
        )
        if self._on_dead_letter is not None:
            try:
                self._on_dead_letter(event, handler.name, error)
            except Exception:
                logger.exception("dead-letter hook failed for %s", type(event).__qualname__)


def _no_route(message: Message) -> None:
    """A message with no handler: fine for an event, an error for anything else."""
    if isinstance(message, Command):
        raise NoHandlerError(type(message))
    if not isinstance(message, Event):
        raise TypeError(f"not a Command or an Event: {type(message).__qualname__}")


def _wrap(handler: BoundHandler, middleware: Sequence[Middleware]) -> _Named:
    name = handler_name(handler)
    call = handler
    for layer in reversed(middleware):
        call = _layer(layer, name, call)
    return _Named(name, call)


def _layer(layer: Middleware, name: str, inner: BoundHandler) -> BoundHandler:
    def call(message: Any, uow: Any, /) -> Any:
        return layer(message, name, lambda: inner(message, uow))

    return call


def _check_message_type(message_type: object, kind: type[Message], handler: object) -> None:
    if not (isinstance(message_type, type) and issubclass(message_type, kind)):
        raise BootstrapError(
            f"{handler_name(handler)} is registered for {message_type!r}, "
            f"which is not a {kind.__name__} type"
        )

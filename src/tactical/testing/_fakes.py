"""Fakes for tests of a message bus: an instant sleep, a message recorder, a bus factory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from tactical._bootstrap import bootstrap
from tactical._bus import COMMAND_RETRY, EVENT_RETRY
from tactical._memory import InMemoryStore, InMemoryUnitOfWork

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from tactical._bootstrap import Handlers, HandlerSpec
    from tactical._bus import DeadLetterHook, MessageBus, Middleware
    from tactical._messages import Message
    from tactical._repository import UnitOfWork
    from tactical._retry import Backoff

__all__ = ["BusFactory", "HandledMessage", "InstantSleep", "MessageRecorder"]

M = TypeVar("M")


class InstantSleep:
    """A ``sleep`` that returns at once and records each delay, with a clock it advances.

    Pass it as ``sleep`` and its `clock` as ``clock`` (to `bootstrap`, `retry`, ...): back-off
    then takes no time, deadlines still expire (time passes only when the code sleeps), and
    the test can assert on the delays.

    Attributes:
        delays: Every delay asked for, in seconds, in order.

    Example:
        >>> from tactical import Backoff, retry
        >>> sleep = InstantSleep()
        >>> flaky = iter([OSError(), OSError(), "ok"])
        >>> def fetch() -> str:
        ...     outcome = next(flaky)
        ...     if isinstance(outcome, Exception):
        ...         raise outcome
        ...     return outcome
        >>> backoff = Backoff(initial=0.5, factor=2, jitter=False, attempts=3)
        >>> retry(on=OSError, backoff=backoff, sleep=sleep, clock=sleep.clock).call(fetch)
        'ok'
        >>> sleep.delays, sleep.clock()
        ([0.5, 1.0], 1.5)
    """

    def __init__(self) -> None:
        """Start with no delay recorded, at time 0."""
        self.delays: list[float] = []
        self._now = 0.0

    def __call__(self, seconds: float) -> None:
        """Record a delay and move the clock forward by it, without waiting.

        Raises:
            ValueError: ``seconds`` is negative (as `time.sleep` does).
        """
        if seconds < 0:
            raise ValueError(f"sleep length must be non-negative, got {seconds}")
        self.delays.append(seconds)
        self._now += seconds

    def clock(self) -> float:
        """Monotonic seconds: the sum of the delays slept so far."""
        return self._now


@dataclass(frozen=True)
class HandledMessage:
    """One call of a handler, as a `MessageRecorder` saw it.

    Attributes:
        message: The command or event.
        handler: The handler's qualified name.
        error: What the handler raised, or ``None`` when it returned.

    Example:
        >>> from tactical.testing.sample import ChangeNote
        >>> HandledMessage(ChangeNote("b1", "gift"), "notes.change", None).error is None
        True
    """

    message: Message
    handler: str
    error: BaseException | None


class MessageRecorder:
    """A middleware that records every handler call: the message, the handler, the outcome.

    Add it to a bus's ``middleware``: each attempt of each handler is recorded once it
    finishes (a retried handler appears once per attempt), in order.

    Attributes:
        handled: Every handler call, in the order they finished.

    Example:
        >>> from tactical import InMemoryStore, bootstrap
        >>> from tactical.testing.sample import (
        ...     HANDLERS, AddItem, CreateBasket, InMemoryBasketUnitOfWork, ItemAdded)
        >>> recorder = MessageRecorder()
        >>> store = InMemoryStore()
        >>> handlers = {**HANDLERS, ItemAdded: [lambda event: None]}
        >>> bus = bootstrap(uow=lambda: InMemoryBasketUnitOfWork(store), handlers=handlers,
        ...                 middleware=[recorder])
        >>> bus.handle(CreateBasket("b1"))
        >>> bus.handle(AddItem("b1", "LAMP", 1))
        >>> recorder.messages
        [CreateBasket(ref='b1', note=''), AddItem(ref='b1', sku='LAMP', qty=1), \
ItemAdded(ref='b1', sku='LAMP', qty=1)]
        >>> recorder.of_type(ItemAdded)
        [ItemAdded(ref='b1', sku='LAMP', qty=1)]
    """

    def __init__(self) -> None:
        """Start with nothing recorded."""
        self.handled: list[HandledMessage] = []

    def __call__(self, message: Message, handler: str, proceed: Callable[[], Any], /) -> Any:
        """Run the handler through ``proceed`` and record the call."""
        try:
            result = proceed()
        except BaseException as error:
            self.handled.append(HandledMessage(message, handler, error))
            raise
        self.handled.append(HandledMessage(message, handler, None))
        return result

    @property
    def messages(self) -> list[Message]:
        """The messages handled, each once, in the order their first handler call finished."""
        seen: set[int] = set()
        unique = []
        for call in self.handled:
            if id(call.message) not in seen:
                seen.add(id(call.message))
                unique.append(call.message)
        return unique

    def of_type(self, message_type: type[M]) -> list[M]:
        """The messages of ``message_type`` (subclasses included) handled, each once, in order."""
        return [message for message in self.messages if isinstance(message, message_type)]

    @property
    def failures(self) -> list[HandledMessage]:
        """The handler calls that raised."""
        return [call for call in self.handled if call.error is not None]

    def clear(self) -> None:
        """Forget everything recorded so far."""
        self.handled.clear()


class BusFactory:
    """Builds message buses for tests: in-memory units of work, recorded, with instant sleep.

    Every bus it builds shares one `InMemoryStore`, records into one `MessageRecorder`, and
    sleeps through one `InstantSleep` (with its clock; jitter always draws ``0.5``), so
    retries take no time and are visible. The plugin's ``bus_factory`` fixture is one.

    Args:
        store: The store behind every unit of work.
        recorder: The middleware that records handler calls (the outermost one).
        sleep: The instant sleep, and its clock.

    Example:
        >>> from tactical import InMemoryStore
        >>> from tactical.testing.sample import (
        ...     HANDLERS,
        ...     Basket,
        ...     CreateBasket,
        ...     InMemoryBasketUnitOfWork,
        ... )
        >>> make_bus = BusFactory(InMemoryStore(), MessageRecorder(), InstantSleep())
        >>> bus = make_bus(HANDLERS, uow=InMemoryBasketUnitOfWork)
        >>> bus.handle(CreateBasket("b1"))
        >>> make_bus.store.keys(Basket)
        ['b1']
    """

    def __init__(
        self, store: InMemoryStore, recorder: MessageRecorder, sleep: InstantSleep
    ) -> None:
        self.store = store
        self.recorder = recorder
        self.sleep = sleep

    def __call__(
        self,
        handlers: Handlers | Mapping[type[Message], HandlerSpec],
        *,
        uow: Callable[[InMemoryStore], UnitOfWork] = InMemoryUnitOfWork,
        dependencies: Mapping[str, object] | None = None,
        middleware: Sequence[Middleware] = (),
        command_retry: Backoff = COMMAND_RETRY,
        event_retry: Backoff = EVENT_RETRY,
        on_dead_letter: DeadLetterHook | None = None,
    ) -> MessageBus:
        """Build a bus with [`bootstrap`][tactical.bootstrap].

        Args:
            handlers: As for `bootstrap`.
            uow: Makes a unit of work over the shared store: an `InMemoryUnitOfWork`
                subclass of your own, usually.
            dependencies: As for `bootstrap`.
            middleware: More middleware, inside the recorder.
            command_retry: As for `bootstrap`.
            event_retry: As for `bootstrap`.
            on_dead_letter: As for `bootstrap`.

        Raises:
            BootstrapError: As `bootstrap` does.
        """
        store = self.store
        return bootstrap(
            uow=lambda: uow(store),
            handlers=handlers,
            dependencies=dependencies,
            middleware=[self.recorder, *middleware],
            command_retry=command_retry,
            event_retry=event_retry,
            on_dead_letter=on_dead_letter,
            sleep=self.sleep,
            clock=self.sleep.clock,
            random=lambda: 0.5,
        )

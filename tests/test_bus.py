"""The message bus: one handler per command, any number per event, a FIFO queue, retries."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

import pytest

from tactical import (
    Aggregate,
    Backoff,
    BootstrapError,
    Command,
    ConcurrencyError,
    Event,
    InMemoryStore,
    InMemoryUnitOfWork,
    Message,
    MessageBus,
    NoHandlerError,
)
from tactical._bus import COMMAND_RETRY, EVENT_RETRY

if TYPE_CHECKING:
    from collections.abc import Callable

    from tactical import BoundHandler


@dataclass(frozen=True)
class Start(Command):
    ident: str


@dataclass(frozen=True)
class Unhandled(Command):
    pass


@dataclass(frozen=True)
class Started(Event):
    ident: str


@dataclass(frozen=True)
class Noticed(Event):
    ident: str


@dataclass(frozen=True)
class Followed(Event):
    ident: str


@dataclass(frozen=True)
class Ignored(Event):
    pass


@dataclass(frozen=True)
class Charged(Event):
    card: str


class Stop(BaseException):
    """Something that must never be swallowed (like KeyboardInterrupt)."""


class BoomError(Exception):
    pass


class ScriptedUnitOfWork:
    """A unit of work whose handlers hand it events directly; it notes each collection."""

    def __init__(self, trace: list[str] | None = None) -> None:
        self.pending: list[Event] = []
        self.trace = trace if trace is not None else []

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.pending.clear()

    def commit(self) -> None:
        """Nothing to write."""

    def rollback(self) -> None:
        self.pending.clear()

    def collect_new_events(self) -> list[Event]:
        self.trace.append("collect")
        events, self.pending = self.pending, []
        return events


def name_of(handler: object) -> str:
    return f"{handler.__module__}.{handler.__qualname__}"  # type: ignore[attr-defined]


def no_wait() -> dict[str, Any]:
    """Bus options that never sleep and pick no random jitter."""
    return {"sleep": lambda _: None, "random": lambda: 0.5}


class Recorder:
    """Handlers that note what they handled."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def handler(self, label: str, *emits: Event) -> BoundHandler:
        def handle(message: Any, uow: Any, /) -> str:
            self.seen.append(f"{label}:{type(message).__name__}")
            uow.pending.extend(emits)
            return label

        handle.__qualname__ = label
        return handle


def failing(
    times: int, error: Callable[[], Exception] = BoomError
) -> tuple[BoundHandler, list[int]]:
    """A handler that raises ``error()`` on its first ``times`` calls; and its call count."""
    calls = [0]

    def handle(message: Any, uow: Any, /) -> str:
        calls[0] += 1
        if calls[0] <= times:
            raise error()
        return "done"

    return handle, calls


class TestQueue:
    def test_a_message_and_everything_it_causes_are_handled_in_fifo_order(self) -> None:
        """The queue starts with the message; events join its end as handlers record them."""
        rec = Recorder()
        bus = MessageBus(
            uow=ScriptedUnitOfWork,
            commands={Start: rec.handler("start", Started("1"), Noticed("1"))},
            events={
                Started: [rec.handler("started", Followed("1"))],
                Noticed: [rec.handler("noticed")],
                Followed: [rec.handler("followed")],
            },
        )
        bus.handle(Start("1"))
        assert rec.seen == [
            "start:Start",
            "started:Started",
            "noticed:Noticed",
            "followed:Followed",
        ]

    def test_events_are_collected_after_every_handler(self) -> None:
        """The unit of work's new events are collected after each handler, not once at the end."""
        trace: list[str] = []

        def first(message: Any, uow: Any, /) -> None:
            trace.append("first")

        def second(message: Any, uow: Any, /) -> None:
            trace.append("second")

        bus = MessageBus(uow=lambda: ScriptedUnitOfWork(trace), events={Started: [first, second]})
        bus.handle(Started("1"))
        assert trace == ["first", "collect", "second", "collect"]

    def test_handle_returns_the_command_handlers_result(self) -> None:
        """`handle` returns what the command's handler returned, not what event handlers did."""
        rec = Recorder()
        bus = MessageBus(
            uow=ScriptedUnitOfWork,
            commands={Start: rec.handler("result", Started("1"))},
            events={Started: [rec.handler("ignored")]},
        )
        assert bus.handle(Start("1")) == "result"

    def test_handling_an_event_returns_none(self) -> None:
        """An event has no result."""
        rec = Recorder()
        bus = MessageBus(uow=ScriptedUnitOfWork, events={Started: [rec.handler("x")]})
        assert bus.handle(Started("1")) is None
        assert rec.seen == ["x:Started"]

    def test_each_handle_call_gets_one_unit_of_work_of_its_own(self) -> None:
        """The factory runs once per `handle`; all handlers of that call share its product."""
        made: list[ScriptedUnitOfWork] = []
        used: list[object] = []

        def factory() -> ScriptedUnitOfWork:
            made.append(ScriptedUnitOfWork())
            return made[-1]

        def start(message: Any, uow: Any, /) -> None:
            used.append(uow)
            uow.pending.append(Started("1"))

        def started(message: Any, uow: Any, /) -> None:
            used.append(uow)

        bus = MessageBus(uow=factory, commands={Start: start}, events={Started: [started]})
        bus.handle(Start("1"))
        bus.handle(Start("2"))
        assert len(made) == 2
        assert used == [made[0], made[0], made[1], made[1]]

    def test_handles_tells_which_types_have_handlers(self) -> None:
        """`handles` is true for exactly the registered message types."""
        rec = Recorder()
        bus = MessageBus(
            uow=ScriptedUnitOfWork,
            commands={Start: rec.handler("s")},
            events={Started: [rec.handler("e")]},
        )
        assert bus.handles(Start)
        assert bus.handles(Started)
        assert not bus.handles(Noticed)
        assert not bus.handles(Unhandled)


class TestCommands:
    def test_a_command_without_a_handler_raises_naming_its_type(self) -> None:
        """A command nobody handles raises NoHandlerError naming the command type."""
        bus = MessageBus(uow=ScriptedUnitOfWork)
        with pytest.raises(NoHandlerError, match="Unhandled") as caught:
            bus.handle(Unhandled())
        assert caught.value.message_type is Unhandled

    def test_a_command_handlers_exception_reaches_the_caller_unchanged(self) -> None:
        """The caller gets the very exception the handler raised, after one attempt."""
        error = BoomError("no stock")
        calls: list[Message] = []

        def start(message: Any, uow: Any, /) -> None:
            calls.append(message)
            raise error

        sleeps: list[float] = []
        bus = MessageBus(uow=ScriptedUnitOfWork, commands={Start: start}, sleep=sleeps.append)
        with pytest.raises(BoomError) as caught:
            bus.handle(Start("1"))
        assert caught.value is error
        assert calls == [Start("1")]
        assert sleeps == []

    def test_a_failed_command_causes_nothing_more(self) -> None:
        """When the command handler raises, the events it recorded are not handled."""
        rec = Recorder()

        def start(message: Any, uow: Any, /) -> None:
            uow.pending.append(Started("1"))
            raise BoomError

        bus = MessageBus(
            uow=ScriptedUnitOfWork,
            commands={Start: start},
            events={Started: [rec.handler("started")]},
        )
        with pytest.raises(BoomError):
            bus.handle(Start("1"))
        assert rec.seen == []

    def test_a_conflicting_command_is_retried_with_backoff(self) -> None:
        """A command that raised ConcurrencyError runs again after each back-off wait."""
        handler, calls = failing(2, lambda: ConcurrencyError("busy"))
        sleeps: list[float] = []
        bus = MessageBus(
            uow=ScriptedUnitOfWork,
            commands={Start: handler},
            command_retry=Backoff(initial=0.1, factor=3, cap=10, jitter=False, attempts=5),
            sleep=sleeps.append,
        )
        assert bus.handle(Start("1")) == "done"
        assert calls == [3]
        assert sleeps == pytest.approx([0.1, 0.3])

    def test_the_last_conflict_reaches_the_caller_when_the_budget_is_spent(self) -> None:
        """Once `command_retry` gives up, the caller gets the last ConcurrencyError raised."""
        raised: list[ConcurrencyError] = []

        def conflict() -> ConcurrencyError:
            raised.append(ConcurrencyError(f"attempt {len(raised) + 1}"))
            return raised[-1]

        handler, calls = failing(99, conflict)
        bus = MessageBus(
            uow=ScriptedUnitOfWork,
            commands={Start: handler},
            command_retry=Backoff(initial=0, jitter=False, attempts=3),
            **no_wait(),
        )
        with pytest.raises(ConcurrencyError) as caught:
            bus.handle(Start("1"))
        assert calls == [3]
        assert caught.value is raised[-1]

    def test_the_command_deadline_uses_the_injected_clock(self) -> None:
        """A deadline-bound command retry stops when the next wait would pass the deadline."""
        now = [0.0]

        def sleep(seconds: float) -> None:
            now[0] += seconds

        handler, calls = failing(99, lambda: ConcurrencyError("busy"))
        bus = MessageBus(
            uow=ScriptedUnitOfWork,
            commands={Start: handler},
            command_retry=Backoff(initial=1, factor=1, jitter=False, attempts=None, deadline=3.5),
            sleep=sleep,
            clock=lambda: now[0],
        )
        with pytest.raises(ConcurrencyError):
            bus.handle(Start("1"))
        assert calls == [4]
        assert now == [3.0]

    def test_jitter_draws_from_the_injected_random(self) -> None:
        """With jitter, each wait is the nominal wait scaled by the injected random number."""
        handler, _ = failing(1, lambda: ConcurrencyError("busy"))
        sleeps: list[float] = []
        bus = MessageBus(
            uow=ScriptedUnitOfWork,
            commands={Start: handler},
            command_retry=Backoff(initial=0.8, jitter=True, attempts=2),
            sleep=sleeps.append,
            random=lambda: 0.25,
        )
        bus.handle(Start("1"))
        assert sleeps == [pytest.approx(0.2)]

    def test_another_error_during_a_retry_propagates_at_once(self) -> None:
        """Only ConcurrencyError is retried; a different error on a retry ends it."""
        errors: list[Exception] = [ConcurrencyError("busy"), BoomError("real")]

        def start(message: Any, uow: Any, /) -> None:
            raise errors.pop(0)

        bus = MessageBus(uow=ScriptedUnitOfWork, commands={Start: start}, **no_wait())
        with pytest.raises(BoomError, match="real"):
            bus.handle(Start("1"))
        assert errors == []

    def test_a_retried_command_runs_in_a_fresh_transaction(self) -> None:
        """After a real conflict, the retry reloads the aggregate and sees the rival's commit."""

        class Counter(Aggregate, key="name"):
            def __init__(self, name: str) -> None:
                self.name = name
                self.value = 0

        store = InMemoryStore()
        with InMemoryUnitOfWork(store) as setup:
            setup.repository(Counter).add(Counter("c"))
            setup.commit()
        seen: list[int] = []

        def increment(message: Any, uow: Any, /) -> int:
            with uow:
                counter = uow.repository(Counter).get("c")
                seen.append(counter.value)
                if len(seen) == 1:  # a rival commits between our read and our commit
                    with InMemoryUnitOfWork(store) as rival:
                        theirs = rival.repository(Counter).get("c")
                        assert theirs is not None
                        theirs.value += 10
                        rival.commit()
                counter.value += 1
                uow.commit()
                return int(counter.value)

        bus = MessageBus(
            uow=lambda: InMemoryUnitOfWork(store), commands={Start: increment}, **no_wait()
        )
        assert bus.handle(Start("1")) == 11
        assert seen == [0, 10]
        assert store.version_of(Counter, "c") == 3


class TestEvents:
    def test_an_event_without_handlers_is_not_an_error(self) -> None:
        """Nobody listening to an event is fine."""
        bus = MessageBus(uow=ScriptedUnitOfWork)
        assert bus.handle(Ignored()) is None

    def test_an_event_handler_list_may_be_empty(self) -> None:
        """An event registered with no handlers is handled by nobody, quietly."""
        bus = MessageBus(uow=ScriptedUnitOfWork, events={Ignored: []})
        assert bus.handles(Ignored)
        assert bus.handle(Ignored()) is None

    def test_event_handlers_run_in_registration_order(self) -> None:
        """Every handler of an event runs, in the order given."""
        rec = Recorder()
        labels = ["c", "a", "b"]
        bus = MessageBus(uow=ScriptedUnitOfWork, events={Started: [rec.handler(x) for x in labels]})
        bus.handle(Started("1"))
        assert rec.seen == ["c:Started", "a:Started", "b:Started"]

    def test_a_failing_event_handler_is_retried_with_exponential_backoff(self) -> None:
        """A failing handler runs again after waits that grow by ``factor`` up to ``cap``."""
        handler, calls = failing(3)
        sleeps: list[float] = []
        bus = MessageBus(
            uow=ScriptedUnitOfWork,
            events={Started: [handler]},
            event_retry=Backoff(initial=1, factor=2, cap=3, jitter=False, attempts=4),
            sleep=sleeps.append,
        )
        bus.handle(Started("1"))
        assert calls == [4]
        assert sleeps == [1, 2, 3]

    def test_a_handler_that_recovers_is_neither_logged_nor_dead_lettered(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A retry that succeeds leaves no trace in the log or the dead-letter hook."""
        handler, calls = failing(1)
        dead: list[object] = []
        bus = MessageBus(
            uow=ScriptedUnitOfWork,
            events={Started: [handler]},
            on_dead_letter=lambda *args: dead.append(args),
            **no_wait(),
        )
        with caplog.at_level(logging.DEBUG, logger="tactical"):
            bus.handle(Started("1"))
        assert calls == [2]
        assert dead == []
        assert caplog.records == []

    def test_a_handler_that_keeps_failing_is_logged_dead_lettered_and_skipped(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """After the last attempt: logged, handed to the dead-letter hook; the others still run."""
        errors: list[Exception] = []

        def charge(message: Any, uow: Any, /) -> None:
            errors.append(BoomError(f"declined #{len(errors)}"))
            raise errors[-1]

        rec = Recorder()
        dead: list[tuple[Event, str, Exception]] = []
        bus = MessageBus(
            uow=ScriptedUnitOfWork,
            events={Charged: [rec.handler("before"), charge, rec.handler("after")]},
            event_retry=Backoff(initial=0, jitter=False, attempts=3),
            on_dead_letter=lambda event, handler, error: dead.append((event, handler, error)),
            **no_wait(),
        )
        event = Charged("4242")
        with caplog.at_level(logging.ERROR, logger="tactical.bus"):
            bus.handle(event)
        assert len(errors) == 3
        assert rec.seen == ["before:Charged", "after:Charged"]
        assert dead == [(event, name_of(charge), errors[-1])]
        [record] = caplog.records
        assert record.levelno == logging.ERROR
        assert name_of(charge) in record.getMessage()
        assert "Charged" in record.getMessage()
        assert record.exc_info is not None
        assert record.exc_info[1] is errors[-1]

    def test_the_log_never_shows_the_events_payload(self, caplog: pytest.LogCaptureFixture) -> None:
        """A failing handler is logged by name and event type; no field value is written."""
        secret = f"card-{uuid.uuid4().hex}"

        def charge(message: Any, uow: Any, /) -> None:
            raise BoomError("declined")

        bus = MessageBus(
            uow=ScriptedUnitOfWork,
            events={Charged: [charge]},
            event_retry=Backoff(attempts=1),
        )
        with caplog.at_level(logging.DEBUG):
            bus.handle(Charged(secret))
        assert len(caplog.records) == 1
        assert "charge" in caplog.records[0].getMessage()
        assert secret not in caplog.records[0].getMessage()
        assert secret not in caplog.text

    def test_dead_lettering_without_a_hook_only_logs(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """With no dead-letter hook, a handler that gives up is logged and handling goes on."""
        handler, _ = failing(99)
        rec = Recorder()
        bus = MessageBus(
            uow=ScriptedUnitOfWork,
            events={Started: [handler, rec.handler("next")]},
            event_retry=Backoff(attempts=1),
        )
        with caplog.at_level(logging.ERROR, logger="tactical.bus"):
            bus.handle(Started("1"))
        assert rec.seen == ["next:Started"]
        assert len(caplog.records) == 1

    def test_a_failing_dead_letter_hook_is_logged_not_raised(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """An error in the dead-letter hook is logged, and the remaining handlers still run."""
        handler, _ = failing(99)
        rec = Recorder()

        def broken_hook(event: Event, handler: str, error: Exception) -> None:
            raise BoomError("hook down")

        bus = MessageBus(
            uow=ScriptedUnitOfWork,
            events={Started: [handler, rec.handler("next")]},
            event_retry=Backoff(attempts=1),
            on_dead_letter=broken_hook,
        )
        with caplog.at_level(logging.ERROR, logger="tactical.bus"):
            bus.handle(Started("1"))
        assert rec.seen == ["next:Started"]
        messages = [record.getMessage() for record in caplog.records]
        assert len(messages) == 2
        assert "dead-letter hook failed for Started" in messages[1]

    def test_events_recorded_before_a_handler_gave_up_are_still_handled(self) -> None:
        """What a failing handler's attempts collected is queued like any other event."""
        rec = Recorder()

        def noisy(message: Any, uow: Any, /) -> None:
            uow.pending.append(Noticed("1"))
            raise BoomError

        bus = MessageBus(
            uow=ScriptedUnitOfWork,
            events={Started: [noisy], Noticed: [rec.handler("noticed")]},
            event_retry=Backoff(attempts=2),
            **no_wait(),
        )
        bus.handle(Started("1"))
        assert rec.seen == ["noticed:Noticed", "noticed:Noticed"]

    def test_a_base_exception_in_an_event_handler_is_not_swallowed(self) -> None:
        """Only Exceptions are retried and dead-lettered; KeyboardInterrupt and the like escape."""
        handler, calls = failing(1, Stop)  # type: ignore[arg-type]
        bus = MessageBus(uow=ScriptedUnitOfWork, events={Started: [handler]}, **no_wait())
        with pytest.raises(Stop):
            bus.handle(Started("1"))
        assert calls == [1]

    def test_the_default_policies_are_bounded(self) -> None:
        """By default commands retry within a 30-second budget and event handlers 3 times."""
        assert (COMMAND_RETRY.attempts, COMMAND_RETRY.deadline) == (None, 30)
        assert COMMAND_RETRY.jitter
        assert EVENT_RETRY.attempts == 3
        assert EVENT_RETRY.jitter


class TestMiddleware:
    def test_middleware_wraps_each_handler_call_first_outermost(self) -> None:
        """Each layer runs around every handler call; the first given is the outermost."""
        trace: list[str] = []

        def layer(label: str) -> Any:
            def middleware(message: Message, handler: str, proceed: Callable[[], Any]) -> Any:
                trace.append(f"{label}>{type(message).__name__}")
                try:
                    return proceed()
                finally:
                    trace.append(f"{label}<")

            return middleware

        def start(message: Any, uow: Any, /) -> str:
            trace.append("start")
            uow.pending.append(Started("1"))
            return "ok"

        def started(message: Any, uow: Any, /) -> None:
            trace.append("started")

        bus = MessageBus(
            uow=ScriptedUnitOfWork,
            commands={Start: start},
            events={Started: [started]},
            middleware=[layer("outer"), layer("inner")],
        )
        assert bus.handle(Start("1")) == "ok"
        assert trace == [
            "outer>Start",
            "inner>Start",
            "start",
            "inner<",
            "outer<",
            "outer>Started",
            "inner>Started",
            "started",
            "inner<",
            "outer<",
        ]

    def test_middleware_receives_the_handlers_name(self) -> None:
        """The name given to middleware is the handler's module and qualified name."""
        names: list[str] = []

        def spy(message: Message, handler: str, proceed: Callable[[], Any]) -> Any:
            names.append(handler)
            return proceed()

        def start(message: Any, uow: Any, /) -> None:
            pass

        class Listener:
            def __call__(self, message: Any, uow: Any, /) -> None:
                pass

        bus = MessageBus(
            uow=ScriptedUnitOfWork,
            commands={Start: start},
            events={Started: [Listener()]},
            middleware=[spy],
        )
        bus.handle(Start("1"))
        bus.handle(Started("1"))
        assert names == [name_of(start), f"{__name__}.{Listener.__qualname__}"]

    def test_middleware_sees_every_attempt_and_can_replace_the_result(self) -> None:
        """A retried handler passes through middleware on each attempt; its result is final."""
        attempts: list[str] = []

        def shout(message: Message, handler: str, proceed: Callable[[], Any]) -> Any:
            attempts.append(handler)
            return str(proceed()).upper()

        handler, _ = failing(2, lambda: ConcurrencyError("busy"))
        bus = MessageBus(
            uow=ScriptedUnitOfWork, commands={Start: handler}, middleware=[shout], **no_wait()
        )
        assert bus.handle(Start("1")) == "DONE"
        assert len(attempts) == 3


class TestConstruction:
    @pytest.mark.parametrize(
        ("commands", "events"),
        [
            ({Started: lambda m, u: None}, None),
            (None, {Start: [lambda m, u: None]}),
            ({"Start": lambda m, u: None}, None),
            (None, {Message: []}),
        ],
    )
    def test_handlers_must_be_registered_for_the_right_kind_of_message(
        self, commands: Any, events: Any
    ) -> None:
        """Command handlers need Command types and event handlers Event types, or it raises."""
        with pytest.raises(BootstrapError, match="which is not a"):
            MessageBus(uow=ScriptedUnitOfWork, commands=commands, events=events)

    def test_only_messages_can_be_handled(self) -> None:
        """Handling something that is neither a Command nor an Event is a TypeError."""
        bus = MessageBus(uow=ScriptedUnitOfWork)
        with pytest.raises(TypeError, match="not a Command or an Event: str"):
            bus.handle("Start")  # type: ignore[arg-type]


class TestCommandsRecordedByAggregates:
    def test_a_command_collected_from_the_unit_of_work_goes_to_its_handler(self) -> None:
        """A command a handler's aggregate recorded (the book's ``messages``) is handled in turn."""
        trace: list[str] = []
        uow = ScriptedUnitOfWork()

        def start(command: Start, uow: ScriptedUnitOfWork, /) -> str:
            trace.append(f"start {command.ident}")
            if command.ident == "first":
                uow.pending.append(Start("second"))  # type: ignore[arg-type]
            return command.ident

        bus = MessageBus(uow=lambda: uow, commands={Start: start}, **no_wait())
        assert bus.handle(Start("first")) == "first"
        assert trace == ["start first", "start second"]

    def test_a_conflict_in_a_collected_command_is_retried(self) -> None:
        """A collected command that meets a conflict is re-run like the first one."""
        attempts: list[str] = []
        uow = ScriptedUnitOfWork()

        def start(command: Start, uow: ScriptedUnitOfWork, /) -> None:
            attempts.append(command.ident)
            if command.ident == "first":
                uow.pending.append(Start("second"))  # type: ignore[arg-type]
            elif attempts.count("second") == 1:
                raise ConcurrencyError("changed meanwhile")

        bus = MessageBus(uow=lambda: uow, commands={Start: start}, **no_wait())
        bus.handle(Start("first"))
        assert attempts == ["first", "second", "second"]

"""`bootstrap` wires handlers to their dependencies by parameter name, checking everything first."""

from __future__ import annotations

import functools
import inspect
import typing
from dataclasses import dataclass
from typing import Any, cast

import pytest

from tactical import (
    Backoff,
    BootstrapError,
    Command,
    ConcurrencyError,
    Event,
    Handlers,
    InMemoryUnitOfWork,
    Message,
    MessageBus,
    bootstrap,
)

if typing.TYPE_CHECKING:
    from collections.abc import Callable


@dataclass(frozen=True)
class Greet(Command):
    name: str


@dataclass(frozen=True)
class Greeted(Event):
    name: str


@dataclass(frozen=True)
class Waved(Event):
    pass


class NotAMessage:
    pass


def greet_plain(command: Greet) -> str:
    return f"hello {command.name}"


def greet_with_uow(command: Greet, uow: InMemoryUnitOfWork) -> InMemoryUnitOfWork:
    return uow


def greet_with_dependencies(command: Greet, greeting: str, punctuation: str = "!") -> str:
    return f"{greeting} {command.name}{punctuation}"


def needs_mailer(command: Greet, mailer: object) -> None:
    """A handler whose dependency nobody provides."""


class TestInjection:
    def test_dependencies_are_injected_by_parameter_name(self) -> None:
        """Each parameter after the message receives the dependency of the same name."""
        bus = bootstrap(
            uow=InMemoryUnitOfWork,
            handlers={Greet: greet_with_dependencies},
            dependencies={"greeting": "Hi", "punctuation": "?", "unused": object()},
        )
        assert bus.handle(Greet("Ada")) == "Hi Ada?"

    def test_a_parameter_with_a_default_may_go_without_a_dependency(self) -> None:
        """A parameter that has a default keeps it when no dependency has its name."""
        bus = bootstrap(
            uow=InMemoryUnitOfWork,
            handlers={Greet: greet_with_dependencies},
            dependencies={"greeting": "Hi"},
        )
        assert bus.handle(Greet("Ada")) == "Hi Ada!"

    def test_uow_receives_a_fresh_unit_of_work_per_handle_call(self) -> None:
        """``uow`` gets the product of the factory, a new one for each `handle` call."""
        made: list[InMemoryUnitOfWork] = []

        def factory() -> InMemoryUnitOfWork:
            made.append(InMemoryUnitOfWork())
            return made[-1]

        bus = bootstrap(uow=factory, handlers={Greet: greet_with_uow})
        first, second = bus.handle(Greet("a")), bus.handle(Greet("b"))
        assert made == [first, second]
        assert first is not second

    def test_the_uow_parameter_may_come_anywhere_and_be_keyword_only(self) -> None:
        """``uow`` and dependencies are passed by name, so their order and kind do not matter."""
        seen: list[object] = []

        def handler(command: Greet, *, greeting: str, uow: object) -> None:
            seen.extend([greeting, uow])

        bus = bootstrap(
            uow=InMemoryUnitOfWork, handlers={Greet: handler}, dependencies={"greeting": "Hi"}
        )
        bus.handle(Greet("a"))
        assert seen[0] == "Hi"
        assert isinstance(seen[1], InMemoryUnitOfWork)

    def test_variadic_parameters_are_left_alone(self) -> None:
        """``*args`` and ``**kwargs`` need no dependency and receive none."""
        seen: list[object] = []

        def handler(command: Greet, *args: object, **kwargs: object) -> None:
            seen.append((args, kwargs))

        bus = bootstrap(uow=InMemoryUnitOfWork, handlers={Greet: handler}, dependencies={"x": 1})
        bus.handle(Greet("a"))
        assert seen == [((), {})]

    def test_any_callable_can_be_a_handler(self) -> None:
        """Callable objects and partials are handlers like functions are."""

        class Greeter:
            def __call__(self, command: Greet, greeting: str) -> str:
                return f"{greeting} {command.name}"

        def wave(event: Waved, log: list[str], word: str) -> None:
            log.append(word)

        log: list[str] = []
        bus = bootstrap(
            uow=InMemoryUnitOfWork,
            handlers={Greet: Greeter(), Waved: [functools.partial(wave, word="bye")]},
            dependencies={"greeting": "Yo", "log": log},
        )
        assert bus.handle(Greet("Ada")) == "Yo Ada"
        bus.handle(Waved())
        assert log == ["bye"]

    def test_event_handlers_run_in_the_order_given(self) -> None:
        """A list of handlers for an event runs in list order."""
        order: list[str] = []

        def first(event: Greeted) -> None:
            order.append("first")

        def second(event: Greeted) -> None:
            order.append("second")

        bus = bootstrap(uow=InMemoryUnitOfWork, handlers={Greeted: (second, first)})
        bus.handle(Greeted("a"))
        assert order == ["second", "first"]

    def test_the_bus_options_reach_the_bus(self) -> None:
        """Retry policies, middleware, the dead-letter hook, sleep and random are passed on."""
        sleeps: list[float] = []
        names: list[str] = []
        dead: list[str] = []
        conflicts = [ConcurrencyError("busy")]

        def greet(command: Greet) -> str:
            if conflicts:
                raise conflicts.pop()
            return "ok"

        def fail(event: Greeted) -> None:
            raise ValueError

        def middleware(message: Message, handler: str, proceed: Any) -> Any:
            names.append(handler)
            return proceed()

        bus = bootstrap(
            uow=InMemoryUnitOfWork,
            handlers={Greet: greet, Greeted: [fail]},
            middleware=[middleware],
            command_retry=Backoff(initial=0.5, jitter=True, attempts=2),
            event_retry=Backoff(initial=0.1, jitter=False, attempts=2),
            on_dead_letter=lambda event, handler, error: dead.append(handler),
            sleep=sleeps.append,
            random=lambda: 0.5,
            clock=lambda: 0.0,
        )
        assert isinstance(bus, MessageBus)
        assert bus.handle(Greet("a")) == "ok"
        bus.handle(Greeted("a"))
        assert sleeps == [0.25, 0.1]
        greet_name, fail_name = (f"{__name__}.{h.__qualname__}" for h in (greet, fail))
        assert names == [greet_name, greet_name, fail_name, fail_name]
        assert dead == [fail_name]

    def test_middleware_sees_the_handlers_own_name(self) -> None:
        """Injection does not rename a handler: middleware and logs see the original name."""
        names: list[str] = []

        def spy(message: Message, handler: str, proceed: Any) -> Any:
            names.append(handler)
            return proceed()

        bus = bootstrap(
            uow=InMemoryUnitOfWork,
            handlers={Greet: greet_with_dependencies},
            dependencies={"greeting": "Hi"},
            middleware=[spy],
        )
        bus.handle(Greet("a"))
        assert names == [f"{__name__}.greet_with_dependencies"]

    def test_signatures_are_read_once_at_bootstrap_never_per_message(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """After `bootstrap` returns, handling messages inspects no signature or annotation."""
        handlers = Handlers()
        handlers.register(greet_with_dependencies)
        calls: list[str] = []

        @handlers.register
        def on_greeted(event: Greeted, uow: object, greeting: str) -> None:
            calls.append(greeting)

        bus = bootstrap(uow=InMemoryUnitOfWork, handlers=handlers, dependencies={"greeting": "Hi"})

        def forbidden(*args: object, **kwargs: object) -> typing.NoReturn:
            raise AssertionError("inspected a handler while handling a message")

        monkeypatch.setattr(inspect, "signature", forbidden)
        monkeypatch.setattr(typing, "get_type_hints", forbidden)
        for _ in range(3):
            assert bus.handle(Greet("Ada")) == "Hi Ada!"
            bus.handle(Greeted("Ada"))
        assert calls == ["Hi"] * 3


class TestChecks:
    def test_a_missing_dependency_names_the_handler_and_the_parameter(self) -> None:
        """A parameter nobody provides fails at bootstrap, naming handler, parameter and options."""
        with pytest.raises(BootstrapError) as caught:
            bootstrap(
                uow=InMemoryUnitOfWork,
                handlers={Greet: needs_mailer},
                dependencies={"clock": 1, "bank": 2},
            )
        message = str(caught.value)
        assert "needs_mailer()" in message
        assert "'mailer'" in message
        assert "bank, clock" in message

    def test_a_missing_dependency_says_when_there_are_none(self) -> None:
        """With no dependencies at all, the error says so."""
        with pytest.raises(BootstrapError, match=r"'mailer'.*\(dependencies: none\)"):
            bootstrap(uow=InMemoryUnitOfWork, handlers={Greet: needs_mailer})

    def test_two_handlers_for_one_command_are_refused(self) -> None:
        """A command has exactly one handler: a second one fails at bootstrap, naming both."""
        with pytest.raises(BootstrapError, match="two handlers for command Greet") as caught:
            bootstrap(uow=InMemoryUnitOfWork, handlers={Greet: [greet_plain, greet_with_uow]})
        assert "greet_plain" in str(caught.value)
        assert "greet_with_uow" in str(caught.value)

    def test_two_handlers_for_one_command_in_a_registry_are_refused(self) -> None:
        """The same holds for a registry that registers a command twice."""
        handlers = Handlers()
        handlers.register(greet_plain)
        handlers.add(Greet, greet_with_uow)
        with pytest.raises(BootstrapError, match="exactly one"):
            bootstrap(uow=InMemoryUnitOfWork, handlers=handlers)

    @pytest.mark.parametrize("message_type", [NotAMessage, Message, "Greet", int])
    def test_a_handler_for_something_that_is_not_a_message_type_is_refused(
        self, message_type: Any
    ) -> None:
        """Handlers are registered for Command or Event types only."""
        with pytest.raises(BootstrapError, match="not a Command or Event type"):
            bootstrap(uow=InMemoryUnitOfWork, handlers={message_type: greet_plain})

    def test_uow_is_not_a_dependency_name(self) -> None:
        """``uow`` is reserved for the unit of work; passing it as a dependency fails."""
        with pytest.raises(BootstrapError, match="'uow' is reserved"):
            bootstrap(
                uow=InMemoryUnitOfWork,
                handlers={Greet: greet_plain},
                dependencies={"uow": InMemoryUnitOfWork()},
            )

    def test_the_uow_factory_must_be_callable(self) -> None:
        """``uow`` is a factory, not a unit of work instance."""
        with pytest.raises(BootstrapError, match="factory of units of work"):
            bootstrap(uow=42, handlers={})  # type: ignore[arg-type]

    @pytest.mark.parametrize("spec", [42, "greet_plain", None])
    def test_a_handler_spec_must_be_a_callable_or_a_list(self, spec: Any) -> None:
        """Each value of the mapping is a handler or a list of handlers."""
        with pytest.raises(BootstrapError, match="must be a callable or a list"):
            bootstrap(uow=InMemoryUnitOfWork, handlers={Greeted: spec})

    def test_every_handler_in_a_list_must_be_callable(self) -> None:
        """A non-callable in a list of handlers fails at bootstrap."""
        with pytest.raises(BootstrapError, match="is not callable"):
            bootstrap(uow=InMemoryUnitOfWork, handlers={Greeted: [greet_plain, "oops"]})  # type: ignore[list-item]

    def test_a_handler_must_take_the_message_first(self) -> None:
        """A handler with no parameter, or a keyword-only first one, cannot take a message."""

        def nothing() -> None:
            pass

        def keyword_only(*, command: Greet) -> None:
            pass

        for handler in (nothing, keyword_only):
            with pytest.raises(BootstrapError, match="must take the message as its first"):
                bootstrap(uow=InMemoryUnitOfWork, handlers={Greet: handler})

    def test_a_positional_only_dependency_is_refused(self) -> None:
        """Dependencies are injected by name, so they cannot be positional-only."""

        def handler(command: Greet, greeting: str, /) -> None:
            pass

        with pytest.raises(BootstrapError, match="'greeting' is positional-only"):
            bootstrap(
                uow=InMemoryUnitOfWork, handlers={Greet: handler}, dependencies={"greeting": "x"}
            )

    def test_an_unreadable_signature_is_refused(self) -> None:
        """A callable whose signature cannot be read fails at bootstrap, naming it."""

        class Opaque:
            __signature__ = "not a signature"

            def __call__(self, command: Greet) -> None:
                pass

        with pytest.raises(BootstrapError, match="cannot read the signature of handler"):
            bootstrap(uow=InMemoryUnitOfWork, handlers={Greet: Opaque()})


class TestHandlersRegistry:
    def test_register_infers_the_message_type_from_the_first_annotation(self) -> None:
        """`@handlers.register` reads the message type off the first parameter, in order."""
        handlers = Handlers()
        handlers.register(greet_plain)

        @handlers.register
        def on_greeted(event: Greeted) -> None:
            pass

        @handlers.register
        def on_greeted_again(event: Greeted, uow: object) -> None:
            pass

        assert list(handlers) == [
            (Greet, greet_plain),
            (Greeted, on_greeted),
            (Greeted, on_greeted_again),
        ]

    def test_register_returns_the_handler_unchanged(self) -> None:
        """The decorator hands back the very function, so it stays callable and testable."""
        handlers = Handlers()
        assert handlers.register(greet_plain) is greet_plain

    def test_a_registry_drives_bootstrap(self) -> None:
        """A filled registry is passed to `bootstrap` in place of a mapping."""
        handlers = Handlers()
        handlers.register(greet_with_dependencies)
        handlers.add(Waved, lambda event, greeting: None)
        bus = bootstrap(uow=InMemoryUnitOfWork, handlers=handlers, dependencies={"greeting": "Hey"})
        assert bus.handle(Greet("Ada")) == "Hey Ada!"
        assert bus.handles(Waved)

    def test_add_registers_explicitly(self) -> None:
        """`add` registers a handler for a type given by hand, for callables without hints."""
        handlers = Handlers()
        handlers.add(Greet, greet_plain)
        assert list(handlers) == [(Greet, greet_plain)]

    def test_register_refuses_a_first_parameter_without_a_message_annotation(self) -> None:
        """No annotation, or one that is not a message type, fails when registering."""
        handlers = Handlers()

        def unannotated(command) -> None:  # type: ignore[no-untyped-def]
            pass

        def not_a_message(command: NotAMessage) -> None:
            pass

        def nothing() -> None:
            pass

        for handler in (unannotated, not_a_message, nothing):
            with pytest.raises(BootstrapError, match="annotate the first parameter"):
                handlers.register(handler)
        assert list(handlers) == []

    def test_register_reports_an_annotation_it_cannot_resolve(self) -> None:
        """An annotation naming something unknown in the handler's module fails, naming it."""

        def dangling(command: Undefined) -> None:  # type: ignore[name-defined]  # noqa: F821
            pass

        with pytest.raises(BootstrapError, match="cannot resolve the annotation 'Undefined'"):
            Handlers().register(dangling)

    def test_register_resolves_only_the_message_annotation(self) -> None:
        """Other parameters may be annotated with names that exist only for type checkers."""
        namespace: dict[str, object] = {"Greet": Greet}
        exec("def handler(command: 'Greet', uow: 'OnlyForTypeCheckers') -> None: pass", namespace)
        handlers = Handlers()
        handlers.register(cast("Callable[..., None]", namespace["handler"]))
        assert [message_type for message_type, _ in handlers] == [Greet]

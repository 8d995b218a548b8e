"""The fakes for bus tests: an instant sleep, a message recorder and a bus factory."""

from __future__ import annotations

from typing import Any

import pytest

from tactical import Backoff, InMemoryStore, Message, retry
from tactical.testing import BusFactory, HandledMessage, InstantSleep, MessageRecorder
from tactical.testing.sample import (
    HANDLERS,
    AddItem,
    Basket,
    ChangeNote,
    CreateBasket,
    InMemoryBasketUnitOfWork,
    ItemAdded,
    NoteChanged,
)


class TestInstantSleep:
    def test_records_each_delay_and_advances_the_clock(self) -> None:
        """Each call is recorded and moves the clock forward by the delay, at once."""
        sleep = InstantSleep()
        assert sleep.clock() == 0.0
        sleep(0.25)
        sleep(0)
        assert (sleep.delays, sleep.clock()) == ([0.25, 0], 0.25)

    def test_refuses_a_negative_delay(self) -> None:
        """A negative delay is a ValueError, as for time.sleep."""
        with pytest.raises(ValueError, match="non-negative"):
            InstantSleep()(-1)

    def test_makes_deadlines_expire_without_waiting(self) -> None:
        """With its clock, a retry deadline expires after the delays slept, not wall time."""
        sleep = InstantSleep()
        backoff = Backoff(initial=1, factor=1, jitter=False, attempts=None, deadline=2.5)
        failing = retry(on=OSError, backoff=backoff, sleep=sleep, clock=sleep.clock)
        with pytest.raises(Exception, match="gave up after 3 attempt"):
            failing.call(_raise_os_error)
        assert sleep.delays == [1, 1]


def _raise_os_error() -> None:
    raise OSError


class TestMessageRecorder:
    def test_records_each_call_with_its_outcome_and_returns_the_result(self) -> None:
        """A call that returns is recorded without error, and its result passes through."""
        recorder = MessageRecorder()
        message = ChangeNote("b-1", "x")
        assert recorder(message, "notes.change", lambda: 42) == 42
        assert recorder.handled == [HandledMessage(message, "notes.change", None)]
        assert recorder.failures == []

    def test_records_a_failing_call_and_reraises(self) -> None:
        """A call that raises is recorded with the error, which propagates unchanged."""
        recorder = MessageRecorder()
        error = KeyError("b-1")

        def fail() -> Any:
            raise error

        with pytest.raises(KeyError) as info:
            recorder(ChangeNote("b-1", "x"), "notes.change", fail)
        assert info.value is error
        assert recorder.failures == [HandledMessage(ChangeNote("b-1", "x"), "notes.change", error)]

    def test_lists_each_message_once_in_order_and_by_type(self) -> None:
        """messages lists each message once (however many handlers); of_type filters them."""
        recorder = MessageRecorder()
        event, command = NoteChanged("b-1", "x"), ChangeNote("b-1", "x")
        for message, handler in [(command, "a"), (event, "b"), (event, "c")]:
            recorder(message, handler, lambda: None)
        assert recorder.messages == [command, event]
        assert recorder.of_type(NoteChanged) == [event]
        recorder.clear()
        assert (recorder.handled, recorder.messages) == ([], [])


class TestBusFactory:
    def test_builds_buses_over_one_store(self) -> None:
        """Every bus it builds reads and writes the same store."""
        store = InMemoryStore()
        make_bus = BusFactory(store, MessageRecorder(), InstantSleep())
        make_bus(HANDLERS, uow=InMemoryBasketUnitOfWork).handle(CreateBasket("b-1"))
        make_bus(HANDLERS, uow=InMemoryBasketUnitOfWork).handle(AddItem("b-1", "LAMP", 1))
        assert store.version_of(Basket, "b-1") == 2

    def test_the_recorder_is_outermost_and_more_middleware_runs_inside(self) -> None:
        """Extra middleware runs inside the recorder, around every handler."""
        recorder = MessageRecorder()
        order: list[str] = []

        def inner(message: object, handler: str, proceed: Any) -> Any:
            order.append(f"inner saw {len(recorder.handled)} recorded")
            return proceed()

        make_bus = BusFactory(InMemoryStore(), recorder, InstantSleep())
        handlers: dict[type[Message], Any] = {**HANDLERS, ItemAdded: [lambda event: None]}
        bus = make_bus(handlers, uow=InMemoryBasketUnitOfWork, middleware=[inner])
        bus.handle(CreateBasket("b-1"))
        assert order == ["inner saw 0 recorded"]
        assert len(recorder.handled) == 1

    def test_passes_dependencies_and_dead_letters_to_bootstrap(self) -> None:
        """Dependencies are injected and failing event handlers reach on_dead_letter."""
        dead: list[tuple[object, str]] = []
        sleep = InstantSleep()

        def notify(event: ItemAdded, mailer: list[str]) -> None:
            mailer.append(event.sku)
            raise RuntimeError("mail server down")

        mailer: list[str] = []
        make_bus = BusFactory(InMemoryStore(), MessageRecorder(), sleep)
        handlers: dict[type[Message], Any] = {**HANDLERS, ItemAdded: [notify]}
        bus = make_bus(
            handlers,
            uow=InMemoryBasketUnitOfWork,
            dependencies={"mailer": mailer},
            event_retry=Backoff(initial=0.1, jitter=False, attempts=2),
            on_dead_letter=lambda event, handler, error: dead.append((event, handler)),
        )
        bus.handle(CreateBasket("b-1"))
        bus.handle(AddItem("b-1", "LAMP", 1))
        assert mailer == ["LAMP", "LAMP"]
        assert sleep.delays == [0.1]
        assert [event for event, _ in dead] == [ItemAdded("b-1", "LAMP", 1)]

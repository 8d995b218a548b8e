"""One bus serves many threads: each `handle` call has its own unit of work and its own queue."""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from tactical import (
    Aggregate,
    Backoff,
    Command,
    Event,
    InMemoryStore,
    InMemoryUnitOfWork,
    Message,
    bootstrap,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

T = TypeVar("T")

THREADS = 8
COMMANDS = 500
TIMEOUT = 30  # seconds; only reached when something deadlocks


@dataclass(frozen=True)
class Record(Command):
    thread: int
    number: int


@dataclass(frozen=True)
class Recorded(Event):
    thread: int
    number: int


@dataclass(frozen=True)
class Increment(Command):
    pass


class Entry(Aggregate, key="ident"):
    def __init__(self, ident: tuple[int, int]) -> None:
        self.ident = ident


class Counter(Aggregate, key="name"):
    def __init__(self, name: str) -> None:
        self.name = name
        self.value = 0


def record(command: Record, uow: InMemoryUnitOfWork) -> None:
    with uow:
        entry = Entry((command.thread, command.number))
        entry.events.append(Recorded(command.thread, command.number))
        uow.repository(Entry).add(entry)
        uow.commit()


@pytest.fixture(autouse=True)
def _frequent_thread_switches() -> Iterator[None]:
    """Switch threads every few microseconds, so interleavings are many and varied."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(interval)


def run_together(count: int, work: Callable[[int], T]) -> list[T]:
    """Run ``work(0)`` ... ``work(count - 1)`` in as many threads, released at once."""
    barrier = threading.Barrier(count, timeout=TIMEOUT)

    def start(index: int) -> T:
        barrier.wait()
        return work(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(start, index) for index in range(count)]
        return [future.result(timeout=TIMEOUT) for future in futures]


def test_many_threads_share_one_bus_without_losing_or_mixing_events() -> None:
    """8 threads x 500 commands: each thread handles exactly its own events, in order."""
    store = InMemoryStore()
    local = threading.local()

    def on_recorded(event: Recorded) -> None:
        local.seen.append((event.thread, event.number))

    bus = bootstrap(
        uow=lambda: InMemoryUnitOfWork(store),
        handlers={Record: record, Recorded: [on_recorded]},
    )

    def work(thread: int) -> list[tuple[int, int]]:
        local.seen = []
        for number in range(COMMANDS):
            bus.handle(Record(thread, number))
        return list(local.seen)

    seen = run_together(THREADS, work)
    for thread, handled in enumerate(seen):
        assert handled == [(thread, number) for number in range(COMMANDS)]
    assert len(store.keys(Entry)) == THREADS * COMMANDS


def test_each_concurrent_handle_call_gets_its_own_unit_of_work() -> None:
    """Concurrent `handle` calls never receive the same unit of work object."""
    made: list[InMemoryUnitOfWork] = []
    lock = threading.Lock()
    inside = threading.Barrier(THREADS, timeout=TIMEOUT)

    def factory() -> InMemoryUnitOfWork:
        uow = InMemoryUnitOfWork()
        with lock:
            made.append(uow)
        return uow

    def hold(command: Increment, uow: InMemoryUnitOfWork) -> InMemoryUnitOfWork:
        inside.wait()  # every thread is inside a handler at the same moment
        return uow

    bus = bootstrap(uow=factory, handlers={Increment: hold})
    used = run_together(THREADS, lambda _: bus.handle(Increment()))
    assert len({id(uow) for uow in used}) == THREADS
    assert sorted(map(id, used)) == sorted(map(id, made))


def test_a_conflict_between_threads_is_retried_in_a_fresh_transaction() -> None:
    """Two threads change one aggregate at once: the loser retries and both changes count."""
    store = InMemoryStore()
    with InMemoryUnitOfWork(store) as setup:
        setup.repository(Counter).add(Counter("c"))
        setup.commit()
    both_loaded = threading.Barrier(2, timeout=TIMEOUT)
    local = threading.local()
    attempts: list[str] = []

    def increment(command: Increment, uow: InMemoryUnitOfWork) -> int:
        with uow:
            counter = uow.repository(Counter).get("c")
            assert counter is not None
            counter.value += 1
            if not getattr(local, "synced", False):
                local.synced = True
                both_loaded.wait()  # both have read version 1 before either commits
            uow.commit()
            return int(counter.value)

    def count(message: Message, handler: str, proceed: Callable[[], Any]) -> Any:
        attempts.append(handler)
        return proceed()

    bus = bootstrap(
        uow=lambda: InMemoryUnitOfWork(store),
        handlers={Increment: increment},
        middleware=[count],
        command_retry=Backoff(initial=0, jitter=False, attempts=5),
        sleep=lambda _: None,
    )
    results = run_together(2, lambda _: bus.handle(Increment()))
    assert sorted(results) == [1, 2]
    assert len(attempts) == 3
    assert store.version_of(Counter, "c") == 3


def test_no_update_is_lost_under_contention() -> None:
    """Many threads incrementing one aggregate through the bus end at the exact total."""
    store = InMemoryStore()
    with InMemoryUnitOfWork(store) as setup:
        setup.repository(Counter).add(Counter("c"))
        setup.commit()
    increments = 50

    def increment(command: Increment, uow: InMemoryUnitOfWork) -> None:
        with uow:
            counter = uow.repository(Counter).get("c")
            assert counter is not None
            counter.value += 1
            uow.commit()

    bus = bootstrap(
        uow=lambda: InMemoryUnitOfWork(store),
        handlers={Increment: increment},
        command_retry=Backoff(initial=0, jitter=False, attempts=None, deadline=TIMEOUT),
        sleep=lambda _: None,
    )

    def work(_: int) -> None:
        for _ in range(increments):
            bus.handle(Increment())

    run_together(THREADS, work)
    with InMemoryUnitOfWork(store) as uow:
        counter = uow.repository(Counter).get("c")
        assert counter is not None
        assert counter.value == THREADS * increments
    assert store.version_of(Counter, "c") == THREADS * increments + 1

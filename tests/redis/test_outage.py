"""Redis frozen for 10 s while 5,000 events are produced: none lost, none with a second effect.

The whole path runs for real: a producer process (``outbox_worker.py``) commits orders, each
with its outbox row in the same transaction; an `OutboxRelay` publishes the rows to a private
redis-server; a consumer whose handler has an inbox turns each message into one row of an
effects table, in the transaction that records it in the inbox. Redis is frozen (SIGSTOP)
after 2,000 events, 2,000 more are committed while it is, and the last 1,000 once it is back
(SIGCONT). The time from SIGCONT to the last effect is the drain time, printed and recorded.
"""

from __future__ import annotations

import logging
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import pytest
from sqlalchemy import insert
from tests.redis.conftest import OutboxTables

from tactical import Consumer, Envelope, Event, Message, MessageRegistry
from tactical.redis import RedisBroker
from tactical.sqlalchemy import (
    Inbox,
    OutboxRelay,
    create_engine,
    create_session_factory,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

WORKER = Path(__file__).with_name("outbox_worker.py")
TIMEOUT = 60.0  # seconds; reached only when something hangs
OUTAGE = 10.0  # seconds Redis stays frozen: the outage itself, not a wait for anything
EVENTS = 5_000
BEFORE = 2_000  # events committed before Redis freezes
DURING = 2_000  # events committed while it is frozen; the rest once it is back
PER_COMMIT = 10


@dataclass(frozen=True)
class Placed(Event):
    """The producer's event (outbox_worker.py declares the same)."""

    ref: str
    n: int


REGISTRY = MessageRegistry([Placed])


@pytest.fixture
def tables(postgres_url: str, unique_name: str) -> Iterator[OutboxTables]:
    engine = create_engine(postgres_url)
    found = OutboxTables(engine, unique_name.replace("-", "_"))
    try:
        yield found
    finally:
        found.metadata.drop_all(engine)
        engine.dispose()


class Collect(logging.Handler):
    """Keeps the warnings and errors that tactical's loggers report."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def said(self, logger: str, words: str) -> int:
        """How many reports of ``logger`` contain ``words``."""
        return sum(1 for r in self.records if r.name == logger and words in r.getMessage())


@pytest.fixture
def logs() -> Iterator[Collect]:
    collect = Collect()
    loggers = [logging.getLogger(name) for name in ("tactical.outbox", "tactical.consumer")]
    for logger in loggers:
        logger.addHandler(collect)
    try:
        yield collect
    finally:
        for logger in loggers:
            logger.removeHandler(collect)


@pytest.fixture
def producer(postgres_url: str, tables: OutboxTables) -> Iterator[subprocess.Popen[bytes]]:
    """The producer process: it holds after BEFORE events, and again after DURING more."""
    command = [
        sys.executable,
        str(WORKER),
        "produce",
        "none",
        postgres_url,
        tables.prefix,
        tables.prefix,  # the stream
        "--count",
        str(EVENTS),
        "--per-commit",
        str(PER_COMMIT),
        "--hold-at",
        str(BEFORE),
        "--hold-at",
        str(BEFORE + DURING),
    ]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=TIMEOUT)
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()


class Effects:
    """The consumer's handler: one effect row per message, committed with its inbox record."""

    def __init__(self, tables: OutboxTables, inbox: Inbox) -> None:
        self._tables = tables
        self._sessions = inbox.sessions(create_session_factory(tables.engine))
        self._once = inbox.handler(self._record)
        self.deliveries = 0
        self.committed = 0  # effects committed
        self.last_at = 0.0  # time.monotonic() of the last one

    def __call__(self, message: Message, envelope: Envelope) -> object:
        self.deliveries += 1
        return self._once(message, envelope)

    def _record(self, message: Message, envelope: Envelope) -> None:
        with self._sessions() as session:
            session.execute(insert(self._tables.effects).values(message_id=envelope.message_id))
            session.commit()
        self.committed += 1
        self.last_at = time.monotonic()


class Pipeline:
    """The relay and the consumer, each running in a thread of its own while in the block."""

    def __init__(
        self, tables: OutboxTables, relay_broker: RedisBroker, consumer_broker: RedisBroker
    ):
        self.relay = OutboxRelay(tables.engine, tables.outbox, relay_broker, poll_interval=0.05)
        self.effects = Effects(tables, Inbox(tables.inbox, tables.engine, group="billing"))
        self.consumer = Consumer(
            consumer_broker.subscribe(tables.prefix, "billing", "c1"),
            self.effects,
            REGISTRY.message,
            batch=50,
            block=0.2,
            claim_idle=5.0,
            claim_every=1.0,
        )
        self.threads = [
            threading.Thread(target=self.relay.run),
            threading.Thread(target=self.consumer.run),
        ]

    def alive(self) -> bool:
        """Whether both threads still run: `run` returned or raised in neither."""
        return all(thread.is_alive() for thread in self.threads)

    def __enter__(self) -> Self:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.relay.stop()
        self.consumer.stop()
        for thread in self.threads:
            thread.join(timeout=TIMEOUT)


@dataclass(frozen=True)
class Outage:
    """What waited when Redis came back."""

    frozen_after: float  # seconds from the relay and consumer starting to SIGSTOP
    unpublished: int
    without_effect: int
    resumed_at: float  # time.monotonic()
    resumed_wall: datetime


def wait_until(condition: Callable[[], bool], deadline: float, what: str) -> None:
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen in time")
        time.sleep(0.01)  # bounded polling of other threads' and processes' progress


def wait_for_every_effect(effects: Effects, tables: OutboxTables, deadline: float) -> None:
    # The count in memory first: it spares the database a query every 10 ms.
    while effects.committed < EVENTS or tables.messages_with_effects() < EVENTS:
        if time.monotonic() > deadline:
            lost = EVENTS - tables.messages_with_effects()
            pytest.fail(f"{lost} events lost: still without effect {TIMEOUT} s after SIGCONT")
        time.sleep(0.01)  # bounded polling of the consumer's progress


def expect_line(process: subprocess.Popen[bytes], line: str, deadline: float) -> None:
    """Read the next line the process prints, waiting until ``deadline`` at most."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(max(0.0, deadline - time.monotonic())):
            pytest.fail(f"the producer did not print {line!r} in time")
    assert process.stdout.readline().decode() == f"{line}\n"


def say_go(process: subprocess.Popen[bytes]) -> None:
    assert process.stdin is not None
    process.stdin.write(b"go\n")
    process.stdin.flush()


def freeze_redis(
    redis_pid: int, producer: subprocess.Popen[bytes], tables: OutboxTables, logs: Collect
) -> Outage:
    """Once BEFORE events are committed, freeze Redis for OUTAGE seconds, while the producer
    commits DURING more; then thaw it, and let the producer commit the rest."""
    started = time.monotonic()
    expect_line(producer, f"held {BEFORE}", started + TIMEOUT)
    os.kill(redis_pid, signal.SIGSTOP)
    frozen_after = time.monotonic() - started
    thaw_at = time.monotonic() + OUTAGE
    try:
        say_go(producer)
        expect_line(producer, f"held {BEFORE + DURING}", thaw_at)
        wait_until(
            lambda: logs.said("tactical.outbox", "relay round failed") > 0,
            thaw_at,
            "the relay noticing the outage",
        )
        # The outage lasts OUTAGE seconds on purpose: this sleep is its length.
        time.sleep(max(0.0, thaw_at - time.monotonic()))
        unpublished = tables.unpublished()
        without_effect = EVENTS - tables.messages_with_effects()
    finally:
        os.kill(redis_pid, signal.SIGCONT)
    outage = Outage(frozen_after, unpublished, without_effect, time.monotonic(), datetime.now(UTC))
    say_go(producer)
    return outage


def test_a_10_s_redis_outage_while_5000_events_are_produced_loses_and_repeats_nothing(
    make_server: Callable[..., Any],
    tables: OutboxTables,
    producer: subprocess.Popen[bytes],
    logs: Collect,
    record_property: Callable[[str, Any], None],
) -> None:
    """Redis frozen 10 s in the middle of 5,000 events: every event has exactly one effect,
    the relay and the consumer stay up throughout, and no row or entry is given up."""
    server = make_server()
    assert server.process is not None
    stream = tables.prefix
    ids = [f"{tables.prefix}-{i}" for i in range(EVENTS)]
    with (
        RedisBroker.from_url(server.url, socket_timeout=1.0) as relay_broker,
        RedisBroker.from_url(server.url, socket_timeout=1.0) as consumer_broker,
    ):
        with Pipeline(tables, relay_broker, consumer_broker) as pipeline:
            outage = freeze_redis(server.process.pid, producer, tables, logs)
            assert producer.wait(timeout=TIMEOUT) == 0
            wait_for_every_effect(pipeline.effects, tables, outage.resumed_at + TIMEOUT)
            assert pipeline.alive(), "the relay or the consumer stopped"
        assert not any(thread.is_alive() for thread in pipeline.threads)
        entries = Counter(entry.fields["id"] for entry in relay_broker.entries(stream))
        assert relay_broker.entries(f"{stream}:dead-letter") == []
        assert relay_broker.pending(stream, "billing") == []

    drain = pipeline.effects.last_at - outage.resumed_at
    relayed = (tables.last_published() - outage.resumed_wall).total_seconds()
    figures = {
        "drain_seconds": round(drain, 3),
        "relay_caught_up_seconds": round(relayed, 3),
        "frozen_after_seconds": round(outage.frozen_after, 3),
        "unpublished_at_sigcont": outage.unpublished,
        "without_effect_at_sigcont": outage.without_effect,
        "published_twice": sum(entries.values()) - len(entries),
        "deliveries": pipeline.effects.deliveries,
        "relay_failed_rounds": logs.said("tactical.outbox", "relay round failed"),
        "consumer_broker_errors": logs.said("tactical.consumer", "broker error"),
    }
    for name, value in figures.items():
        record_property(name, value)
    sys.stdout.write(
        f"\nRedis frozen {OUTAGE:.0f} s amid {EVENTS:,} events: last effect {drain:.2f} s after "
        f"SIGCONT, outbox published {relayed:.2f} s after it; "
        + ", ".join(f"{name} {value}" for name, value in figures.items())
        + "\n"
    )

    assert outage.unpublished >= DURING, "rows committed while Redis was frozen were published"
    assert tables.orders_count() == EVENTS
    effects = tables.effects_per_message()
    assert set(effects) == set(ids), f"{len(set(ids) - set(effects))} events lost"
    assert set(effects.values()) == {1}, "an event had a second effect"
    assert tables.outbox_states() == dict.fromkeys(ids, "published")  # none dead
    assert set(entries) == set(ids)
    assert logs.said("tactical.outbox", "is dead") == 0

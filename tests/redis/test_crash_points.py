"""A producer or an outbox relay killed (SIGKILL) at each point of its work: nothing is lost,
nothing that never committed is published, and a message published twice has one effect.

The worker (``outbox_worker.py``) is a real process that kills itself at the chosen point;
the library runs unchanged (the crash is hooked through SQLAlchemy's events, or a publisher
that wraps the real one). Each test then looks at the three places a message can be: the
stream (entries per message id), the outbox table, and the effects table that a consumer
with an inbox fills, after it has drained the stream.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import insert, text
from tests.redis.conftest import OutboxTables

from tactical import Consumer, Envelope, Event, Message, MessageRegistry
from tactical.sqlalchemy import (
    Inbox,
    create_engine,
    create_session_factory,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy import Engine

    from tactical.redis import RedisBroker

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

WORKER = Path(__file__).with_name("outbox_worker.py")
TIMEOUT = 60.0  # seconds; reached only when something hangs
EVENTS = 3  # placed in one transaction, relayed in one round
KILLED = -signal.SIGKILL


@dataclass(frozen=True)
class Placed(Event):
    """The worker's event (outbox_worker.py declares the same)."""

    ref: str
    n: int


REGISTRY = MessageRegistry([Placed])


class World(OutboxTables):
    """One test's tables, stream and workers, and what can be seen of them."""

    def __init__(
        self, engine: Engine, broker: RedisBroker, urls: tuple[str, str], prefix: str
    ) -> None:
        self.broker = broker
        self.postgres_url, self.redis_url = urls
        self.stream = prefix
        self.ids = [f"{prefix}-{i}" for i in range(EVENTS)]
        super().__init__(engine, prefix)

    def run(self, role: str, point: str) -> subprocess.CompletedProcess[str]:
        """Run the worker to its end (or its death); then its connections are gone too."""
        command = [
            sys.executable,
            str(WORKER),
            role,
            point,
            self.postgres_url,
            self.prefix,
            self.stream,
            "--redis",
            self.redis_url,
            "--count",
            str(EVENTS),
            "--per-commit",
            str(EVENTS),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
        self._wait_disconnected(f"{self.prefix}-{role}")
        return done

    def _wait_disconnected(self, application: str) -> None:
        """Wait until PostgreSQL has noticed a dead worker: its transaction rolled back."""
        query = text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name")
        deadline = time.monotonic() + TIMEOUT
        while True:
            with self.engine.connect() as connection:
                if connection.execute(query, {"name": application}).scalar_one() == 0:
                    return
            if time.monotonic() > deadline:
                pytest.fail(f"the connections of {application} outlived it by {TIMEOUT} s")
            time.sleep(0.01)  # bounded polling of the server's cleanup after a dead client

    def on_stream(self) -> Counter[str]:
        """How many entries the stream holds for each message id."""
        return Counter(entry.fields["id"] for entry in self.broker.entries(self.stream))

    def consume(self) -> tuple[int, int]:
        """Drain the stream with a consumer whose handler has an inbox: (deliveries, handled)."""
        inbox = Inbox(self.inbox, self.engine, group="billing")
        sessions = inbox.sessions(create_session_factory(self.engine))
        calls = Counter[str]()

        def record(message: Message, envelope: Envelope) -> None:
            calls["handled"] += 1
            with sessions() as session:
                session.execute(insert(self.effects).values(message_id=envelope.message_id))
                session.commit()

        once = inbox.handler(record)

        def deliver(message: Message, envelope: Envelope) -> object:
            calls["delivered"] += 1
            return once(message, envelope)

        subscription = self.broker.subscribe(self.stream, "billing", "c1")
        subscription.start()
        consumer = Consumer(subscription, deliver, REGISTRY.message, block=0.0)
        while consumer.poll():
            pass
        assert self.broker.pending(self.stream, "billing") == []
        assert self.broker.entries(f"{self.stream}:dead-letter") == []
        return calls["delivered"], calls["handled"]


@pytest.fixture
def world(
    postgres_url: str, redis_url: str, redis_broker: RedisBroker, stream: str
) -> Iterator[World]:
    engine = create_engine(postgres_url)
    found = World(engine, redis_broker, (postgres_url, redis_url), stream.replace("-", "_"))
    try:
        yield found
    finally:
        found.metadata.drop_all(engine)
        engine.dispose()


@pytest.fixture
def stream(unique_name: str) -> str:
    """The stream, also the prefix of the tables and of the message ids (no dashes)."""
    return unique_name.replace("-", "_")


def died(done: subprocess.CompletedProcess[str], in_hand: int) -> None:
    """The worker killed itself at its crash point, with ``in_hand`` outbox rows in hand."""
    assert done.returncode == KILLED, done.stderr
    assert done.stdout == f"{in_hand}\n", done.stderr


def produced(world: World) -> None:
    """Events committed by a producer that did not crash."""
    done = world.run("produce", "none")
    assert done.returncode == 0, done.stderr
    assert world.outbox_states() == dict.fromkeys(world.ids, "pending")


def test_a_producer_killed_before_commit_publishes_nothing_ever(world: World) -> None:
    """Producer killed with its orders and outbox rows written but not committed: no order, no
    row, and a relay run afterwards publishes nothing (0 phantom messages)."""
    died(world.run("produce", "before-commit"), EVENTS)  # the rows were written, uncommitted
    assert world.orders_count() == 0
    assert world.outbox_states() == {}

    relayed = world.run("relay", "none")
    assert (relayed.returncode, relayed.stdout) == (0, "0\n"), relayed.stderr
    assert world.consume() == (0, 0)
    assert world.on_stream() == Counter()
    assert world.effects_per_message() == Counter()


def test_a_producer_killed_after_commit_loses_nothing(world: World) -> None:
    """Producer killed right after its commit: the rows wait in the outbox, and a relay started
    afterwards publishes each once (0 lost): one entry, one effect per message."""
    died(world.run("produce", "after-commit"), EVENTS)
    assert world.orders_count() == EVENTS
    assert world.outbox_states() == dict.fromkeys(world.ids, "pending")
    assert world.on_stream() == Counter()

    relayed = world.run("relay", "none")
    assert (relayed.returncode, relayed.stdout) == (0, f"{EVENTS}\n"), relayed.stderr
    assert world.on_stream() == Counter(world.ids)
    assert world.outbox_states() == dict.fromkeys(world.ids, "published")
    assert world.consume() == (EVENTS, EVENTS)
    assert world.effects_per_message() == Counter(world.ids)


@pytest.mark.parametrize("point", ["after-publish", "before-mark-commit"])
def test_a_relay_killed_after_publishing_before_the_mark_commits_duplicates_without_effect(
    world: World, point: str
) -> None:
    """Relay killed once its rows are on the stream but before their marks commit (not marked,
    or marked uncommitted): a restarted relay publishes them again, the duplicates are
    delivered, and the inbox gives them no second effect."""
    produced(world)
    died(world.run("relay", point), EVENTS)  # published; then also marked, uncommitted
    assert world.on_stream() == Counter(world.ids)
    assert world.outbox_states() == dict.fromkeys(world.ids, "pending")

    relayed = world.run("relay", "none")
    assert (relayed.returncode, relayed.stdout) == (0, f"{EVENTS}\n"), relayed.stderr
    assert world.on_stream() == Counter(dict.fromkeys(world.ids, 2))
    assert world.outbox_states() == dict.fromkeys(world.ids, "published")
    assert world.consume() == (2 * EVENTS, EVENTS)  # every duplicate delivered, none handled
    assert world.effects_per_message() == Counter(world.ids)


def test_a_relay_killed_after_its_marks_committed_publishes_nothing_twice(world: World) -> None:
    """Relay killed right after a round committed its marks: a restarted relay publishes
    nothing again; one entry, one delivery, one effect per message."""
    produced(world)
    died(world.run("relay", "after-mark"), EVENTS)
    assert world.on_stream() == Counter(world.ids)
    assert world.outbox_states() == dict.fromkeys(world.ids, "published")

    relayed = world.run("relay", "none")
    assert (relayed.returncode, relayed.stdout) == (0, "0\n"), relayed.stderr
    assert world.on_stream() == Counter(world.ids)
    assert world.consume() == (EVENTS, EVENTS)
    assert world.effects_per_message() == Counter(world.ids)

"""Redis Streams and a PostgreSQL inbox together, in real processes: nothing lost, nothing
done twice, whether a consumer is killed or the whole stream is replayed.

Workers (``inbox_worker.py``) turn each `Record` into one row of an effects table, through a
message bus and a unit of work whose sessions carry the inbox. The effects table has no
uniqueness, so a second effect would show as a second row.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select
from sqlalchemy.orm import registry

from tactical import (
    Backoff,
    Command,
    Consumer,
    Envelope,
    Message,
    MessageRegistry,
    bootstrap,
)
from tactical.sqlalchemy import (
    Inbox,
    SqlAlchemyUnitOfWork,
    create_engine,
    create_schema,
    create_session_factory,
    inbox_table,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from sqlalchemy import Engine

    from tactical.redis import RedisBroker

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

WORKER = Path(__file__).with_name("inbox_worker.py")
TIMEOUT = 180.0  # seconds; reached only when something hangs


@dataclass(frozen=True)
class Record(Command):
    """The workers' message (inbox_worker.py declares the same)."""

    n: int


class Effect:
    """A row of the effects table."""

    def __init__(self, n: int, by: str) -> None:
        self.n = n
        self.by = by


def effects_table(metadata: MetaData, name: str) -> Table:
    """The workers' effects table (inbox_worker.py declares the same)."""
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("n", Integer, nullable=False),
        Column("by", String(40), nullable=False),
    )


REGISTRY = MessageRegistry([Record])


class Tables:
    """This test's effects and inbox tables, in the session's PostgreSQL database."""

    def __init__(self, engine: Engine, prefix: str) -> None:
        self.engine = engine
        self.metadata = MetaData()
        self.effects_name = f"{prefix}_effects"
        self.inbox_name = f"{prefix}_inbox"
        self.effects: Table = effects_table(self.metadata, self.effects_name)
        self.inbox: Table = inbox_table(self.metadata, self.inbox_name)
        create_schema(engine, self.metadata)

    def effect_counts(self) -> tuple[int, int]:
        """(rows, distinct messages) in the effects table."""
        query = select(func.count(), func.count(self.effects.c.n.distinct()))
        with self.engine.connect() as connection:
            rows, distinct = connection.execute(query).one()
        return int(rows), int(distinct)

    def handled(self, numbers: set[int]) -> bool:
        query = select(func.count(self.effects.c.n.distinct())).where(self.effects.c.n.in_(numbers))
        with self.engine.connect() as connection:
            return connection.execute(query).scalar_one() == len(numbers)


@pytest.fixture
def tables(postgres_url: str, unique_name: str) -> Iterator[Tables]:
    engine = create_engine(postgres_url)
    found = Tables(engine, unique_name.replace("-", "_"))
    try:
        yield found
    finally:
        found.metadata.drop_all(engine)
        engine.dispose()


def publish(broker: RedisBroker, stream: str, count: int) -> list[str]:
    """Publish Record(0) ... Record(count - 1), pipelined; return the entry ids."""
    ids: list[str] = []
    with broker.client.pipeline(transaction=False) as pipe:
        for n in range(count):
            pipe.xadd(stream, REGISTRY.envelope(Record(n)).to_fields())  # type: ignore[arg-type]
            if len(pipe) == 1000:
                ids.extend(i.decode() for i in pipe.execute())
        ids.extend(i.decode() for i in pipe.execute())
    return ids


def pop(broker: RedisBroker, key: str) -> str:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        item = broker.client.lpop(key)
        if item is not None:
            return bytes(item).decode()  # type: ignore[arg-type]
        time.sleep(0.01)  # bounded polling of another process's progress
    pytest.fail(f"nothing was pushed to {key} within {TIMEOUT} s")


@pytest.fixture
def workers(
    redis_url: str, postgres_url: str, stream: str, tables: Tables
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str, *options: str) -> subprocess.Popen[bytes]:
        command = [
            sys.executable,
            str(WORKER),
            redis_url,
            postgres_url,
            stream,
            name,
            tables.effects_name,
            tables.inbox_name,
            *options,
        ]
        process = subprocess.Popen(command)
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=TIMEOUT)


@pytest.mark.slow
def test_three_consumers_one_killed_holding_200_of_10000_lose_and_repeat_nothing(
    redis_broker: RedisBroker,
    stream: str,
    tables: Tables,
    workers: Callable[..., subprocess.Popen[bytes]],
    record_property: Callable[[str, Any], None],
) -> None:
    """10,000 entries, three consumer processes in one group; one is SIGKILLed while it
    holds 200 pending entries. The survivors reclaim them after the idle time: every
    message has exactly one effect."""
    entry_ids = publish(redis_broker, stream, 10_000)
    doomed = workers("doomed", "--hold-first", "--batch", "200")
    pop(redis_broker, f"{stream}:started")
    held = {p.entry_id for p in redis_broker.pending(stream, "group") if p.consumer == "doomed"}
    assert len(held) == 200
    held_numbers = {entry_ids.index(entry_id) for entry_id in held}
    survivors = [workers(f"survivor-{i}", "--claim-idle", "2") for i in (1, 2)]
    for _ in survivors:
        pop(redis_broker, f"{stream}:ready")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=TIMEOUT)
    killed_at = time.monotonic()
    deadline = killed_at + TIMEOUT
    reclaimed_after: float | None = None
    while time.monotonic() < deadline:
        if reclaimed_after is None and tables.handled(held_numbers):
            reclaimed_after = time.monotonic() - killed_at
        if tables.effect_counts()[1] == 10_000 and reclaimed_after is not None:
            break
        time.sleep(0.05)  # bounded polling of the workers' progress
    finished_after = time.monotonic() - killed_at
    for survivor in survivors:
        survivor.send_signal(signal.SIGTERM)
    for survivor in survivors:
        assert survivor.wait(timeout=TIMEOUT) == 0
    rows, distinct = tables.effect_counts()
    record_property("reclaim_seconds", reclaimed_after)
    sys.stdout.write(
        f"\n3 consumers, 10,000 entries, one killed holding 200: the 200 were handled "
        f"{reclaimed_after:.2f} s after SIGKILL (claim idle 2 s); all done "
        f"{finished_after:.2f} s after it; {rows} effects for {distinct} messages\n"
    )
    assert distinct == 10_000, f"{10_000 - distinct} messages lost"
    assert rows == 10_000, f"{rows - 10_000} messages had a second effect"
    assert redis_broker.pending(stream, "group") == []


def test_replaying_1000_entries_three_times_has_1000_effects(
    redis_broker: RedisBroker, stream: str, tables: Tables
) -> None:
    """The group is rewound to the start twice (XGROUP SETID 0): every entry is delivered
    three times in all, and the inbox lets each have its effect once."""
    publish(redis_broker, stream, 1000)
    inbox = Inbox(tables.inbox, tables.engine, group="effects")
    sessions = inbox.sessions(create_session_factory(tables.engine))

    class Row(Effect):
        pass

    registry().map_imperatively(Row, tables.effects)

    def record(command: Record, uow: SqlAlchemyUnitOfWork) -> None:
        with uow:
            uow.session.add(Row(command.n, "replayer"))
            uow.commit()

    bus = bootstrap(uow=lambda: SqlAlchemyUnitOfWork(sessions), handlers={Record: record})
    handled: list[Message] = []

    def handle(message: Message, envelope: Envelope) -> None:
        handled.append(message)
        bus.handle(message)

    subscription = redis_broker.subscribe(stream, "group", "replayer")
    subscription.start()
    consumer = Consumer(
        subscription,
        inbox.handler(handle),
        REGISTRY.message,
        batch=100,
        block=0.0,
        backoff=Backoff(initial=0.0, cap=0.0, jitter=False),
    )
    for replay in range(3):
        if replay:
            redis_broker.client.xgroup_setid(stream, "group", "0")
        while consumer.poll():
            pass
        assert redis_broker.pending(stream, "group") == []
    assert len(handled) == 1000, "the handler ran for first deliveries only"
    assert tables.effect_counts() == (1000, 1000)
    inbox_rows = _count(tables.engine, tables.inbox)
    assert inbox_rows == 1000


def _count(engine: Engine, table: Table) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())

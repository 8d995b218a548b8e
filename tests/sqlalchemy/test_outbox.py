"""The outbox writes routed events with the change that caused them; the relay publishes each
committed row, in order, once in normal operation, and never skips or loses one."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, delete, insert, select
from sqlalchemy.orm import registry

from tactical import (
    Aggregate,
    Backoff,
    BrokerError,
    ConcurrencyError,
    Envelope,
    Event,
    InMemoryBroker,
    MessageRegistry,
    RegistrationError,
)
from tactical.sqlalchemy import (
    Outbox,
    OutboxRelay,
    SqlAlchemyRepository,
    SqlAlchemyUnitOfWork,
    create_engine,
    create_schema,
    create_session_factory,
    map_aggregate,
    outbox_table,
    version_column,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from sqlalchemy import Engine

NO_WAIT = Backoff(initial=0.0, cap=0.0, jitter=False)


@dataclass(frozen=True)
class Deposited(Event):
    ref: str
    amount: int


@dataclass(frozen=True)
class Audited(Event):
    """Recorded too, but not routed: it stays inside the service."""

    ref: str


class Account(Aggregate, key="ref"):
    def __init__(self, ref: str, balance: int = 0) -> None:
        self.ref = ref
        self.balance = balance

    def deposit(self, amount: int) -> None:
        self.balance += amount
        self.events.append(Deposited(self.ref, amount))
        self.events.append(Audited(self.ref))


class AccountUnitOfWork(SqlAlchemyUnitOfWork):
    @property
    def accounts(self) -> SqlAlchemyRepository[Account, str]:
        return self.repository(Account)


metadata = MetaData()
accounts = Table(
    "outbox_test_accounts",
    metadata,
    Column("ref", String(40), primary_key=True),
    Column("balance", Integer, nullable=False),
    version_column(),
)
OUTBOX = outbox_table(metadata, "outbox_test_outbox")
REGISTRY = MessageRegistry([Deposited, Audited])
ROUTES: dict[type[Event], str] = {Deposited: "deposits"}


@pytest.fixture(scope="module")
def mapped() -> MetaData:
    map_aggregate(registry(metadata=metadata), Account, accounts)
    return metadata


@pytest.fixture(scope="module")
def postgres_db(mapped: MetaData, postgres_url: str) -> Iterator[Engine]:
    engine = create_engine(postgres_url)
    create_schema(engine, mapped)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, mapped: MetaData, tmp_path: Path) -> Iterator[Engine]:
    """Each backend in turn, its tables empty."""
    if request.param == "postgresql":
        engine: Engine = request.getfixturevalue("postgres_db")
        with engine.begin() as connection:
            connection.execute(delete(OUTBOX))
            connection.execute(delete(accounts))
        yield engine
        return
    engine = create_engine(f"sqlite:///{tmp_path / 'outbox.db'}")
    create_schema(engine, mapped)
    yield engine
    engine.dispose()


@pytest.fixture
def outbox() -> Outbox:
    return Outbox(OUTBOX, REGISTRY, ROUTES)


@pytest.fixture
def uow(db: Engine, outbox: Outbox) -> Callable[[], AccountUnitOfWork]:
    sessions = outbox.sessions(create_session_factory(db))
    return lambda: AccountUnitOfWork(sessions)


def rows(db: Engine) -> list[Any]:
    with db.connect() as connection:
        return list(connection.execute(select(OUTBOX).order_by(OUTBOX.c.id)))


def open_account(uow: Callable[[], AccountUnitOfWork], ref: str = "acc-1") -> None:
    with uow() as unit:
        unit.accounts.add(Account(ref))
        unit.commit()


def deposit(uow: Callable[[], AccountUnitOfWork], amount: int, ref: str = "acc-1") -> None:
    with uow() as unit:
        account = unit.accounts.get(ref)
        assert account is not None
        account.deposit(amount)
        unit.commit()


def published(broker: InMemoryBroker, stream: str = "deposits") -> list[object]:
    return [
        REGISTRY.message(Envelope.from_fields(entry.fields)) for entry in broker.entries(stream)
    ]


# Writing


def test_a_routed_event_is_written_with_the_change_that_caused_it(
    uow: Callable[[], AccountUnitOfWork], db: Engine
) -> None:
    """The commit inserts one row per routed event; unrouted events are not written."""
    open_account(uow)
    deposit(uow, 5)
    [row] = rows(db)
    assert (row.stream, row.type, row.version, row.attempts) == ("deposits", "Deposited", 1, 0)
    assert REGISTRY.message(Envelope(row.type, row.data, row.message_id)) == Deposited("acc-1", 5)
    assert row.published_at is None
    assert row.dead_at is None


def test_nothing_is_written_when_the_change_is_not_committed(
    uow: Callable[[], AccountUnitOfWork], db: Engine
) -> None:
    """No commit (or a rollback), no row: the outbox holds only what happened."""
    open_account(uow)
    with uow() as unit:
        account = unit.accounts.get("acc-1")
        assert account is not None
        account.deposit(5)
    with uow() as unit:
        account = unit.accounts.get("acc-1")
        assert account is not None
        account.deposit(6)
        unit.rollback()
        unit.commit()
    assert rows(db) == []


def test_nothing_is_written_when_the_commit_fails(
    uow: Callable[[], AccountUnitOfWork], db: Engine
) -> None:
    """A conflict rolls back the aggregate and its outbox rows together."""
    open_account(uow)
    with uow() as slow:
        account = slow.accounts.get("acc-1")
        assert account is not None
        deposit(uow, 1)
        account.deposit(2)
        with pytest.raises(ConcurrencyError):
            slow.commit()
    assert [REGISTRY.message(Envelope(r.type, r.data, r.message_id)) for r in rows(db)] == [
        Deposited("acc-1", 1)
    ]


def test_each_commit_writes_only_its_own_events(
    uow: Callable[[], AccountUnitOfWork], db: Engine
) -> None:
    """Two commits in one unit of work: each event is written once."""
    open_account(uow)
    with uow() as unit:
        account = unit.accounts.get("acc-1")
        assert account is not None
        account.deposit(1)
        unit.commit()
        account.deposit(2)
        unit.commit()
    assert [r.data for r in rows(db)] == [
        '{"ref":"acc-1","amount":1}',
        '{"ref":"acc-1","amount":2}',
    ]


def test_put_adds_any_message_to_the_transaction(
    uow: Callable[[], AccountUnitOfWork], outbox: Outbox, db: Engine
) -> None:
    """A message that no aggregate recorded can be put in the outbox explicitly."""
    with uow() as unit:
        envelope = outbox.put(unit.session, "audit", Audited("acc-9"))
        unit.commit()
    [row] = rows(db)
    assert (row.stream, row.message_id) == ("audit", envelope.message_id)


def test_routing_an_unregistered_type_is_refused() -> None:
    """Every routed type must be one the registry can write."""
    with pytest.raises(RegistrationError, match="not registered"):
        Outbox(OUTBOX, MessageRegistry(), ROUTES)


# Relaying


def test_the_relay_publishes_pending_rows_in_order_and_marks_them(
    uow: Callable[[], AccountUnitOfWork], db: Engine
) -> None:
    """Every committed row is published once, oldest first, with its own message id."""
    open_account(uow)
    for amount in (1, 2, 3):
        deposit(uow, amount)
    broker = InMemoryBroker()
    relay = OutboxRelay(db, OUTBOX, broker, batch=2)
    assert relay.relay_once() == 2
    assert relay.relay_once() == 1
    assert relay.relay_once() == 0
    assert published(broker) == [Deposited("acc-1", n) for n in (1, 2, 3)]
    ids = [Envelope.from_fields(e.fields).message_id for e in broker.entries("deposits")]
    assert ids == [row.message_id for row in rows(db)]
    assert all(row.published_at is not None for row in rows(db))


class FlakyPublisher:
    """A broker that is down for a while, or that rejects some messages."""

    def __init__(self, broker: InMemoryBroker, *, down_for: int = 0, reject: int = 0) -> None:
        self.broker = broker
        self.down_for = down_for
        self.reject = reject
        self.calls = 0

    def publish(self, stream: str, envelope: Envelope, /) -> str:
        self.calls += 1
        if self.down_for:
            self.down_for -= 1
            raise BrokerError("connection refused")
        if REGISTRY.message(envelope) == Deposited("acc-1", self.reject):
            raise ValueError("the broker refuses this one")
        return self.broker.publish(stream, envelope)


def test_rows_wait_untouched_while_the_broker_is_down(
    uow: Callable[[], AccountUnitOfWork], db: Engine
) -> None:
    """A broker failure ends the round; the rows are not blamed: no attempt is counted."""
    open_account(uow)
    deposit(uow, 1)
    broker = InMemoryBroker()
    relay = OutboxRelay(db, OUTBOX, FlakyPublisher(broker, down_for=1))
    with pytest.raises(BrokerError):
        relay.relay_once()
    [row] = rows(db)
    assert (row.attempts, row.published_at, row.dead_at) == (0, None, None)
    assert relay.relay_once() == 1
    assert published(broker) == [Deposited("acc-1", 1)]


def test_run_rides_out_a_broker_outage_and_catches_up(
    uow: Callable[[], AccountUnitOfWork], db: Engine
) -> None:
    """`run` logs, backs off and carries on; once the broker is back, everything goes out."""
    open_account(uow)
    for amount in (1, 2):
        deposit(uow, amount)
    broker = InMemoryBroker()
    publisher = FlakyPublisher(broker, down_for=5)
    relay = OutboxRelay(db, OUTBOX, publisher, backoff=NO_WAIT, poll_interval=0.01)
    runner = threading.Thread(target=relay.run)
    runner.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=30)
        while len(broker.entries("deposits")) < 2 and datetime.now(UTC) < deadline:
            threading.Event().wait(0.01)  # bounded polling of the relay thread's progress
    finally:
        relay.stop()
        runner.join(timeout=30)
    assert not runner.is_alive()
    assert published(broker) == [Deposited("acc-1", 1), Deposited("acc-1", 2)]
    assert publisher.calls == 7


def test_a_row_that_keeps_being_rejected_is_marked_dead_with_its_error(
    uow: Callable[[], AccountUnitOfWork], db: Engine
) -> None:
    """After max_attempts rejections the row is dead, its error kept; the others flow."""
    open_account(uow)
    for amount in (1, 2, 3):
        deposit(uow, amount)
    broker = InMemoryBroker()
    now = [datetime(2024, 1, 1, tzinfo=UTC)]
    relay = OutboxRelay(
        db,
        OUTBOX,
        FlakyPublisher(broker, reject=2),
        max_attempts=3,
        backoff=Backoff(initial=10.0, cap=10.0, jitter=False),
        clock=lambda: now[0],
    )
    assert relay.relay_once() == 2
    assert relay.relay_once() == 0, "the rejected row waits for its back-off"
    for _ in range(2):
        now[0] += timedelta(seconds=10)
        assert relay.relay_once() == 0
    rejected = rows(db)[1]
    assert rejected.attempts == 3
    assert rejected.dead_at is not None
    assert rejected.last_error == "ValueError: the broker refuses this one"
    now[0] += timedelta(days=1)
    assert relay.relay_once() == 0, "a dead row is not tried again"
    assert published(broker) == [Deposited("acc-1", 1), Deposited("acc-1", 3)]


def test_a_batch_the_publisher_refuses_is_retried_row_by_row(
    uow: Callable[[], AccountUnitOfWork], db: Engine
) -> None:
    """When a batch publish fails for a reason other than the broker, each row is tried on
    its own, so that only the guilty row is blamed."""
    open_account(uow)
    for amount in (1, 2, 3):
        deposit(uow, amount)
    broker = InMemoryBroker()

    class Batching(FlakyPublisher):
        def publish_many(self, messages: list[tuple[str, Envelope]], /) -> list[str]:
            raise ValueError("one of these is refused")

    relay = OutboxRelay(db, OUTBOX, Batching(broker, reject=2))
    assert relay.relay_once() == 2
    assert [row.attempts for row in rows(db)] == [0, 1, 0]
    assert published(broker) == [Deposited("acc-1", 1), Deposited("acc-1", 3)]


def test_two_relays_at_once_never_publish_a_row_twice(
    uow: Callable[[], AccountUnitOfWork], db: Engine
) -> None:
    """While one relay is publishing its rows, another takes other rows (PostgreSQL) or
    waits its turn (SQLite); every row goes out exactly once."""
    open_account(uow)
    for amount in range(1, 11):
        deposit(uow, amount)
    broker = InMemoryBroker()
    inside = threading.Event()
    release = threading.Event()

    class Blocking:
        def publish(self, stream: str, envelope: Envelope, /) -> str:
            inside.set()
            assert release.wait(timeout=30)
            return broker.publish(stream, envelope)

    first = OutboxRelay(db, OUTBOX, Blocking(), batch=5)
    second = OutboxRelay(db, OUTBOX, broker, batch=5)
    counts: dict[str, int] = {}
    one = threading.Thread(target=lambda: counts.update(first=first.relay_once()))
    one.start()
    assert inside.wait(timeout=30)
    two = threading.Thread(target=lambda: counts.update(second=second.relay_once()))
    two.start()
    if db.dialect.name == "postgresql":
        two.join(timeout=30)  # skips the locked rows instead of waiting for them
        assert counts == {"second": 5}
    release.set()
    one.join(timeout=30)
    two.join(timeout=30)
    assert counts == {"first": 5, "second": 5}
    amounts = sorted(message.amount for message in published(broker))  # type: ignore[attr-defined]
    assert amounts == list(range(1, 11))


def test_a_row_that_commits_late_is_published_all_the_same(postgres_db: Engine) -> None:
    """Row 1 is inserted first but commits after row 2 was published: a relay that read
    "ids after the last one seen" would skip it forever; this one publishes it."""
    with postgres_db.begin() as connection:
        connection.execute(delete(OUTBOX))
    broker = InMemoryBroker()
    relay = OutboxRelay(postgres_db, OUTBOX, broker)

    def row(amount: int) -> dict[str, Any]:
        envelope = REGISTRY.envelope(Deposited("late", amount))
        return {
            "message_id": envelope.message_id,
            "stream": "deposits",
            "type": envelope.type,
            "version": 1,
            "occurred_at": envelope.occurred_at,
            "data": envelope.data,
            "attempts": 0,
        }

    with postgres_db.connect() as slow:
        slow_transaction = slow.begin()
        slow_id = slow.execute(insert(OUTBOX).values(row(1)).returning(OUTBOX.c.id)).scalar_one()
        with postgres_db.begin() as quick:
            quick_id = quick.execute(insert(OUTBOX).values(row(2)).returning(OUTBOX.c.id)).scalar()
        assert slow_id < quick_id
        assert relay.relay_once() == 1
        slow_transaction.commit()
    assert relay.relay_once() == 1
    assert published(broker) == [Deposited("late", 2), Deposited("late", 1)]


def test_relay_settings_are_checked() -> None:
    """A batch or an attempt cap below one is refused."""
    engine = create_engine("sqlite://")
    try:
        with pytest.raises(ValueError, match="at least 1"):
            OutboxRelay(engine, OUTBOX, InMemoryBroker(), batch=0)
    finally:
        engine.dispose()

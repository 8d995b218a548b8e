"""The inbox: a message's effect and its record commit together, so redelivery has no second
effect, and a handler that failed is handled again."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, delete, func, select
from sqlalchemy.orm import registry

from tactical import (
    Aggregate,
    Backoff,
    Command,
    Consumer,
    Envelope,
    InMemoryBroker,
    Message,
    MessageRegistry,
    PersistenceError,
    bootstrap,
)
from tactical.sqlalchemy import (
    Inbox,
    SqlAlchemyRepository,
    SqlAlchemyUnitOfWork,
    create_engine,
    create_schema,
    create_session_factory,
    inbox_table,
    map_aggregate,
    version_column,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from sqlalchemy import Engine


@dataclass(frozen=True)
class Credit(Command):
    ref: str
    amount: int


class Wallet(Aggregate, key="ref"):
    def __init__(self, ref: str, balance: int = 0) -> None:
        self.ref = ref
        self.balance = balance


class WalletUnitOfWork(SqlAlchemyUnitOfWork):
    @property
    def wallets(self) -> SqlAlchemyRepository[Wallet, str]:
        return self.repository(Wallet)


metadata = MetaData()
wallets = Table(
    "inbox_test_wallets",
    metadata,
    Column("ref", String(40), primary_key=True),
    Column("balance", Integer, nullable=False),
    version_column(),
)
INBOX = inbox_table(metadata, "inbox_test_inbox")
REGISTRY = MessageRegistry([Credit])


@pytest.fixture(scope="module")
def mapped() -> MetaData:
    map_aggregate(registry(metadata=metadata), Wallet, wallets)
    return metadata


@pytest.fixture(scope="module")
def postgres_db(mapped: MetaData, postgres_url: str) -> Iterator[Engine]:
    engine = create_engine(postgres_url)
    create_schema(engine, mapped)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, mapped: MetaData, tmp_path: Path) -> Iterator[Engine]:
    """Each backend in turn, holding one wallet with a balance of 0."""
    if request.param == "postgresql":
        engine: Engine = request.getfixturevalue("postgres_db")
        with engine.begin() as connection:
            connection.execute(delete(INBOX))
            connection.execute(delete(wallets))
    else:
        engine = create_engine(f"sqlite:///{tmp_path / 'inbox.db'}")
        create_schema(engine, mapped)
    with engine.begin() as connection:
        connection.execute(wallets.insert().values(ref="w1", balance=0, version=1))
    yield engine
    if request.param == "sqlite":
        engine.dispose()


@pytest.fixture
def inbox(db: Engine) -> Inbox:
    return Inbox(INBOX, db, group="wallets")


@pytest.fixture
def uow(db: Engine, inbox: Inbox) -> Callable[[], WalletUnitOfWork]:
    sessions = inbox.sessions(create_session_factory(db))
    return lambda: WalletUnitOfWork(sessions)


def credit(command: Credit, uow: WalletUnitOfWork) -> None:
    with uow:
        wallet = uow.wallets.get(command.ref)
        assert wallet is not None
        wallet.balance += command.amount
        uow.commit()


def balance(db: Engine) -> int:
    with db.connect() as connection:
        query = select(wallets.c.balance).where(wallets.c.ref == "w1")
        return int(connection.execute(query).scalar_one())


def recorded(db: Engine) -> int:
    with db.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(INBOX)).scalar_one())


def envelope(amount: int = 5, message_id: str = "m-1") -> Envelope:
    return REGISTRY.envelope(Credit("w1", amount), message_id=message_id)


def test_a_handled_message_is_recorded_with_its_effect(
    uow: Callable[[], WalletUnitOfWork], inbox: Inbox, db: Engine
) -> None:
    """The handler's change and the message id commit in one transaction."""
    handle = inbox.handler(lambda message, env: credit(message, uow()))  # type: ignore[arg-type]
    handle(Credit("w1", 5), envelope())
    assert (balance(db), recorded(db)) == (5, 1)
    assert inbox.handled("m-1")
    assert not inbox.handled("m-2")


def test_a_redelivered_message_has_no_second_effect(
    uow: Callable[[], WalletUnitOfWork], inbox: Inbox, db: Engine
) -> None:
    """The same message id again: the handler does not run; the effect stays single."""
    calls: list[Message] = []

    def inner(message: Message, env: Envelope) -> None:
        calls.append(message)
        credit(message, uow())  # type: ignore[arg-type]

    handle = inbox.handler(inner)
    for _ in range(3):
        handle(Credit("w1", 5), envelope())
    assert calls == [Credit("w1", 5)]
    assert (balance(db), recorded(db)) == (5, 1)


def test_a_failed_handler_is_not_recorded_and_runs_again(
    uow: Callable[[], WalletUnitOfWork], inbox: Inbox, db: Engine
) -> None:
    """A handler that raises commits nothing: the next delivery handles the message."""
    attempts: list[int] = []

    def flaky(message: Message, env: Envelope) -> None:
        attempts.append(1)
        with uow() as unit:
            wallet = unit.wallets.get("w1")
            assert wallet is not None
            wallet.balance += 5
            if len(attempts) == 1:
                raise ConnectionError("mail server down")
            unit.commit()

    handle = inbox.handler(flaky)
    with pytest.raises(ConnectionError):
        handle(Credit("w1", 5), envelope())
    assert (balance(db), recorded(db)) == (0, 0)
    handle(Credit("w1", 5), envelope())
    assert (balance(db), recorded(db)) == (5, 1)


def test_a_commit_retried_after_a_conflict_still_records_the_message(
    uow: Callable[[], WalletUnitOfWork], inbox: Inbox, db: Engine
) -> None:
    """The bus retries a conflicting command in a fresh transaction; that commit carries
    the record, since the failed one's was rolled back with it."""
    interfered: list[bool] = []

    def credit_with_a_rival(command: Credit, uow: WalletUnitOfWork) -> None:
        with uow:
            wallet = uow.wallets.get(command.ref)
            assert wallet is not None
            if not interfered:
                interfered.append(True)
                credit(Credit("w1", 100), WalletUnitOfWork(create_session_factory(db)))
            wallet.balance += command.amount
            uow.commit()

    bus = bootstrap(uow=uow, handlers={Credit: credit_with_a_rival}, sleep=lambda s: None)
    handle = inbox.handler(lambda message, env: bus.handle(message))
    handle(Credit("w1", 5), envelope())
    assert (balance(db), recorded(db)) == (105, 1)
    handle(Credit("w1", 5), envelope())
    assert balance(db) == 105


def test_two_consumers_handling_one_message_at_once_commit_one_effect(
    uow: Callable[[], WalletUnitOfWork], inbox: Inbox, db: Engine
) -> None:
    """Both pass the look-up and run the handler (on different rows, so that nothing but
    the inbox can stop them); the record's primary key lets one commit. The other fails,
    and its next delivery finds the message handled."""
    with db.begin() as connection:
        connection.execute(wallets.insert().values(ref="w2", balance=0, version=1))
    both_in = threading.Barrier(2, timeout=30)
    refs = iter(["w1", "w2"])
    outcomes: list[str] = []

    def racing(message: Message, env: Envelope) -> None:
        with uow() as unit:
            wallet = unit.wallets.get(next(refs))
            assert wallet is not None
            wallet.balance += 5
            both_in.wait()
            unit.commit()

    handle = inbox.handler(racing)

    def consume() -> None:
        try:
            handle(Credit("w1", 5), envelope())
        except PersistenceError:
            outcomes.append("refused")
        else:
            outcomes.append("committed")

    threads = [threading.Thread(target=consume) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["committed", "refused"]
    with db.connect() as connection:
        total = connection.execute(select(func.sum(wallets.c.balance))).scalar_one()
    assert (total, recorded(db)) == (5, 1)
    handle(Credit("w1", 5), envelope())
    assert recorded(db) == 1


def test_each_group_handles_a_message_once(db: Engine) -> None:
    """One message id, two services: each records and handles it for itself."""
    sessions = create_session_factory(db)
    effects: list[str] = []
    for group in ("billing", "shipping", "billing"):
        inbox = Inbox(INBOX, db, group=group)
        attached = inbox.sessions(sessions)

        def inner(
            message: Message, env: Envelope, group: str = group, made: Any = attached
        ) -> None:
            effects.append(group)
            with WalletUnitOfWork(made) as unit:
                wallet = unit.wallets.get("w1")
                assert wallet is not None
                wallet.balance += 1
                unit.commit()

        inbox.handler(inner)(Credit("w1", 1), envelope())
    assert effects == ["billing", "shipping"]
    assert recorded(db) == 2


def test_a_consumer_with_an_inbox_handles_duplicates_on_the_stream_once(
    uow: Callable[[], WalletUnitOfWork], inbox: Inbox, db: Engine
) -> None:
    """The same message published three times (an at-least-once producer): one effect,
    every entry acknowledged."""
    broker = InMemoryBroker()
    for _ in range(3):
        broker.publish("credits", envelope(7, message_id="dup-1"))
    broker.publish("credits", envelope(1, message_id="other"))
    bus = bootstrap(uow=uow, handlers={Credit: credit})
    subscription = broker.subscribe("credits", "wallets", "c1")
    subscription.start()
    consumer = Consumer(
        subscription,
        inbox.handler(lambda message, env: bus.handle(message)),
        REGISTRY.message,
        backoff=Backoff(initial=0.0, cap=0.0, jitter=False),
        block=0.0,
    )
    assert consumer.poll() == 4
    assert (balance(db), recorded(db)) == (8, 2)
    assert broker.pending("credits", "wallets") == []

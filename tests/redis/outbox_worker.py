"""A producer, or an outbox relay, in a process of its own, which can die (SIGKILL) on purpose.

Run as ``python outbox_worker.py ROLE POINT POSTGRES_URL PREFIX STREAM [options]``; the
tables are ``PREFIX_orders`` and ``PREFIX_outbox`` (the tests create them).

``produce`` places ``--count`` orders, ``--per-commit`` to a unit of work. Each order records
a `Placed` event, which the outbox writes in the transaction that commits the order; message
ids are ``PREFIX-0``, ``PREFIX-1``... in the order the outbox makes them. POINT:

* ``before-commit``: die once the first transaction has written (flushed) its orders and
  outbox rows, just before COMMIT is sent;
* ``after-commit``: die as soon as the first transaction has committed;
* ``none``: produce everything and exit 0. ``--hold-at N`` (repeatable) prints ``held N``
  once N events are committed, then waits for a line on standard input.

``relay`` runs an `OutboxRelay` to Redis (``--redis URL``) until no row is pending. POINT:

* ``after-publish``: die once the first round's rows are on the stream, before they are
  marked published (the publisher is wrapped; the relay itself is the library's);
* ``before-mark-commit``: die once the round has marked them, before that commits;
* ``after-mark``: die once the first round, marks included, has committed;
* ``none``: relay everything and exit 0.

Before dying, a worker prints how many outbox rows it had in hand (written, committed or
published) at that point. Its PostgreSQL connections carry ``application_name``
``PREFIX-ROLE``, so a test can tell when a dead worker's connections are gone: its
transaction rolled back, its row locks released.
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

from sqlalchemy import Column, Integer, MetaData, String, Table, event, func, select
from sqlalchemy.orm import registry

from tactical import Aggregate, Event, MessageRegistry
from tactical.redis import RedisBroker
from tactical.sqlalchemy import (
    Outbox,
    OutboxRelay,
    SqlAlchemyUnitOfWork,
    create_engine,
    create_session_factory,
    map_aggregate,
    outbox_table,
    version_column,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Connection, Engine
    from sqlalchemy.orm import Session, UOWTransaction

    from tactical import Envelope


@dataclass(frozen=True)
class Placed(Event):
    ref: str
    n: int


class Order(Aggregate, key="ref"):
    def __init__(self, ref: str, n: int) -> None:
        self.ref = ref
        self.n = n

    def place(self) -> None:
        self.events.append(Placed(self.ref, self.n))


def orders_table(metadata: MetaData, prefix: str) -> Table:
    """The orders (the tests declare the same)."""
    return Table(
        f"{prefix}_orders",
        metadata,
        Column("ref", String(80), primary_key=True),
        Column("n", Integer, nullable=False),
        version_column(),
    )


def die(in_hand: int) -> NoReturn:
    """Say how many outbox rows were in hand, then die as a crash does: no cleanup at all."""
    sys.stdout.write(f"{in_hand}\n")
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable: SIGKILL cannot be caught")


def connect(url: str, prefix: str, role: str) -> Engine:
    return create_engine(url, connect_args={"application_name": f"{prefix}-{role}"})


def produce(args: argparse.Namespace) -> None:
    prefix: str = args.prefix
    metadata = MetaData()
    orders = orders_table(metadata, prefix)
    rows = outbox_table(metadata, f"{prefix}_outbox")
    map_aggregate(registry(), Order, orders)
    ids = (f"{prefix}-{i}" for i in itertools.count())
    outbox = Outbox(
        rows, MessageRegistry([Placed], new_id=lambda: next(ids)), {Placed: args.stream}
    )
    engine = connect(args.postgres_url, prefix, "produce")
    sessions = outbox.sessions(create_session_factory(engine))
    written = 0

    def count_written(session: Session, context: UOWTransaction) -> None:
        # Inside the transaction, after its INSERTs: what it would commit.
        nonlocal written
        written = session.execute(select(func.count()).select_from(rows)).scalar_one()

    def watched() -> Session:
        session = sessions()
        event.listen(session, "after_flush_postexec", count_written)
        return session

    if args.point == "before-commit":
        event.listen(engine, "commit", lambda connection: die(written))
    holds = set(args.hold_at)
    for start in range(0, args.count, args.per_commit):
        with SqlAlchemyUnitOfWork(watched) as uow:
            for n in range(start, min(start + args.per_commit, args.count)):
                order = Order(f"{prefix}-order-{n}", n)
                order.place()
                uow.repository(Order).add(order)
            uow.commit()
        if args.point == "after-commit":
            die(written)
        done = min(start + args.per_commit, args.count)
        if done in holds:
            sys.stdout.write(f"held {done}\n")
            sys.stdout.flush()
            sys.stdin.readline()
    engine.dispose()


class Dying:
    """A publisher that passes everything to Redis, then dies: after publishing, before marking."""

    def __init__(self, broker: RedisBroker) -> None:
        self._broker = broker

    def publish(self, stream: str, envelope: Envelope, /) -> str:
        self._broker.publish(stream, envelope)
        die(1)

    def publish_many(self, messages: Sequence[tuple[str, Envelope]], /) -> list[str]:
        self._broker.publish_many(messages)
        die(len(messages))


def relay(args: argparse.Namespace) -> None:
    prefix: str = args.prefix
    rows = outbox_table(MetaData(), f"{prefix}_outbox")
    engine = connect(args.postgres_url, prefix, "relay")
    published = 0

    def count_marked(connection: Connection) -> None:
        # Straight through the driver: this connection is committing, and must begin nothing.
        cursor = connection.connection.cursor()
        cursor.execute(f'SELECT count(*) FROM "{rows.name}" WHERE published_at IS NOT NULL')
        row = cursor.fetchone()
        assert row is not None
        die(int(row[0]))

    if args.point == "before-mark-commit":
        event.listen(engine, "commit", count_marked)
    with RedisBroker.from_url(args.redis) as broker:
        publisher = Dying(broker) if args.point == "after-publish" else broker
        outbox_relay = OutboxRelay(engine, rows, publisher)
        while True:
            round_published = outbox_relay.relay_once()
            published += round_published
            if args.point == "after-mark":
                die(round_published)
            if round_published == 0:
                break
    sys.stdout.write(f"{published}\n")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["produce", "relay"])
    parser.add_argument(
        "point",
        choices=[
            "none",
            "before-commit",
            "after-commit",
            "after-publish",
            "before-mark-commit",
            "after-mark",
        ],
    )
    for name in ("postgres_url", "prefix", "stream"):
        parser.add_argument(name)
    parser.add_argument("--redis", default="")
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--per-commit", type=int, default=3)
    parser.add_argument("--hold-at", type=int, action="append", default=[])
    args = parser.parse_args()
    if args.role == "produce":
        produce(args)
    else:
        relay(args)


if __name__ == "__main__":
    main()

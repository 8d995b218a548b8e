"""A consumer process with an inbox: each `Record` becomes one row of an effects table.

Run as ``python inbox_worker.py REDIS_URL POSTGRES_URL STREAM NAME EFFECTS INBOX
[--batch N] [--claim-idle S] [--hold-first]``. The handler goes through a message bus and a
`SqlAlchemyUnitOfWork` whose sessions carry the inbox, so the effect row and the inbox
record commit together. ``--hold-first`` makes the first message's handler announce itself
on ``<stream>:started`` and wait forever: the process holds its whole batch pending, to be
killed. It stops gracefully on SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass

import redis
from sqlalchemy import Column, Integer, MetaData, String, Table
from sqlalchemy.orm import registry

from tactical import Backoff, Command, Consumer, Envelope, Message, MessageRegistry, bootstrap
from tactical.redis import RedisBroker
from tactical.sqlalchemy import (
    Inbox,
    SqlAlchemyUnitOfWork,
    create_engine,
    create_session_factory,
    inbox_table,
)


@dataclass(frozen=True)
class Record(Command):
    n: int


class Effect:
    def __init__(self, n: int, by: str) -> None:
        self.n = n
        self.by = by


def effects_table(metadata: MetaData, name: str) -> Table:
    """One row per effect; no uniqueness, so that a second effect would show."""
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("n", Integer, nullable=False),
        Column("by", String(40), nullable=False),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("redis_url", "postgres_url", "stream", "name", "effects", "inbox"):
        parser.add_argument(name)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--claim-idle", type=float, default=60.0)
    parser.add_argument("--hold-first", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    stream: str = args.stream
    metadata = MetaData()
    effects = effects_table(metadata, args.effects)
    registry().map_imperatively(Effect, effects)
    engine = create_engine(args.postgres_url, pool_size=2)
    inbox = Inbox(inbox_table(metadata, args.inbox), engine, group="effects")
    sessions = inbox.sessions(create_session_factory(engine))
    consumer_name: str = args.name

    def record(command: Record, uow: SqlAlchemyUnitOfWork) -> None:
        with uow:
            uow.session.add(Effect(command.n, consumer_name))
            uow.commit()

    bus = bootstrap(uow=lambda: SqlAlchemyUnitOfWork(sessions), handlers={Record: record})
    waiting = redis.Redis.from_url(args.redis_url, socket_timeout=None)
    held = not args.hold_first

    with RedisBroker.from_url(args.redis_url) as broker:

        def handle(message: Message, envelope: Envelope) -> None:
            nonlocal held
            if not held:
                held = True
                broker.client.rpush(f"{stream}:started", envelope.message_id)
                waiting.blpop([f"{stream}:never"], timeout=0)
            bus.handle(message)

        consumer = Consumer(
            broker.subscribe(stream, "group", consumer_name),
            inbox.handler(handle),
            MessageRegistry([Record]).message,
            batch=args.batch,
            claim_idle=args.claim_idle,
            claim_every=0.2,
            block=0.1,
            backoff=Backoff(initial=0.01, cap=0.1),
        )
        with consumer.stop_on_signals():
            broker.client.rpush(f"{stream}:ready", consumer_name)
            consumer.run()
    waiting.close()
    engine.dispose()


if __name__ == "__main__":
    main()

"""Fixtures for the Redis adapter: brokers on the shared server, and throwaway servers."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest
import redis
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select

from tactical.redis import RedisBroker
from tactical.sqlalchemy import create_schema, inbox_table, outbox_table, version_column

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from sqlalchemy import Engine


@pytest.fixture
def stream(unique_name: str) -> str:
    """A stream name that no other test, or test run, uses."""
    return unique_name


@pytest.fixture
def redis_broker(redis_url: str, stream: str) -> Iterator[RedisBroker]:
    """A broker on the shared Redis; the test's streams are deleted afterwards."""
    with RedisBroker.from_url(redis_url) as broker:
        try:
            yield broker
        finally:
            keys = list(broker.client.scan_iter(match=f"{stream}*", count=1000))
            if keys:
                broker.client.delete(*keys)


class Server:
    """A private redis-server on a Unix socket, to stop, pause and misconfigure at will."""

    def __init__(self, directory: Path, *options: str) -> None:
        self.socket = directory / "redis.sock"
        self.url = f"unix://{self.socket}"
        self._command = [
            shutil.which("redis-server") or "redis-server",
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--save", "",
            "--appendonly", "no",
            "--dir", str(directory),
            *options,
        ]  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self._command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        try:
            while True:
                try:
                    client.ping()
                except redis.RedisError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)  # polling for the server to come up, with a deadline
                else:
                    return
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start private Redis servers (options as for redis-server); all stopped after the test."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    started: list[Server] = []

    def make(*options: str) -> Server:
        directory = tmp_path / f"redis-{len(started)}"
        directory.mkdir()
        private = Server(directory, *options)
        started.append(private)
        private.start()
        return private

    try:
        yield make
    finally:
        for private in started:
            private.stop()


@pytest.fixture
def server(make_server: Callable[..., Server]) -> Server:
    """A private Redis server, stopped after the test."""
    return make_server()


class OutboxTables:
    """The outbox worker's tables (its orders and outbox; the consumer's inbox and effects),
    named after one prefix, and what the tests read from them."""

    def __init__(self, engine: Engine, prefix: str) -> None:
        self.engine = engine
        self.prefix = prefix
        self.metadata = MetaData()
        self.orders = Table(  # as outbox_worker.py declares it
            f"{prefix}_orders",
            self.metadata,
            Column("ref", String(80), primary_key=True),
            Column("n", Integer, nullable=False),
            version_column(),
        )
        self.outbox = outbox_table(self.metadata, f"{prefix}_outbox")
        self.inbox = inbox_table(self.metadata, f"{prefix}_inbox")
        self.effects = Table(  # no uniqueness: a second effect would be a second row
            f"{prefix}_effects",
            self.metadata,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("message_id", String(256), nullable=False),
        )
        create_schema(engine, self.metadata)

    def scalar(self, query: Any) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def unpublished(self) -> int:
        table = self.outbox
        return self.scalar(
            select(func.count()).select_from(table).where(table.c.published_at.is_(None))
        )

    def messages_with_effects(self) -> int:
        return self.scalar(select(func.count(self.effects.c.message_id.distinct())))

    def orders_count(self) -> int:
        return self.scalar(select(func.count()).select_from(self.orders))

    def last_published(self) -> datetime:
        with self.engine.connect() as connection:
            moment = connection.execute(select(func.max(self.outbox.c.published_at))).scalar_one()
        assert isinstance(moment, datetime)
        return moment

    def effects_per_message(self) -> Counter[str]:
        with self.engine.connect() as connection:
            return Counter(connection.execute(select(self.effects.c.message_id)).scalars())

    def outbox_states(self) -> dict[str, str]:
        """Each outbox row's message id, and its state: pending, published or dead."""
        table = self.outbox
        query = select(table.c.message_id, table.c.published_at, table.c.dead_at)
        with self.engine.connect() as connection:
            return {
                message_id: "dead" if dead else "published" if published else "pending"
                for message_id, published, dead in connection.execute(query)
            }

"""Fixtures of the allocation service's tests: the real services, and the state of the mapping.

``postgres_url`` and ``redis_url`` follow the project's rule (the root ``tests/conftest.py``,
which pytest does not apply here): they read ``TACTICAL_POSTGRES_URL`` and
``TACTICAL_REDIS_URL``, skip when the service is unreachable, and fail instead when
``TACTICAL_REQUIRE_SERVICES=1``. Each test session gets a PostgreSQL database of its own.

SQLAlchemy maps the domain classes for the whole process, and the in-memory fakes need
them plain, so every test that maps them (with ``mapped``, or by running the demo in
process) has them unmapped when it ends.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import os
import queue
import socketserver
import threading
import time
import uuid
from typing import TYPE_CHECKING, NoReturn

import pytest

from allocation.adapters import orm

if TYPE_CHECKING:
    from collections.abc import Iterator
    from email.message import EmailMessage

POSTGRES_URL = os.environ.get(
    "TACTICAL_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("TACTICAL_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_SERVICES = os.environ.get("TACTICAL_REQUIRE_SERVICES") == "1"


def unavailable(service: str, error: Exception) -> NoReturn:
    """Skip the test (or fail it, when services are required) because a service is down."""
    reason = f"{service} is unreachable ({type(error).__name__}: {error})"
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason}; TACTICAL_REQUIRE_SERVICES=1 requires it")
    pytest.skip(reason)


@contextlib.contextmanager
def _postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped (whoever is connected) at the end."""
    import psycopg
    from psycopg import sql

    name = f"allocation_test_{uuid.uuid4().hex[:12]}"
    admin_dsn = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://", 1)
    try:
        admin = psycopg.connect(admin_dsn, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        unavailable("PostgreSQL", error)
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base, _, _ = POSTGRES_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a PostgreSQL database of this test session's own, dropped afterwards."""
    with _postgres_database() as url:
        yield url


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """The URL of a PostgreSQL database of this test's own, with no tables, dropped afterwards."""
    with _postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The URL of the Redis server, checked to answer a PING."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as error:
        unavailable("Redis", error)
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def unique_name() -> str:
    """A name that no other test (or test run) uses: for skus, references, streams."""
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture(autouse=True)
def _plain_domain_classes() -> Iterator[None]:
    """Whatever a test mapped, the next test starts with the domain classes unmapped."""
    yield
    orm.clear_mappers()


@pytest.fixture
def mapped() -> None:
    """The domain classes mapped onto the tables, for this test."""
    orm.start_mappers()


class SmtpSink(socketserver.ThreadingTCPServer):
    """A tiny SMTP server on loopback that keeps every message it is sent, in order.

    It speaks just enough of RFC 5321 for `smtplib`: greeting, EHLO/HELO, MAIL, RCPT, DATA
    (with dot-unstuffing), RSET, NOOP and QUIT.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpSession)
        self.received: queue.Queue[EmailMessage] = queue.Queue()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """The first ``count`` messages received, waiting up to ``timeout`` seconds in all."""
        deadline = time.monotonic() + timeout
        messages = []
        for _ in range(count):
            remaining = max(0.0, deadline - time.monotonic())
            try:
                messages.append(self.received.get(timeout=remaining))
            except queue.Empty:
                pytest.fail(f"the SMTP sink received {len(messages)} of {count} messages")
        return messages


class _SmtpSession(socketserver.StreamRequestHandler):
    server: SmtpSink

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 sink ESMTP")
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb in {b"EHLO", b"HELO"}:
                self.reply("250 sink")
            elif verb in {b"MAIL", b"RCPT", b"RSET", b"NOOP"}:
                self.reply("250 OK")
            elif verb == b"DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                self.server.received.put(self.read_message())
                self.reply("250 OK")
            elif verb == b"QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")

    def read_message(self) -> EmailMessage:
        lines = []
        while (line := self.rfile.readline()) not in {b".\r\n", b""}:
            lines.append(line[1:] if line.startswith(b"..") else line)
        return email.message_from_bytes(b"".join(lines), policy=email.policy.default)


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A running `SmtpSink`, shut down after the test."""
    sink = SmtpSink()
    thread = threading.Thread(target=sink.serve_forever, name="smtp-sink", daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        sink.shutdown()
        sink.server_close()
        thread.join(timeout=10)

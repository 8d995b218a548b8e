"""Fresh databases for the workloads that persist (W2, W3, W5), and where the services are.

Every run gets a database of its own: a SQLite file in a temporary directory, or a PostgreSQL
database created for the run (``bench_<random>``) and dropped after it, so that no run sees
another's rows and every run starts from the same empty state. The servers are the ones the
tests use: ``TACTICAL_POSTGRES_URL`` and ``TACTICAL_REDIS_URL``, with the same defaults.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterator

POSTGRES_URL: Final = os.environ.get(
    "TACTICAL_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL: Final = os.environ.get("TACTICAL_REDIS_URL", "redis://127.0.0.1:6379/0")

SQLITE: Final = 0
POSTGRESQL: Final = 1
BACKENDS: Final = {SQLITE: "sqlite", POSTGRESQL: "postgresql"}
"""The ``backend`` parameter of a group, and the name each value stands for."""


def driver_dsn(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as a plain libpq connection string for psycopg."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@dataclass(frozen=True)
class Database:
    """A database made for one run.

    Attributes:
        backend: `SQLITE` or `POSTGRESQL`.
        url: Its SQLAlchemy URL.
        path: The SQLite file (SQLite only).
        name: The PostgreSQL database's name (PostgreSQL only).
    """

    backend: int
    url: str
    path: Path | None = None
    name: str | None = None

    @property
    def dsn(self) -> str:
        """The connection string for the raw driver (psycopg), PostgreSQL only."""
        return driver_dsn(self.url)

    @property
    def host(self) -> str:
        """The PostgreSQL server's host."""
        return _url_part(self.url, "host")

    @property
    def port(self) -> str:
        """The PostgreSQL server's port."""
        return _url_part(self.url, "port")

    @property
    def user(self) -> str:
        """The PostgreSQL user."""
        return _url_part(self.url, "user")


def _url_part(url: str, part: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    value = {"host": parsed.host, "port": parsed.port, "user": parsed.username}[part]
    return "" if value is None else str(value)


@contextlib.contextmanager
def fresh_database(backend: int) -> Iterator[Database]:
    """A new, empty database on ``backend``, removed when the block ends."""
    if backend == SQLITE:
        with tempfile.TemporaryDirectory(prefix="tactical-bench-") as folder:
            path = Path(folder) / "bench.db"
            yield Database(SQLITE, f"sqlite:///{path}", path=path)
        return
    if backend != POSTGRESQL:
        raise ValueError(f"unknown backend {backend}")
    import psycopg
    from psycopg import sql

    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin = driver_dsn(POSTGRES_URL)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base, _, _ = POSTGRES_URL.rpartition("/")
    try:
        yield Database(POSTGRESQL, f"{base}/{name}", name=name)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

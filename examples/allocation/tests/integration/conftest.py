"""Databases for the integration tests: a SQLite file of the test's own, and PostgreSQL.

Tests that take ``engine`` run once on each, with every table of the service created and
empty, and the domain classes mapped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from allocation.adapters.schema import create_tables, metadata
from tactical.sqlalchemy import create_engine, create_session_factory

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker


def url_of(database: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a SQLite file of the test's own, or of the session's PostgreSQL database."""
    if database == "sqlite":
        return f"sqlite:///{tmp_path / 'allocation.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of each database: a SQLite file, and the session's PostgreSQL database."""
    return url_of(request.param, request, tmp_path)


@pytest.fixture
def make_engine(mapped: None) -> Iterator[Callable[[str], Engine]]:
    """Makes engines on databases with every table of the service, all empty."""
    engines: list[Engine] = []

    def make(url: str) -> Engine:
        engine = create_engine(url)
        engines.append(engine)
        create_tables(engine)
        with engine.begin() as connection:
            for table in reversed(metadata.sorted_tables):
                connection.execute(table.delete())
        return engine

    yield make
    for engine in engines:
        engine.dispose()


@pytest.fixture
def engine(database_url: str, make_engine: Callable[[str], Engine]) -> Engine:
    """An engine on a database with every table of the service, all empty."""
    return make_engine(database_url)


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """The session factory of the units of work."""
    return create_session_factory(engine)

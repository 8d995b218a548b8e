"""Fixtures shared by the whole test suite: the real services, reached over loopback.

Tests that need PostgreSQL or Redis take the ``postgres_url`` or ``redis_url`` fixture. When
the service is unreachable they skip with the reason, unless ``TACTICAL_REQUIRE_SERVICES=1``
(as in CI), where they fail instead. Each test session gets a database of its own, so two
test runs on one machine never see each other's tables.
"""

from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

# pytest refuses pytest_plugins in a nested conftest when run as `pytest .`; the testing kit's
# tests (tests/testing) run pytest inside pytest.
pytest_plugins = ["pytester"]

POSTGRES_URL = os.environ.get(
    "TACTICAL_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("TACTICAL_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_SERVICES = os.environ.get("TACTICAL_REQUIRE_SERVICES") == "1"


def unavailable(service: str, error: Exception) -> None:
    """Skip the test (or fail it, when services are required) because a service is down."""
    reason = f"{service} is unreachable ({type(error).__name__}: {error})"
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason}; TACTICAL_REQUIRE_SERVICES=1 requires it")
    pytest.skip(reason)


def _driver_dsn(url: str) -> str:
    """A SQLAlchemy URL as a plain libpq connection string for psycopg."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a fresh PostgreSQL database for this test session, dropped afterwards."""
    import psycopg
    from psycopg import sql

    name = f"tactical_test_{uuid.uuid4().hex[:12]}"
    admin_dsn = _driver_dsn(POSTGRES_URL)
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
    """A name no other test (or test run) uses: for Redis streams, groups and tables."""
    return f"t-{uuid.uuid4().hex[:12]}"

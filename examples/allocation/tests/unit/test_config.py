"""The service's settings: read from ``ALLOCATION_*`` variables, with defaults that need nothing."""

from __future__ import annotations

import pytest

from allocation.config import Config, ConfigError


def test_defaults_need_no_service() -> None:
    """With nothing set: a SQLite file in the working directory, no Redis, no mail, port 5005."""
    assert Config.from_environment({}) == Config(
        database_url="sqlite:///allocation.sqlite3",
        redis_url=None,
        stream_prefix="",
        smtp_host=None,
        smtp_port=25,
        port=5005,
    )


def test_reads_every_setting() -> None:
    """Each variable sets its field."""
    config = Config.from_environment(
        {
            "ALLOCATION_DATABASE_URL": "postgresql+psycopg://app@db/allocation",
            "ALLOCATION_REDIS_URL": "redis://broker:6379/1",
            "ALLOCATION_STREAM_PREFIX": "staging:",
            "ALLOCATION_SMTP_HOST": "mail",
            "ALLOCATION_SMTP_PORT": "2525",
            "ALLOCATION_PORT": "8080",
            "DATABASE_URL": "ignored: not the service's prefix",
        }
    )
    assert config == Config(
        database_url="postgresql+psycopg://app@db/allocation",
        redis_url="redis://broker:6379/1",
        stream_prefix="staging:",
        smtp_host="mail",
        smtp_port=2525,
        port=8080,
    )


def test_an_empty_variable_counts_as_unset() -> None:
    """``ALLOCATION_REDIS_URL=`` (empty) leaves Redis off, as unset does."""
    config = Config.from_environment({"ALLOCATION_REDIS_URL": "", "ALLOCATION_DATABASE_URL": ""})
    assert (config.redis_url, config.database_url) == (None, "sqlite:///allocation.sqlite3")


@pytest.mark.parametrize("value", ["http", "-1", "65536", "80.5", "٨٠"])
def test_a_port_must_be_a_port_number(value: str) -> None:
    """A port that is not a number from 0 to 65535 is refused, naming the variable."""
    with pytest.raises(ConfigError, match=r"^ALLOCATION_PORT must be a port number"):
        Config.from_environment({"ALLOCATION_PORT": value})

"""The service's settings, read from the environment, with defaults that need no services.

| variable | default | meaning |
|---|---|---|
| ``ALLOCATION_DATABASE_URL`` | ``sqlite:///allocation.sqlite3`` | where products and views live: a SQLite file in the working directory, or ``postgresql+psycopg://...`` |
| ``ALLOCATION_REDIS_URL`` | unset | Redis, for events between services; unset: events stay in the process and the outbox is not relayed |
| ``ALLOCATION_STREAM_PREFIX`` | empty | put before each stream's name (``change_batch_quantity``, ``line_allocated``...), to share one Redis between environments |
| ``ALLOCATION_SMTP_HOST`` | unset | the mail server for notifications; unset: each notification fails in its event handler (retried, logged, dead-lettered) and the request still succeeds |
| ``ALLOCATION_SMTP_PORT`` | ``25`` | the mail server's port |
| ``ALLOCATION_PORT`` | ``5005`` | the HTTP port of ``allocation serve`` |
"""  # noqa: E501 - a table reads best on one line per row

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["DEFAULT_DATABASE_URL", "DEFAULT_PORT", "Config", "ConfigError"]

DEFAULT_DATABASE_URL: Final = "sqlite:///allocation.sqlite3"
"""A SQLite file named ``allocation.sqlite3`` in the working directory."""
DEFAULT_PORT: Final = 5005
"""The book's port."""
DEFAULT_SMTP_PORT: Final = 25
"""SMTP's port."""
_PREFIX: Final = "ALLOCATION_"
_HIGHEST_PORT: Final = 65535


class ConfigError(ValueError):
    """A setting in the environment has a value the service cannot use."""


@dataclass(frozen=True, slots=True)
class Config:
    """Where the service finds its database, its broker and its mail server.

    Attributes:
        database_url: A SQLAlchemy URL.
        redis_url: A Redis URL, or ``None``: no events leave the process.
        stream_prefix: Put before the name of each stream the service reads or writes.
        smtp_host: The mail server, or ``None``: notifications cannot be sent.
        smtp_port: The mail server's port.
        port: The HTTP port to serve on.
    """

    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    stream_prefix: str = ""
    smtp_host: str | None = None
    smtp_port: int = DEFAULT_SMTP_PORT
    port: int = DEFAULT_PORT

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Read the ``ALLOCATION_*`` variables; an empty one counts as unset.

        Args:
            environ: The variables; `os.environ` by default.

        Raises:
            ConfigError: A port is not a number from 0 to 65535.

        Example:
            >>> Config.from_environment({"ALLOCATION_SMTP_HOST": "mail", "ALLOCATION_PORT": "80"})
            Config(database_url='sqlite:///allocation.sqlite3', redis_url=None, stream_prefix='', smtp_host='mail', smtp_port=25, port=80)
        """  # noqa: E501 - a doctest's output is one line
        variables = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            return variables.get(_PREFIX + name) or None

        return cls(
            database_url=get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            redis_url=get("REDIS_URL"),
            stream_prefix=get("STREAM_PREFIX") or "",
            smtp_host=get("SMTP_HOST"),
            smtp_port=_port(_PREFIX + "SMTP_PORT", get("SMTP_PORT"), DEFAULT_SMTP_PORT),
            port=_port(_PREFIX + "PORT", get("PORT"), DEFAULT_PORT),
        )


def _port(name: str, value: str | None, default: int) -> int:
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()) or int(value) > _HIGHEST_PORT:
        raise ConfigError(f"{name} must be a port number from 0 to {_HIGHEST_PORT}, got {value!r}")
    return int(value)

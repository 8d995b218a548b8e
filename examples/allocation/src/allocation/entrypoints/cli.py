"""The ``allocation`` command line: serve the API, consume and relay messages, and more.

Settings come from the environment (see `allocation.config`); with none set, the service
uses a SQLite file in the working directory and needs no other service (``consume`` and
``relay`` need Redis).
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from typing import TYPE_CHECKING

from sqlalchemy import make_url

from allocation.adapters import schema
from allocation.config import Config, ConfigError
from allocation.entrypoints import demo

if TYPE_CHECKING:
    from collections.abc import Sequence

LOG_FORMAT = "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s"


def build_parser() -> argparse.ArgumentParser:
    """The parser of the ``allocation`` command and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="allocation",
        description='The allocation service of "Architecture Patterns with Python", on tactical.',
        epilog="Settings: ALLOCATION_DATABASE_URL (default: sqlite:///allocation.sqlite3), "
        "ALLOCATION_REDIS_URL, ALLOCATION_STREAM_PREFIX, ALLOCATION_SMTP_HOST, "
        "ALLOCATION_SMTP_PORT, ALLOCATION_PORT (default: 5005).",
    )
    subcommands = parser.add_subparsers(dest="subcommand", required=True, metavar="COMMAND")
    subcommands.add_parser(
        "demo",
        help="walk through allocating stock, on a throw-away SQLite file (no services needed)",
        description=demo.__doc__,
    )
    subcommands.add_parser(
        "init-db",
        help="create the tables that are missing in the configured database",
        description="Create the tables that are missing; existing tables and rows are kept.",
    )
    serve = subcommands.add_parser(
        "serve",
        help="serve the HTTP API (creating the tables that are missing)",
        description="Serve the HTTP API with gunicorn until interrupted.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s)")
    serve.add_argument(
        "--port", type=int, help="port to listen on (ALLOCATION_PORT, else 5005; 0: any free)"
    )
    serve.add_argument("--workers", type=_positive, default=2, help="processes (%(default)s)")
    serve.add_argument(
        "--threads", type=_positive, default=8, help="threads per process (%(default)s)"
    )
    consume = subcommands.add_parser(
        "consume",
        help="handle the change_batch_quantity stream from Redis (ALLOCATION_REDIS_URL)",
        description="Handle change_batch_quantity entries from Redis until interrupted.",
    )
    consume.add_argument(
        "--name",
        default=socket.gethostname(),
        help="this consumer's name in its group, stable across restarts (%(default)s)",
    )
    subcommands.add_parser(
        "relay",
        help="publish the outbox (line_allocated...) to Redis (ALLOCATION_REDIS_URL)",
        description="Publish committed outbox rows to Redis until interrupted.",
    )
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``allocation`` command line.

    Args:
        argv: The arguments, without the program name; ``sys.argv[1:]`` by default.

    Returns:
        The exit status.
    """
    parser = build_parser()
    arguments = parser.parse_args(argv)
    if arguments.subcommand == "demo":
        demo.run(sys.stdout)
        return 0
    try:
        config = Config.from_environment()
    except ConfigError as error:
        parser.error(str(error))
    needs_redis = arguments.subcommand in {"consume", "relay"}
    if needs_redis and config.redis_url is None:
        parser.error(f"allocation {arguments.subcommand} needs Redis: set ALLOCATION_REDIS_URL")
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    _create_tables(config)
    if arguments.subcommand == "init-db":
        sys.stdout.write(f"The allocation service's tables exist in {_safe(config)}\n")
    elif arguments.subcommand == "serve":
        from allocation.entrypoints import server  # gunicorn loads only to serve

        port = config.port if arguments.port is None else arguments.port
        server.serve(
            config,
            host=arguments.host,
            port=port,
            workers=arguments.workers,
            threads=arguments.threads,
        )
    elif arguments.subcommand == "consume" and config.redis_url is not None:
        from allocation.entrypoints import redis_consumer

        redis_consumer.consume(config, name=arguments.name, redis_url=config.redis_url)
    elif arguments.subcommand == "relay" and config.redis_url is not None:
        from allocation.entrypoints import relay

        relay.relay(config, redis_url=config.redis_url)
    return 0


def _safe(config: Config) -> str:
    """The database's URL without its password."""
    return make_url(config.database_url).render_as_string(hide_password=True)


def _create_tables(config: Config) -> None:
    """Create the missing tables once, here, before any worker process starts."""
    engine = schema.open_database(config.database_url)
    try:
        schema.create_tables(engine)
    finally:
        engine.dispose()

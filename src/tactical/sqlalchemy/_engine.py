"""Engines and sessions: SQLite configured as an embedded database should be, and the schema.

The settings, and why, are documented on `configure_sqlite`, where the reference shows them.
"""

from __future__ import annotations

import sqlite3
import time
from typing import TYPE_CHECKING, Any, Final, Literal

import sqlalchemy
from sqlalchemy import event, text
from sqlalchemy.orm import Session, sessionmaker

from tactical.sqlalchemy._errors import translate

if TYPE_CHECKING:
    from sqlalchemy import URL, Connection, Engine, MetaData
    from sqlalchemy.engine.interfaces import DBAPIConnection
    from sqlalchemy.pool import ConnectionPoolEntry

__all__ = [
    "BUSY_TIMEOUT",
    "configure_sqlite",
    "create_engine",
    "create_schema",
    "create_session_factory",
    "is_sqlite",
]

BUSY_TIMEOUT: Final = 5.0
"""Seconds a SQLite connection waits for the write lock before "database is locked"."""

DEFER_BEGIN: Final = "tactical_defer_begin"
"""The execution option with which a unit of work asks SQLite not to begin a transaction."""

Synchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]

# PRAGMA takes no bound parameters; these are the only statements ever sent.
_SYNCHRONOUS: Final[dict[str, str]] = {
    "OFF": "PRAGMA synchronous=OFF",
    "NORMAL": "PRAGMA synchronous=NORMAL",
    "FULL": "PRAGMA synchronous=FULL",
    "EXTRA": "PRAGMA synchronous=EXTRA",
}


def is_sqlite(bind: Engine | Connection) -> bool:
    """Whether ``bind`` talks to SQLite.

    Example:
        >>> engine = create_engine("sqlite://")
        >>> is_sqlite(engine)
        True
        >>> engine.dispose()
    """
    return bind.dialect.name == "sqlite"


def configure_sqlite(
    engine: Engine,
    *,
    busy_timeout: float = BUSY_TIMEOUT,
    synchronous: Synchronous = "NORMAL",
) -> Engine:
    """Apply tactical's SQLite settings to an engine, before its first connection.

    SQLite is tactical's embedded default, and its own defaults suit neither concurrency nor
    a unit of work. [`create_engine`][tactical.sqlalchemy.create_engine] calls this for you;
    it sets, on every connection, through SQLAlchemy's connection events:

    - ``journal_mode=WAL``: readers never block the writer, nor the writer readers, so a
      unit of work that reads runs while another writes. (It needs a file: in memory there
      is no WAL.)
    - a busy timeout (the driver's ``timeout``, 5 seconds by default): a connection that
      wants the write lock while another holds it waits that long, instead of failing at
      once with "database is locked". SQLite has one writer at a time; waiting a little is
      how writers share it.
    - ``synchronous=NORMAL``: with WAL, a crash of the application loses nothing and never
      corrupts the file; only a power cut can lose the last commits. ``FULL`` syncs on
      every commit, for that too.
    - ``foreign_keys=ON``: SQLite ignores foreign keys unless told, per connection.

    And it takes transaction control away from Python's ``sqlite3`` module, which begins a
    transaction only before a statement that writes (reads are then not isolated, and the
    write lock is taken late). SQLAlchemy begins transactions instead:

    - an ordinary connection (``engine.begin()``, ``engine.connect()``) gets a plain
      ``BEGIN``: everything in it is one transaction, as on any other database;
    - a unit of work reads without a transaction open (each statement, such as the one that
      loads a whole aggregate, is consistent by itself) and takes the write lock with
      ``BEGIN IMMEDIATE`` just before it writes, or before ``get(key, for_update=True)``
      reads. A transaction that read first and writes later fails at once with "database
      is locked" if anyone wrote since it began, whatever the busy timeout; one begun with
      ``BEGIN IMMEDIATE`` waits its turn, then sees fresh data, and the version check of
      each ``UPDATE`` reports a real conflict as a conflict. Taking the lock at the first
      read instead would serialize every unit of work, and a thread holding two units of
      work open would wait for itself.

    Args:
        engine: A SQLite engine that has not connected yet.
        busy_timeout: Seconds to wait for the write lock.
        synchronous: SQLite's ``synchronous`` setting.

    Returns:
        The same engine.

    Raises:
        ValueError: The engine is not a SQLite engine, or a setting is out of range.

    Example:
        >>> import sqlalchemy
        >>> engine = configure_sqlite(sqlalchemy.create_engine("sqlite://"), busy_timeout=1)
        >>> with engine.connect() as connection:
        ...     connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
        1000
        >>> engine.dispose()
    """
    if not is_sqlite(engine):
        raise ValueError(f"configure_sqlite() needs a SQLite engine, got {engine.dialect.name}")
    if busy_timeout < 0:
        raise ValueError(f"busy_timeout must not be negative, got {busy_timeout}")
    if synchronous not in _SYNCHRONOUS:
        raise ValueError(f"synchronous must be one of {', '.join(_SYNCHRONOUS)}")
    pragma_synchronous = _SYNCHRONOUS[synchronous]

    def set_timeout(
        dialect: Any,  # noqa: ARG001 - the event's signature
        record: ConnectionPoolEntry,  # noqa: ARG001
        cargs: tuple[Any, ...],  # noqa: ARG001
        cparams: dict[str, Any],
    ) -> None:
        cparams["timeout"] = busy_timeout

    def set_pragmas(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:  # noqa: ARG001
        # sqlite3 must not begin (or commit) transactions of its own: see `begin`.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            _use_wal(cursor, busy_timeout)
            cursor.execute(pragma_synchronous)
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    event.listen(engine, "do_connect", set_timeout)
    event.listen(engine, "connect", set_pragmas)
    event.listen(engine, "begin", _begin)
    return engine


def _use_wal(cursor: Any, busy_timeout: float) -> None:
    """Switch the database file to WAL, which it then keeps; once is enough for all.

    Switching needs a moment alone with the file, and SQLite answers "database is locked" at
    once, without the busy timeout, when other connections (say, workers starting together)
    are switching too: wait for whichever of them wins, within the busy timeout.
    """
    deadline = time.monotonic() + busy_timeout
    while True:
        cursor.execute("PRAGMA journal_mode")
        if str(cursor.fetchone()[0]).lower() == "wal":
            return
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.005)
        else:
            return


def _begin(connection: Connection) -> None:
    if not connection.get_execution_options().get(DEFER_BEGIN, False):
        connection.exec_driver_sql("BEGIN")


def create_engine(
    url: str | URL,
    *,
    busy_timeout: float = BUSY_TIMEOUT,
    synchronous: Synchronous = "NORMAL",
    **kwargs: Any,
) -> Engine:
    """Create an engine from a URL; a SQLite one gets tactical's settings.

    For SQLite, see [`configure_sqlite`][tactical.sqlalchemy.configure_sqlite]; use a file
    database (``sqlite:///path/app.db``): WAL needs one, and each connection to
    ``sqlite://`` opens a database of its own. Other databases are created as
    `sqlalchemy.create_engine` creates them.

    Args:
        url: The database URL, such as ``sqlite:///app.db`` or
            ``postgresql+psycopg://user@host/db``.
        busy_timeout: SQLite only: seconds to wait for the write lock.
        synchronous: SQLite only: the ``synchronous`` setting.
        **kwargs: Passed to `sqlalchemy.create_engine` (``pool_size``, ``echo``...).

    Example:
        >>> import pathlib, tempfile
        >>> folder = tempfile.TemporaryDirectory()
        >>> engine = create_engine(f"sqlite:///{pathlib.Path(folder.name) / 'app.db'}")
        >>> with engine.connect() as connection:
        ...     connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        'wal'
        >>> engine.dispose()
        >>> folder.cleanup()
    """
    engine = sqlalchemy.create_engine(url, **kwargs)
    if is_sqlite(engine):
        configure_sqlite(engine, busy_timeout=busy_timeout, synchronous=synchronous)
    return engine


def create_session_factory(bind: Engine | str | URL, /) -> sessionmaker[Session]:
    """A factory of sessions for [`SqlAlchemyUnitOfWork`][tactical.sqlalchemy.SqlAlchemyUnitOfWork].

    Args:
        bind: An engine, or a URL to create one with
            [`create_engine`][tactical.sqlalchemy.create_engine].

    Example:
        >>> sessions = create_session_factory("sqlite://")
        >>> with sessions() as session:
        ...     session.connection().exec_driver_sql("SELECT 1").scalar()
        1
        >>> sessions.kw["bind"].dispose()
    """
    engine = bind if isinstance(bind, sqlalchemy.Engine) else create_engine(bind)
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)


def create_schema(bind: Engine, metadata: MetaData, /) -> None:
    """Create the tables of ``metadata`` that do not exist yet, in one transaction.

    Safe when several processes start together and all create the schema: on SQLite the
    write lock is taken first (``BEGIN IMMEDIATE``, waiting up to the busy timeout), on
    PostgreSQL a transaction-scoped advisory lock serialises the creators, so each one sees
    the tables the others made instead of failing on them.

    Raises:
        PersistenceError: The database refused (it is down, or the user may not create tables).

    Example:
        >>> from sqlalchemy import Column, MetaData, String, Table, inspect
        >>> metadata = MetaData()
        >>> _ = Table("products", metadata, Column("sku", String(20), primary_key=True))
        >>> engine = create_engine("sqlite://")
        >>> create_schema(engine, metadata)
        >>> inspect(engine).get_table_names()
        ['products']
        >>> engine.dispose()
    """
    try:
        with bind.connect() as connection:
            if is_sqlite(connection):
                connection.execution_options(**{DEFER_BEGIN: True})
            with connection.begin():
                if is_sqlite(connection):
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                elif connection.dialect.name == "postgresql":
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK}
                    )
                metadata.create_all(connection)
    except Exception as error:
        replacement = translate(error)
        if replacement is None:
            raise
        raise replacement from error


_SCHEMA_LOCK: Final = 0x7461637469636C  # "tactic" in ASCII: an advisory lock key of our own

"""Which driver errors are conflicts: the translation of database failures into tactical's tree.

A conflict is a failure that retrying the whole command in a fresh transaction can cure:

- SQLAlchemy's ``StaleDataError``: a version-checked ``UPDATE`` matched no row, because
  another transaction committed a change to the aggregate first;
- PostgreSQL ``40001`` (serialization failure, under REPEATABLE READ or SERIALIZABLE),
  ``40P01`` (deadlock detected) and ``55P03`` (lock not available: ``NOWAIT`` or
  ``lock_timeout``);
- SQLite ``SQLITE_BUSY`` and ``SQLITE_LOCKED`` ("database is locked"): the write lock was
  not free within the busy timeout;
- a unique violation, when the unit of work inserted an aggregate whose key another
  transaction inserted first (the unit of work checks that; see `unique_violation`).

Every other database error becomes a [`PersistenceError`][tactical.PersistenceError]. The
driver's exception is chained as ``__cause__`` either way, so nothing is lost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import exc as orm_exc

from tactical._exceptions import ConcurrencyError, PersistenceError

if TYPE_CHECKING:
    from tactical._exceptions import TacticalError

__all__ = ["is_conflict", "translate", "unique_violation"]

_POSTGRES_CONFLICTS = frozenset({"40001", "40P01", "55P03"})
_POSTGRES_UNIQUE = "23505"
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_UNIQUE = frozenset({1555, 2067})  # SQLITE_CONSTRAINT_PRIMARYKEY, _UNIQUE
_SQLITE_PRIMARY_CODE = 0xFF  # an extended result code keeps the primary code in its low byte


def _sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of a PostgreSQL driver error (psycopg 3 or psycopg2), if any."""
    code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return code if isinstance(code, str) else None


def _sqlite_code(error: BaseException) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    return code if isinstance(code, int) else None


def is_conflict(error: BaseException) -> bool:
    """Whether ``error`` (SQLAlchemy's or a driver's) is a conflict worth retrying.

    Example:
        >>> from sqlalchemy.orm.exc import StaleDataError
        >>> is_conflict(StaleDataError("expected to update 1 row(s); 0 were matched"))
        True
        >>> is_conflict(ValueError("no"))
        False
    """
    if isinstance(error, orm_exc.StaleDataError):
        return True
    if isinstance(error, sa_exc.DBAPIError) and error.orig is not None:
        error = error.orig
    if _sqlstate(error) in _POSTGRES_CONFLICTS:
        return True
    code = _sqlite_code(error)
    if code is not None:
        return code & _SQLITE_PRIMARY_CODE in {_SQLITE_BUSY, _SQLITE_LOCKED}
    return False


def unique_violation(error: BaseException) -> bool:
    """Whether ``error`` is a unique (or primary key) violation.

    Example:
        >>> unique_violation(KeyError("no"))
        False
    """
    if isinstance(error, sa_exc.DBAPIError) and error.orig is not None:
        error = error.orig
    return _sqlstate(error) == _POSTGRES_UNIQUE or _sqlite_code(error) in _SQLITE_UNIQUE


def translate(
    error: BaseException,
    *,
    aggregate_type: type[object] | None = None,
    key: object = None,
) -> TacticalError | None:
    """The tactical exception for a database error, or ``None`` when it is not one.

    Conflicts become [`ConcurrencyError`][tactical.ConcurrencyError] (naming the aggregate
    when the caller knows it), other driver errors
    [`PersistenceError`][tactical.PersistenceError]. Errors that are not the database's
    (a mapping mistake, a bug) are left alone: ``None``. The caller raises the result
    ``from error``.

    Example:
        >>> import sqlite3
        >>> from sqlalchemy.exc import OperationalError
        >>> locked = sqlite3.OperationalError("database is locked")
        >>> locked.sqlite_errorcode = 5
        >>> translate(OperationalError("BEGIN IMMEDIATE", None, locked))
        ConcurrencyError('the database reported a conflict: database is locked')
    """
    if is_conflict(error):
        return ConcurrencyError(
            f"the database reported a conflict: {_reason(error)}",
            aggregate_type=aggregate_type,
            key=key,
        )
    if isinstance(error, sa_exc.DBAPIError):
        return PersistenceError(f"the database failed: {_reason(error)}")
    return None


def _reason(error: BaseException) -> str:
    """The first line of the driver's message: SQLAlchemy's adds the statement, not wanted."""
    if isinstance(error, sa_exc.DBAPIError) and error.orig is not None:
        error = error.orig
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__

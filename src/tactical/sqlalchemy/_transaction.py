"""One open unit of work: its session, the aggregates it saw, and the version counters it bumps.

This is where the two rules that make optimistic concurrency work are enforced, just before
every flush (``before_flush``):

- an aggregate whose root, or any object inside it, is new, changed or deleted gets its
  version counter bumped, once per commit, so that its root row is updated (and checked
  against concurrent writers) even when only a child row changed;
- on SQLite, the write lock is taken (``BEGIN IMMEDIATE``) before the first write.

An aggregate that was only read is never written: no ``UPDATE``, no version bump.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, inspect, select

from tactical._aggregate import Aggregate
from tactical._exceptions import ConcurrencyError
from tactical.sqlalchemy._engine import DEFER_BEGIN, is_sqlite
from tactical.sqlalchemy._errors import is_conflict, translate, unique_violation

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.orm import InstanceState, Session, UOWTransaction

    from tactical._exceptions import TacticalError
    from tactical._messages import Event
    from tactical.sqlalchemy._mapping import AggregateMapping

__all__ = ["Transaction", "translating"]


class _Written:
    """An aggregate this transaction inserts (``base`` is None) or updates from ``base``."""

    __slots__ = ("base", "key", "mapping")

    def __init__(self, mapping: AggregateMapping, key: object, base: int | None) -> None:
        self.mapping = mapping
        self.key = key
        self.base = base


class Transaction:
    """The state of a unit of work between ``__enter__`` and ``__exit__``.

    Args:
        session: A new session, owned from now on.
    """

    __slots__ = (
        "bumped",
        "closed",
        "repositories",
        "seen",
        "session",
        "sqlite",
        "unprepared",
        "write_locked",
        "written",
    )

    def __init__(self, session: Session) -> None:
        self.session = session
        # The unit of work writes at commit() only, and its objects stay usable afterwards,
        # as the in-memory fake's do.
        session.autoflush = False
        session.expire_on_commit = False
        self.sqlite = is_sqlite(session.get_bind())
        self.seen: dict[tuple[type[Any], object], tuple[AggregateMapping, Any]] = {}
        self.repositories: dict[tuple[Any, ...], Any] = {}
        self.bumped: set[InstanceState[Any]] = set()
        self.written: list[_Written] = []
        self.write_locked = False
        self.closed = False
        self.unprepared = False
        event.listen(session, "before_flush", self._before_flush)
        self._begin()
        self.prepare()  # the first transaction's connection now: a dead database fails here

    def _begin(self) -> None:
        """Start the next database transaction's bookkeeping (SQLite: no BEGIN yet).

        The connection is prepared when the transaction first needs it (`prepare`), not
        here: after a commit, most units of work are closed without another transaction.
        """
        self.bumped.clear()
        self.written.clear()
        self.write_locked = False
        self.unprepared = self.sqlite

    def prepare(self) -> None:
        """On SQLite, before the transaction's first statement: a connection that defers BEGIN."""
        if self.unprepared:
            self.unprepared = False
            with translating():
                self.session.connection(execution_options={DEFER_BEGIN: True})

    @contextlib.contextmanager
    def snapshot(self, needed: bool) -> Iterator[None]:
        """On SQLite, outside the write lock: the statements inside read one snapshot.

        A load of several statements (a relationship through a secondary table) must not see
        a commit that lands between them. A deferred ``BEGIN`` takes no lock; it ends with the
        block, so that the write lock is still taken with ``BEGIN IMMEDIATE`` later.
        """
        if not (needed and self.sqlite) or self.write_locked:
            yield
            return
        connection = self.session.connection()
        connection.exec_driver_sql("BEGIN")
        try:
            yield
        except BaseException:
            with contextlib.suppress(Exception):  # the error raised is the one to report
                connection.exec_driver_sql("ROLLBACK")
            raise
        connection.exec_driver_sql("COMMIT")

    def lock_for_write(self) -> None:
        """On SQLite, take the write lock now, unless this transaction already holds it."""
        if self.sqlite and not self.write_locked:
            self.prepare()
            self.session.connection().exec_driver_sql("BEGIN IMMEDIATE")
            self.write_locked = True

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Translate a database error raised inside, after rolling the transaction back.

        A failed statement ends a PostgreSQL transaction anyway, and the locks it holds
        (a deadlock's survivor waits for them) must go at once, not when the block is left.
        """
        try:
            self.prepare()
            yield
        except Exception as error:
            replacement = translate(error)
            if replacement is None:
                raise
            self.discard_events()
            self.seen.clear()
            self.session.expunge_all()
            with contextlib.suppress(Exception):  # the error raised below is the one to report
                self.session.rollback()
                self._begin()
            raise replacement from error

    def track(self, mapping: AggregateMapping, key: object, aggregate: Any) -> None:
        """Remember an aggregate this transaction loaded or added."""
        self.seen[mapping.cls, key] = (mapping, aggregate)

    def _before_flush(self, session: Session, context: UOWTransaction, instances: Any) -> None:  # noqa: ARG002 - the event's signature
        changed = {inspect(obj) for obj in session.new}
        changed.update(inspect(obj) for obj in session.deleted)
        changed.update(inspect(obj) for obj in session.dirty if session.is_modified(obj))
        if not changed:
            return
        self.lock_for_write()
        for mapping, root in self.seen.values():
            state: InstanceState[Any] = inspect(root)
            if state in self.bumped:
                continue
            if state.key is None:  # new: inserted as version 1
                self._bump(mapping, root, state, None)
            elif not changed.isdisjoint(mapping.members(root)):
                self._bump(mapping, root, state, getattr(root, mapping.version))

    def _bump(
        self, mapping: AggregateMapping, root: Any, state: InstanceState[Any], base: int | None
    ) -> None:
        setattr(root, mapping.version, 1 if base is None else base + 1)
        self.bumped.add(state)
        self.written.append(_Written(mapping, getattr(root, mapping.key), base))

    def commit(self) -> list[Event]:
        """Flush and commit; return the events of every aggregate seen.

        Raises:
            ConcurrencyError: A conflict; everything is rolled back.
            PersistenceError: The database failed otherwise; everything is rolled back.
        """
        try:
            self.session.commit()
        except Exception as error:
            replacement = self._failed(error)
            if replacement is None:
                raise
            raise replacement from error
        events: list[Event] = []
        for _, aggregate in self.seen.values():
            if isinstance(aggregate, Aggregate) and aggregate.events:
                events.extend(aggregate.events)
                aggregate.events.clear()
        self._begin()
        return events

    def _failed(self, error: Exception) -> TacticalError | None:
        """Roll back after a failed commit, and say what went wrong in tactical's terms."""
        written = list(self.written)
        self.discard_events()
        self.seen.clear()
        try:
            self.session.rollback()
            self._begin()
        except Exception:  # noqa: BLE001 - the commit's error is the one to report
            return translate(error)
        if unique_violation(error):
            added = self._culprit(w for w in written if w.base is None)
            if added is None:
                return translate(error)
            return ConcurrencyError(
                f"{added.mapping.cls.__qualname__} {added.key!r} was added by another unit of work",
                aggregate_type=added.mapping.cls,
                key=added.key,
            )
        if is_conflict(error):
            changed = self._culprit(w for w in written if w.base is not None)
            if changed is not None:
                return ConcurrencyError(
                    f"{changed.mapping.cls.__qualname__} {changed.key!r} was changed by "
                    "another unit of work",
                    aggregate_type=changed.mapping.cls,
                    key=changed.key,
                )
        return translate(error)

    def _culprit(self, candidates: Iterator[_Written]) -> _Written | None:
        """The first aggregate whose committed version is not the one this one started from."""
        for written in candidates:
            cls = written.mapping.cls
            query = select(getattr(cls, written.mapping.version)).where(
                getattr(cls, written.mapping.key) == written.key
            )
            try:
                current = self.session.scalar(query)
            except Exception:  # noqa: BLE001 - only a better message is lost
                return None
            if current != written.base:
                return written
        return None

    def discard_events(self) -> None:
        """Forget the events of every aggregate seen: they were not committed."""
        for _, aggregate in self.seen.values():
            if isinstance(aggregate, Aggregate):
                aggregate.events.clear()

    def rollback(self) -> None:
        """Discard everything since the last commit; the aggregates seen keep their state."""
        self.discard_events()
        self.seen.clear()
        # Detached first, so that rolling back does not expire them: the caller may still
        # read what it loaded, as it can with the in-memory fake.
        self.session.expunge_all()
        with translating():
            self.session.rollback()
        self._begin()

    def close(self) -> None:
        """Discard what was not committed and release the connection."""
        self.closed = True
        self.discard_events()
        self.seen.clear()
        self.repositories.clear()
        self.session.close()


@contextlib.contextmanager
def translating() -> Iterator[None]:
    """Turn a database error raised inside the block into tactical's exception, chained."""
    try:
        yield
    except Exception as error:
        replacement = translate(error)
        if replacement is None:
            raise
        raise replacement from error

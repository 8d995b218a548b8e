"""A unit of work of your own: baskets kept as JSON documents in SQLite, with the stdlib only."""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any

from tactical import ConcurrencyError, TransactionError
from tactical.testing.sample import Basket, Item

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path
    from types import TracebackType
    from typing import Self

    from tactical import Event


def encode(basket: Basket) -> str:
    """The document of a basket: everything it holds, as JSON."""
    items = [[item.sku, item.qty] for item in basket.items]
    return json.dumps({"note": basket.note, "items": items})


def decode(ref: str, document: str) -> Basket:
    """A basket built again from its document."""
    data: dict[str, Any] = json.loads(document)
    return Basket(ref, data["note"], [Item(sku, qty) for sku, qty in data["items"]])


class DocumentStore:
    """A SQLite file of documents: one row per basket, with its version."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self.connect() as connection:
            connection.execute(
                "CREATE TABLE IF NOT EXISTS baskets"
                " (ref TEXT PRIMARY KEY, version INTEGER NOT NULL, document TEXT NOT NULL)"
            )

    def connect(self) -> sqlite3.Connection:
        """A connection in autocommit mode: each read sees what is committed."""
        return sqlite3.connect(self.path, isolation_level=None, timeout=5)


class _Loaded:
    """A basket this unit of work holds, and the version and document it was read at."""

    __slots__ = ("basket", "document", "version")

    def __init__(self, basket: Basket, version: int, document: str | None) -> None:
        self.basket = basket
        self.version = version
        self.document = document  # None: added here, not stored yet


class DocumentRepository:
    """The baskets of one open unit of work: one object per key, read when first asked for."""

    def __init__(self, uow: DocumentUnitOfWork) -> None:
        self._uow = uow

    def add(self, basket: Basket, /) -> None:
        held = self._uow.held()
        found = held.get(basket.ref)
        if found is not None and found.basket is not basket:
            raise ConcurrencyError(f"basket {basket.ref!r} exists", key=basket.ref)
        held[basket.ref] = _Loaded(basket, 0, None)

    def get(self, ref: str, /) -> Basket | None:
        held = self._uow.held()
        if ref in held:
            return held[ref].basket
        row = (
            self._uow.connection()
            .execute("SELECT version, document FROM baskets WHERE ref = ?", (ref,))
            .fetchone()
        )
        if row is None:
            return None
        basket = decode(ref, row[1])
        basket.version = row[0]
        held[ref] = _Loaded(basket, row[0], row[1])
        return basket


class DocumentUnitOfWork:
    """The sample's `BasketUnitOfWork` on a `DocumentStore`: writes at commit, checks versions."""

    def __init__(self, store: DocumentStore) -> None:
        self._store = store
        self._connection: sqlite3.Connection | None = None
        self._held: dict[str, _Loaded] = {}
        self._events: list[Event] = []

    def connection(self) -> sqlite3.Connection:
        if self._connection is None:
            raise TransactionError("the unit of work is used outside its `with` block")
        return self._connection

    def held(self) -> dict[str, _Loaded]:
        self.connection()
        return self._held

    @property
    def baskets(self) -> DocumentRepository:
        self.connection()
        return DocumentRepository(self)

    def __enter__(self) -> Self:
        if self._connection is not None:
            raise TransactionError("the unit of work is already open")
        self._connection = self._store.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._held = {}  # what was not committed is forgotten: rolled back
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def commit(self) -> None:
        connection = self.connection()
        changed = [
            (loaded, document)
            for loaded in self._held.values()
            if (document := encode(loaded.basket)) != loaded.document
        ]
        connection.execute("BEGIN IMMEDIATE")
        try:
            for loaded, document in changed:
                self._write(connection, loaded, document)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
        for loaded, document in changed:  # only now: a failed commit changes nothing
            loaded.version += 1
            loaded.document = document
            loaded.basket.version = loaded.version
        for loaded in self._held.values():
            self._events.extend(loaded.basket.events)
            loaded.basket.events.clear()

    def _write(self, connection: sqlite3.Connection, loaded: _Loaded, document: str) -> None:
        ref = loaded.basket.ref
        if loaded.document is None:
            try:
                connection.execute(
                    "INSERT INTO baskets (ref, version, document) VALUES (?, 1, ?)",
                    (ref, document),
                )
            except sqlite3.IntegrityError:
                raise ConcurrencyError(f"basket {ref!r} was added first", key=ref) from None
            return
        updated = connection.execute(
            "UPDATE baskets SET version = version + 1, document = ? WHERE ref = ? AND version = ?",
            (document, ref, loaded.version),
        )
        if updated.rowcount != 1:
            raise ConcurrencyError(f"basket {ref!r} was changed first", key=ref)

    def rollback(self) -> None:
        self.connection()
        self._held = {}

    def collect_new_events(self) -> Sequence[Event]:
        events, self._events = self._events, []
        return events

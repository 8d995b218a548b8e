"""The service's database: its engine, and every table, created where missing by any process."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from allocation.adapters import messaging, orm, read_model
from tactical.sqlalchemy import create_engine, create_schema

if TYPE_CHECKING:
    from sqlalchemy import Engine, MetaData

__all__ = ["create_tables", "metadata", "open_database"]

metadata: Final[MetaData] = orm.metadata
"""Every table: the aggregates' (`orm`), the read model's, the outbox and the inbox."""
# Imported for the tables they add to the metadata.
assert read_model.allocations_view.metadata is messaging.outbox.metadata is metadata


def open_database(url: str) -> Engine:
    """An engine on the database at ``url`` (SQLite with tactical's settings).

    Errors and logs never show the values of a statement's parameters: they are the
    requests' data.
    """
    return create_engine(url, hide_parameters=True)


def create_tables(engine: Engine) -> None:
    """Create the tables that do not exist yet; existing tables and rows are left alone.

    Processes that start together (serve and consume, or two workers) may all call it.

    Raises:
        tactical.PersistenceError: The database refused (it is down, or the user may not
            create tables).
    """
    create_schema(engine, metadata)

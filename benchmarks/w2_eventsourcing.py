"""W2 in eventsourcing's idiom: the W1 application on eventsourcing's SQLite or PostgreSQL store.

The application, aggregate and read model are W1's (`benchmarks.w1_eventsourcing`); only the
persistence module changes, configured as eventsourcing documents it, through the
application's environment: ``PERSISTENCE_MODULE=eventsourcing.sqlite`` with
``SQLITE_DBNAME`` (a file; eventsourcing switches it to WAL and keeps SQLite's default
``synchronous``), or ``PERSISTENCE_MODULE=eventsourcing.postgres`` with ``POSTGRES_DBNAME``,
``POSTGRES_HOST``, ``POSTGRES_PORT``, ``POSTGRES_USER`` and ``POSTGRES_PASSWORD``. Each
command reads the product's events (one ``SELECT``), replays them, allocates, and saves the new
event in one transaction; the read model is updated from what ``save`` recorded, after it
committed.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from benchmarks._databases import SQLITE, fresh_database
from benchmarks._dataset import AllocationsView, Measurement, batch_specs, skus
from benchmarks.w1_eventsourcing import AllocationService
from benchmarks.w2_persist import run_loop, warmup_skus

if TYPE_CHECKING:
    from collections.abc import Mapping

    from benchmarks._databases import Database


def environment(database: Database) -> dict[str, str]:
    """eventsourcing's settings for the run's database."""
    if database.backend == SQLITE:
        return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(database.path)}
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(database.name),
        "POSTGRES_HOST": database.host,
        "POSTGRES_PORT": database.port or "5432",
        "POSTGRES_USER": database.user,
        "POSTGRES_PASSWORD": "",
    }


def run(params: Mapping[str, int]) -> Measurement:
    """W2 through an eventsourcing application on the group's database."""
    with fresh_database(params["backend"]) as database:
        view = AllocationsView()
        service = AllocationService(view, environment(database))
        try:
            today = dt.datetime.now(dt.UTC).date()
            for sku in skus(params["products"]) + warmup_skus():
                service.add_product(sku, batch_specs(sku, 3, today))
            return run_loop(params, service.allocate, view)
        finally:
            service.close()

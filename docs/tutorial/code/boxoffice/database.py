"""The box office on a database: its tables, the model mapped onto them, a SQL unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import Column, ForeignKey, MetaData, String, Table, Text, inspect
from sqlalchemy.orm import attribute_keyed_dict, registry, relationship
from sqlalchemy.types import TypeDecorator

from boxoffice.model import Reservation, Seat, Show
from tactical.sqlalchemy import (
    SqlAlchemyRepository,
    SqlAlchemyUnitOfWork,
    map_aggregate,
    version_column,
)

if TYPE_CHECKING:
    from sqlalchemy import Dialect


class SeatList(TypeDecorator[Sequence[Seat]]):
    """Seats stored as their labels in one text column ("A1 A2"): they are plain values."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Sequence[Seat] | None, dialect: Dialect) -> str | None:  # noqa: ARG002 - SQLAlchemy's signature
        return None if value is None else " ".join(map(str, value))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Sequence[Seat] | None:  # noqa: ARG002
        return None if value is None else [parse_seat(label) for label in value.split()]


class SeatTuple(SeatList):
    """The same, read back as a tuple."""

    cache_ok = True

    def process_result_value(self, value: str | None, dialect: Dialect) -> Sequence[Seat] | None:
        seats = super().process_result_value(value, dialect)
        return None if seats is None else tuple(seats)


def parse_seat(label: str) -> Seat:
    """The seat with this label: a row letter and a number ("B12")."""
    return Seat(label[0], int(label[1:]))


metadata = MetaData()

shows = Table(
    "shows",
    metadata,
    Column("show_id", String(40), primary_key=True),
    Column("free", SeatList, nullable=False),
    version_column(),  # the counter that catches concurrent changes
)

reservations = Table(
    "reservations",
    metadata,
    Column("show_id", ForeignKey("shows.show_id"), primary_key=True),
    Column("reservation_id", String(40), primary_key=True),
    Column("customer", String(200), nullable=False),
    Column("seats", SeatTuple, nullable=False),
)


mapper_registry = registry(metadata=metadata)


def start_mappers() -> None:
    """Map the model onto the tables (once: later calls do nothing); the model stays unaware."""
    if inspect(Show, raiseerr=False) is not None:
        return
    mapper_registry.map_imperatively(Reservation, reservations)
    map_aggregate(
        mapper_registry,
        Show,
        shows,
        properties={
            "reservations": relationship(
                Reservation,
                collection_class=attribute_keyed_dict("reservation_id"),
                cascade="all, delete-orphan",
            ),
        },
    )


def clear_mappers() -> None:
    """Undo `start_mappers`: the model's classes are plain classes again."""
    mapper_registry.dispose()


class SqlBoxOffice(SqlAlchemyUnitOfWork):
    """The box office's unit of work on a database: what `BoxOfficeUnitOfWork` asks for."""

    @property
    def shows(self) -> SqlAlchemyRepository[Show, str]:
        """The shows, by id, in this transaction."""
        return self.repository(Show)

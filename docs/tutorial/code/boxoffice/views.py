"""The read side: a seating plan that events keep up to date, read with plain SQL."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Column, PrimaryKeyConstraint, String, Table, text

from boxoffice.database import metadata

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from boxoffice.events import SeatsReserved

seating_plan = Table(
    "seating_plan",
    metadata,
    Column("show_id", String(40), nullable=False),
    Column("seat", String(8), nullable=False),
    Column("reservation_id", String(40), nullable=False),
    PrimaryKeyConstraint("show_id", "seat"),
)


def add_to_seating_plan(event: SeatsReserved, views: Engine) -> None:
    """Write one row per reserved seat; handling the same event again changes nothing."""
    rows = [
        {"show_id": event.show_id, "seat": seat, "reservation_id": event.reservation_id}
        for seat in event.seats
    ]
    with views.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO seating_plan (show_id, seat, reservation_id)"
                " VALUES (:show_id, :seat, :reservation_id) ON CONFLICT DO NOTHING"
            ),
            rows,
        )


def who_sits_where(show_id: str, views: Engine) -> dict[str, str]:
    """Each reserved seat of a show and the reservation that holds it: one indexed query."""
    with views.connect() as connection:
        rows = connection.execute(
            text("SELECT seat, reservation_id FROM seating_plan WHERE show_id = :show_id"),
            {"show_id": show_id},
        )
        return {str(seat): str(reservation_id) for seat, reservation_id in rows}

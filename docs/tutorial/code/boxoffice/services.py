"""The service layer: use cases as functions of primitives and a unit of work."""

from __future__ import annotations

from typing import TYPE_CHECKING

from boxoffice.model import Show, seating

if TYPE_CHECKING:
    from boxoffice.unit_of_work import BoxOfficeUnitOfWork


class UnknownShowError(LookupError):
    """No show has this id."""


def add_show(show_id: str, rows: str, per_row: int, uow: BoxOfficeUnitOfWork) -> None:
    """Put a show on sale with every seat free."""
    with uow:
        uow.shows.add(Show(show_id, seating(rows, per_row)))
        uow.commit()


def reserve(
    show_id: str, reservation_id: str, customer: str, count: int, uow: BoxOfficeUnitOfWork
) -> list[str]:
    """Reserve ``count`` seats of a show and return their labels."""
    with uow:
        show = uow.shows.get(show_id)
        if show is None:
            raise UnknownShowError(show_id)
        reservation = show.reserve(reservation_id, customer, count)
        uow.commit()
    return [str(seat) for seat in reservation.seats]

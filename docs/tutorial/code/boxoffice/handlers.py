"""The handlers: the service layer, taking messages instead of loose arguments."""

# No `from __future__ import annotations` here: `Handlers.register` reads the annotations when
# the module is imported, so every name they use is imported for real.
from collections.abc import Callable

from boxoffice.commands import AddShow, ReserveSeats
from boxoffice.events import SoldOut
from boxoffice.model import Show, seating
from boxoffice.services import UnknownShowError
from boxoffice.unit_of_work import BoxOfficeUnitOfWork
from tactical import Handlers

handlers = Handlers()


@handlers.register
def add_show(command: AddShow, uow: BoxOfficeUnitOfWork) -> None:
    """Put a show on sale with every seat free."""
    with uow:
        uow.shows.add(Show(command.show_id, seating(command.rows, command.per_row)))
        uow.commit()


@handlers.register
def reserve_seats(command: ReserveSeats, uow: BoxOfficeUnitOfWork) -> list[str]:
    """Reserve seats and return their labels."""
    with uow:
        show = uow.shows.get(command.show_id)
        if show is None:
            raise UnknownShowError(command.show_id)
        reservation = show.reserve(command.reservation_id, command.customer, command.count)
        uow.commit()
    return [str(seat) for seat in reservation.seats]


@handlers.register
def tell_the_manager(event: SoldOut, notify: Callable[[str], object]) -> None:
    """Let the manager know that a show sold out."""
    notify(f"{event.show_id} is sold out")

"""The domain model: a `Show` aggregate, its `Reservation` entities and `Seat` values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from boxoffice.events import SeatsReserved, SoldOut
from tactical import Aggregate, Entity

if TYPE_CHECKING:
    from collections.abc import Iterable


class NotEnoughSeatsError(Exception):
    """A reservation asked for more seats than the show has left."""


@dataclass(frozen=True, order=True)
class Seat:
    """A value object: equal when row and number are equal, and never changed in place."""

    row: str
    number: int

    def __str__(self) -> str:
        return f"{self.row}{self.number}"


def seating(rows: str, per_row: int) -> list[Seat]:
    """Every seat of a hall with these rows (one letter each) and seats per row."""
    return [Seat(row, number) for row in rows for number in range(1, per_row + 1)]


class Reservation(Entity, key="reservation_id"):
    """An entity: it is the same reservation whatever happens to its seats."""

    def __init__(self, reservation_id: str, customer: str, seats: tuple[Seat, ...]) -> None:
        self.reservation_id = reservation_id
        self.customer = customer
        self.seats = seats


class Show(Aggregate, key="show_id"):
    """One performance: the consistency boundary for its seats and reservations."""

    def __init__(self, show_id: str, seats: Iterable[Seat]) -> None:
        self.show_id = show_id
        self.free = sorted(seats)
        self.reservations: dict[str, Reservation] = {}

    def reserve(self, reservation_id: str, customer: str, count: int) -> Reservation:
        """Give a reservation the first ``count`` free seats; the same id gets the same seats."""
        if reservation_id in self.reservations:
            return self.reservations[reservation_id]
        if count > len(self.free):
            raise NotEnoughSeatsError(f"{self.show_id} has {len(self.free)} seats left")
        seats, self.free = tuple(self.free[:count]), self.free[count:]
        reservation = Reservation(reservation_id, customer, seats)
        self.reservations[reservation_id] = reservation
        self.events.append(SeatsReserved(self.show_id, reservation_id, tuple(map(str, seats))))
        if not self.free:
            self.events.append(SoldOut(self.show_id))
        return reservation

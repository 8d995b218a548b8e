"""What the outside world asks the box office to do, each named in the imperative."""

from __future__ import annotations

from dataclasses import dataclass

from tactical import Command


@dataclass(frozen=True)
class AddShow(Command):
    """Put a show on sale."""

    show_id: str
    rows: str
    per_row: int


@dataclass(frozen=True)
class ReserveSeats(Command):
    """Reserve some seats of a show for a customer."""

    show_id: str
    reservation_id: str
    customer: str
    count: int

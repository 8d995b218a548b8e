"""Facts that the box office records, each named in the past tense."""

from __future__ import annotations

from dataclasses import dataclass

from tactical import Event


@dataclass(frozen=True)
class SeatsReserved(Event):
    """A reservation got its seats."""

    show_id: str
    reservation_id: str
    seats: tuple[str, ...]


@dataclass(frozen=True)
class SoldOut(Event):
    """The last free seat of a show was reserved."""

    show_id: str

"""What the box office accepts from other services, and the inbox that handles each once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from boxoffice.commands import AddShow
from boxoffice.database import metadata
from tactical import Event, MessageRegistry
from tactical.sqlalchemy import inbox_table

if TYPE_CHECKING:
    from tactical import Envelope

SHOWS_SCHEDULED: Final = "planning.shows_scheduled"
GROUP: Final = "boxoffice"


@dataclass(frozen=True)
class ShowScheduled(Event):
    """What the planning service publishes when it schedules a show: its contract, not ours."""

    show_id: str
    rows: str
    seats_per_row: int


received = MessageRegistry([ShowScheduled])
"""The messages the box office accepts from other services; nothing else is ever built."""

inbox_records = inbox_table(metadata)
"""The ids of the messages handled, committed with what handling them changed."""


def to_command(envelope: Envelope) -> AddShow:
    """Read a `ShowScheduled` entry (validated against the contract) as our own command."""
    scheduled = received.message(envelope)
    assert isinstance(scheduled, ShowScheduled)  # the only type `received` knows
    return AddShow(scheduled.show_id, scheduled.rows, scheduled.seats_per_row)

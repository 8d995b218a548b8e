"""What the box office tells other services: its published events, and the outbox they go by."""

from __future__ import annotations

from typing import Final

from boxoffice.database import metadata
from boxoffice.events import SeatsReserved, SoldOut
from tactical import MessageRegistry
from tactical.sqlalchemy import Outbox, outbox_table

SEATS_RESERVED: Final = "boxoffice.seats_reserved"
SOLD_OUT: Final = "boxoffice.sold_out"

published = MessageRegistry([SeatsReserved, SoldOut])
"""The events other services may read, written as JSON under their class names."""

outbox = Outbox(
    outbox_table(metadata),  # a table next to the shows: one transaction writes both
    published,
    {SeatsReserved: SEATS_RESERVED, SoldOut: SOLD_OUT},
)

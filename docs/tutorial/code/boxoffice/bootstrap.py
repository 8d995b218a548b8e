"""The composition root: the one place that chooses real or fake dependencies."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from boxoffice.handlers import handlers
from boxoffice.unit_of_work import FakeBoxOffice
from tactical import InMemoryStore, MessageBus, bootstrap

if TYPE_CHECKING:
    from collections.abc import Callable

    from boxoffice.unit_of_work import BoxOfficeUnitOfWork


def make_bus(
    uow: Callable[[], BoxOfficeUnitOfWork] | None = None,
    notify: Callable[[str], object] = print,
) -> MessageBus:
    """Wire the handlers to a unit of work factory (in memory by default) and a notifier."""
    if uow is None:
        # Every unit of work of this bus shares one store, as connections share a database.
        uow = functools.partial(FakeBoxOffice, InMemoryStore())
    return bootstrap(uow=uow, handlers=handlers, dependencies={"notify": notify})

"""The box office's unit of work: a protocol for the handlers, a fake for the tests."""

from __future__ import annotations

from typing import Protocol

from boxoffice.model import Show
from tactical import InMemoryRepository, InMemoryUnitOfWork, Repository, UnitOfWork


class BoxOfficeUnitOfWork(UnitOfWork, Protocol):
    """What the handlers need: a unit of work with a repository of shows."""

    @property
    def shows(self) -> Repository[Show, str]:
        """The shows, by id."""
        ...


class FakeBoxOffice(InMemoryUnitOfWork):
    """The in-memory unit of work, with the repository the protocol asks for."""

    @property
    def shows(self) -> InMemoryRepository[Show, str]:
        """The shows, by id, in this transaction."""
        return self.repository(Show)

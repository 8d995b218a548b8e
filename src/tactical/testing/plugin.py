"""The pytest plugin of tactical's testing kit: fixtures for tests of handlers and buses.

It is opt-in: enable it in your top-level ``conftest.py`` (it registers no entry point, so
installing tactical changes no one's test run)::

    pytest_plugins = ["tactical.testing.plugin"]

Fixtures:

- ``in_memory_store``: a fresh, empty [`InMemoryStore`][tactical.InMemoryStore].
- ``instant_sleep``: an [`InstantSleep`][tactical.testing.InstantSleep], a ``sleep`` that
  records delays and advances its own ``clock``.
- ``message_recorder``: a [`MessageRecorder`][tactical.testing.MessageRecorder] middleware.
- ``bus_factory``: a [`BusFactory`][tactical.testing.BusFactory] that builds buses over
  ``in_memory_store``, recorded by ``message_recorder``, sleeping with ``instant_sleep``.

Example:
    A test of a handler's retries, with no waiting::

        def test_conflicts_are_retried(bus_factory, instant_sleep, message_recorder):
            bus = bus_factory(HANDLERS, uow=FakeUnitOfWork)
            bus.handle(Allocate("o1", "LAMP", 1))
            assert len(instant_sleep.delays) == len(message_recorder.failures)
"""

from __future__ import annotations

import pytest

from tactical._memory import InMemoryStore
from tactical.testing._fakes import BusFactory, InstantSleep, MessageRecorder

__all__ = ["bus_factory", "in_memory_store", "instant_sleep", "message_recorder"]


@pytest.fixture
def in_memory_store() -> InMemoryStore:
    """A fresh, empty in-memory store: the "database" of one test."""
    return InMemoryStore()


@pytest.fixture
def instant_sleep() -> InstantSleep:
    """A sleep that returns at once, records each delay and advances its own clock."""
    return InstantSleep()


@pytest.fixture
def message_recorder() -> MessageRecorder:
    """A middleware that records every handler call (message, handler, outcome)."""
    return MessageRecorder()


@pytest.fixture
def bus_factory(
    in_memory_store: InMemoryStore,
    message_recorder: MessageRecorder,
    instant_sleep: InstantSleep,
) -> BusFactory:
    """Builds buses over ``in_memory_store``, recorded, with ``instant_sleep``."""
    return BusFactory(in_memory_store, message_recorder, instant_sleep)

"""The opt-in pytest plugin: its fixtures, available only where it is enabled."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest

QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
"""Inner runs need neither a cache nor Hypothesis's plugin (which takes a second to load)."""

ENABLED = 'pytest_plugins = ["tactical.testing.plugin"]\n'


def run(pytester: pytest.Pytester, tests: str) -> pytest.RunResult:
    pytester.makeconftest(ENABLED)
    pytester.makepyfile(tests)
    # A subprocess: in this process the plugin module is already imported (by the doctests).
    return pytester.runpytest_subprocess(*QUIET, "-W", "error")


def test_the_plugin_is_not_registered_as_an_entry_point() -> None:
    """Installing tactical changes no one's test run: the plugin has no pytest11 entry point."""
    assert not [
        plugin for plugin in entry_points(group="pytest11") if plugin.value.startswith("tactical")
    ]


def test_the_fixtures_are_absent_unless_the_plugin_is_enabled(pytester: pytest.Pytester) -> None:
    """A test run that does not enable the plugin has none of its fixtures."""
    pytester.makepyfile("def test_sleep(instant_sleep):\n    pass\n")
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'instant_sleep' not found*"])


def test_in_memory_store_is_fresh_for_each_test(pytester: pytest.Pytester) -> None:
    """Each test gets its own empty store."""
    result = run(
        pytester,
        """
        import pytest
        from tactical.testing.sample import Basket, InMemoryBasketUnitOfWork

        @pytest.mark.parametrize("run", [1, 2])
        def test_starts_empty(in_memory_store, run):
            assert in_memory_store.keys(Basket) == []
            with InMemoryBasketUnitOfWork(in_memory_store) as uow:
                uow.baskets.add(Basket("b-1"))
                uow.commit()
        """,
    )
    result.assert_outcomes(passed=2)


def test_instant_sleep_records_delays_and_moves_its_clock(pytester: pytest.Pytester) -> None:
    """instant_sleep returns at once, records the delays and advances its clock by them."""
    result = run(
        pytester,
        """
        def test_sleeps(instant_sleep):
            instant_sleep(0.5)
            instant_sleep(1.5)
            assert instant_sleep.delays == [0.5, 1.5]
            assert instant_sleep.clock() == 2.0
        """,
    )
    result.assert_outcomes(passed=1)


def test_bus_factory_builds_recorded_buses_that_retry_instantly(
    pytester: pytest.Pytester,
) -> None:
    """A bus from bus_factory uses the test's store, recorder and instant sleep."""
    result = run(
        pytester,
        """
        from tactical import ConcurrencyError
        from tactical.testing.sample import (
            HANDLERS, AddItem, Basket, CreateBasket, InMemoryBasketUnitOfWork, ItemAdded)

        def test_bus(bus_factory, in_memory_store, message_recorder, instant_sleep):
            conflicts = iter([ConcurrencyError("first"), ConcurrencyError("second")])

            def flaky_create(command: CreateBasket, uow) -> None:
                error = next(conflicts, None)
                if error is not None:
                    raise error
                HANDLERS[CreateBasket](command, uow)

            seen = []
            handlers = {**HANDLERS, CreateBasket: flaky_create, ItemAdded: [seen.append]}
            bus = bus_factory(handlers, uow=InMemoryBasketUnitOfWork)
            bus.handle(CreateBasket("b-1"))
            bus.handle(AddItem("b-1", "LAMP", 2))

            assert in_memory_store.keys(Basket) == ["b-1"]
            assert len(instant_sleep.delays) == 2
            assert [type(call.error) for call in message_recorder.failures] == [
                ConcurrencyError, ConcurrencyError]
            assert message_recorder.messages == [
                CreateBasket("b-1"), AddItem("b-1", "LAMP", 2), ItemAdded("b-1", "LAMP", 2)]
            assert seen == [ItemAdded("b-1", "LAMP", 2)]
        """,
    )
    result.assert_outcomes(passed=1)

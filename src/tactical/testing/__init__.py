"""The testing kit: contract suites, Hypothesis strategies, a stateful test and pytest fixtures.

Install it with the ``testing`` extra (``pip install 'tactical[testing]'``): it needs pytest
and Hypothesis, and ``import tactical`` never imports it. The fixtures live in the opt-in plugin
`tactical.testing.plugin`; the sample domain the suites run on lives in
`tactical.testing.sample`.
"""

try:
    import hypothesis
    import pytest
except ImportError as error:
    raise ImportError(
        "tactical.testing needs pytest and Hypothesis: install the 'testing' extra "
        "(pip install 'tactical[testing]')"
    ) from error

from tactical.testing._broker_contracts import BrokerContract, ConsumerContract
from tactical.testing._contracts import RepositoryContract, UnitOfWorkContract
from tactical.testing._fakes import BusFactory, HandledMessage, InstantSleep, MessageRecorder
from tactical.testing._stateful import UnitOfWorkMachine, unit_of_work_machine
from tactical.testing._strategies import any_message, basket_commands, baskets, items, messages

del hypothesis, pytest

__all__ = [
    "BrokerContract",
    "BusFactory",
    "ConsumerContract",
    "HandledMessage",
    "InstantSleep",
    "MessageRecorder",
    "RepositoryContract",
    "UnitOfWorkContract",
    "UnitOfWorkMachine",
    "any_message",
    "basket_commands",
    "baskets",
    "items",
    "messages",
    "unit_of_work_machine",
]

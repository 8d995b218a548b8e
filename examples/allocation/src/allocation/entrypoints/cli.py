"""The ``allocation`` command line: ``allocation demo`` tours the service in memory."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from allocation.entrypoints import demo

if TYPE_CHECKING:
    from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    """The parser of the ``allocation`` command and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="allocation",
        description='The allocation service of "Architecture Patterns with Python", on tactical.',
    )
    subcommands = parser.add_subparsers(dest="subcommand", required=True, metavar="COMMAND")
    subcommands.add_parser(
        "demo",
        help="walk through allocating stock, in memory (no services needed)",
        description=demo.__doc__,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``allocation`` command line.

    Args:
        argv: The arguments, without the program name; ``sys.argv[1:]`` by default.

    Returns:
        The exit status.
    """
    arguments = build_parser().parse_args(argv)
    if arguments.subcommand == "demo":
        demo.run(sys.stdout)
    return 0

"""The ``allocation`` command line and its demo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from allocation.entrypoints.cli import main

KEY_LINES = [
    "   command  CreateBatch(ref=warehouse, sku=RETRO-CLOCK, qty=10, eta=None)",
    "   command  CreateBatch(ref=ship, sku=RETRO-CLOCK, qty=50, eta=2024-03-15)",
    "   event    Allocated(orderid=order-1, sku=RETRO-CLOCK, qty=6, batchref=warehouse)",
    "   result   allocated to warehouse",
    "   event    Allocated(orderid=order-2, sku=RETRO-CLOCK, qty=8, batchref=ship)",
    "   event    OutOfStock(sku=RETRO-CLOCK)",
    "            handled by send_out_of_stock_notification",
    "            notification to stock@made.com: Out of stock for RETRO-CLOCK",
    "   result   not allocated",
    "   command  ChangeBatchQuantity(ref=warehouse, qty=4)",
    "   event    Deallocated(orderid=order-1, sku=RETRO-CLOCK, qty=6)",
    "            handled by reallocate",
    "   event    Allocated(orderid=order-1, sku=RETRO-CLOCK, qty=6, batchref=ship)",
    "   order-1   -> ship",
    "   order-2   -> ship",
]


def run_demo(capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["demo"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    return captured.out


def test_demo_walks_through_the_service(capsys: pytest.CaptureFixture[str]) -> None:
    """The demo prints each command, the events it caused and its result, in order."""
    lines = run_demo(capsys).splitlines()
    positions = [lines.index(line) for line in KEY_LINES]
    assert positions == sorted(positions)


def test_demo_ends_with_the_state_of_the_batches(capsys: pytest.CaptureFixture[str]) -> None:
    """The tour ends with what each batch holds: order-1 moved from the warehouse to the ship."""
    lines = run_demo(capsys).splitlines()
    assert lines[-3:] == [
        "   warehouse in the warehouse       0 allocated   4 free",
        "   ship      arriving 2024-03-15   14 allocated  36 free",
        "   (product version 6: one per committed change)",
    ]


def test_a_subcommand_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a subcommand the command line prints its usage and exits with status 2."""
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    assert "usage: allocation" in capsys.readouterr().err


def test_the_console_script_prints_the_same_tour(capsys: pytest.CaptureFixture[str]) -> None:
    """``allocation demo``, in a fresh process with another hash seed, prints the same text."""
    script = shutil.which("allocation", path=str(Path(sys.executable).parent))
    assert script is not None, "the allocation package is not installed with its script"
    environment = {**os.environ, "PYTHONHASHSEED": "12345"}
    completed = subprocess.run(
        [script, "demo"], capture_output=True, text=True, env=environment, timeout=60, check=False
    )
    assert (completed.returncode, completed.stderr) == (0, "")
    assert completed.stdout == run_demo(capsys)

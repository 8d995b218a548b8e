"""Running a workload's variants: each in a fresh process, several rounds in rotating order.

A `VariantWorkload` names its variants as ``"module:function"`` (so that a child process
imports only what its variant needs), its baseline (the limit or the floor the others are
divided by) and one or more groups of parameters (W1 has one; W1-scaling has one per
aggregate size). `run_variants` runs every (group, variant) once per round, rotating the order
from round to round, and keeps each variant's time relative to the baseline *of the same
round*: on a shared machine, load comes and goes, and a ratio taken within one round cancels
most of it. A variant whose read model has another checksum did other work: it is invalid.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypedDict

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from benchmarks._dataset import Measurement

ROOT = Path(__file__).resolve().parent.parent
"""The repository root: child processes run there, so that ``benchmarks`` imports."""

CHILD_TIMEOUT = 3600.0
"""Seconds a single variant may run before it counts as failed."""


class Sample(TypedDict):
    """One run of one variant, in one round."""

    round: int
    seconds: float
    operations: int
    checksum: str
    ratio: float | None


class VariantResult(TypedDict):
    """A variant over all rounds: medians, the spread of its ratio, and whether it is valid."""

    name: str
    us_per_op: float | None
    ratio: float | None
    overhead_us: float | None
    ratio_min: float | None
    ratio_max: float | None
    status: str
    valid: bool
    target: float | None
    samples: list[Sample]


class GroupResult(TypedDict):
    """The variants of one group of parameters."""

    name: str
    params: dict[str, int]
    expected_checksum: str | None
    variants: list[VariantResult]


class Machine(TypedDict):
    """Facts about the machine and the run, so that figures can be compared across runs."""

    date: str
    python: str
    implementation: str
    platform: str
    cpu: str
    cpu_count: int | None
    load_average: list[float] | None
    load_average_after: list[float] | None
    packages: dict[str, str]


class VariantWorkloadResult(TypedDict):
    """What `run_variants` returns and ``latest.json`` keeps for a workload of variants."""

    kind: Literal["variants"]
    workload: str
    title: str
    unit: str
    baseline: str
    group_label: str
    rounds: int
    quick: bool
    command: str
    machine: Machine
    groups: list[GroupResult]


@dataclass(frozen=True)
class Group:
    """A set of parameters under which every variant runs; ``quick`` is the smoke-test size."""

    name: str
    params: Mapping[str, int]
    quick: Mapping[str, int]
    expected: str | None = None
    """The read model's checksum at full size, when WORKLOADS.md gives it."""

    def sizes(self, *, quick: bool) -> Mapping[str, int]:
        """The parameters for a full or a quick run."""
        return self.quick if quick else self.params


@dataclass(frozen=True)
class VariantWorkload:
    """A workload whose variants all do the same work, timed against a baseline variant."""

    name: str
    title: str
    unit: str
    baseline: str
    variants: Mapping[str, str]
    groups: tuple[Group, ...]
    targets: Mapping[str, float] = field(default_factory=dict)
    group_label: str = ""

    def group(self, name: str) -> Group:
        """The group called ``name``."""
        for group in self.groups:
            if group.name == name:
                return group
        raise KeyError(f"{self.name} has no group {name!r}")

    def load(self, variant: str) -> Callable[[Mapping[str, int]], Measurement]:
        """Import the function that runs ``variant``."""
        module, _, function = self.variants[variant].partition(":")
        run: Callable[[Mapping[str, int]], Measurement] = getattr(
            importlib.import_module(module), function
        )
        return run


class CustomWorkload(Protocol):
    """A workload with a shape of its own (W4 runs interpreters, not variants)."""

    name: str
    title: str

    def run(
        self,
        *,
        rounds: int | None,
        quick: bool,
        progress: Callable[[str], None],
        machine: Machine,
        command: str,
    ) -> object:
        """Run the workload and return its JSON-able result."""
        ...

    def table(self, result: Any) -> str:
        """The result as text for a terminal."""
        ...


def child_command(workload: str, variant: str, group: str, *, quick: bool) -> list[str]:
    """The command line that runs one variant in a fresh interpreter."""
    command = [sys.executable, "-m", "benchmarks.run", workload, variant]
    if group:
        command += ["--group", group]
    if quick:
        command.append("--quick")
    return command


@functools.cache
def _bytecode_cache() -> tempfile.TemporaryDirectory[str]:
    # Removed when the interpreter exits (TemporaryDirectory's finalizer).
    return tempfile.TemporaryDirectory(prefix="tactical-bench-pycache-")


def child_environment() -> dict[str, str]:
    """The environment of a child: ours, with string hashing fixed so runs compare.

    Children write and read bytecode caches in a private directory, even where
    ``PYTHONDONTWRITEBYTECODE`` is set: an installed package has its ``.pyc`` files, and
    compiling every module again would swamp W4 (and slow every start-up).
    """
    environment = {
        **os.environ,
        "PYTHONHASHSEED": "0",
        "PYTHONPYCACHEPREFIX": _bytecode_cache().name,
    }
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    return environment


def run_json_child(command: list[str]) -> Any:
    """Run a benchmark in a fresh process; its last output line parsed as JSON, or why it failed.

    Returns:
        The parsed JSON value, or a string saying what went wrong (a failure is a report, not
        an exception: the other variants still run).
    """
    try:
        completed = subprocess.run(  # noqa: PLW1510 - the return code is checked below
            command,
            cwd=ROOT,
            env=child_environment(),
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return Failure(f"timed out after {CHILD_TIMEOUT:.0f} s")
    if completed.returncode != 0:
        lines = completed.stderr.strip().splitlines() or [f"exit status {completed.returncode}"]
        return Failure(lines[-1])
    try:
        return json.loads(completed.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as error:
        return Failure(f"unreadable output: {error}")


class Failure(str):
    """Why a child process gave no measurement."""

    __slots__ = ()


def run_child(workload: str, variant: str, group: str, *, quick: bool) -> Sample | str:
    """Run a variant in a fresh process: its measurement, or why it failed."""
    data = run_json_child(child_command(workload, variant, group, quick=quick))
    if isinstance(data, Failure):
        return str(data)
    try:
        return Sample(
            round=0,
            seconds=float(data["seconds"]),
            operations=int(data["operations"]),
            checksum=str(data["checksum"]),
            ratio=None,
        )
    except (TypeError, ValueError, KeyError) as error:
        return f"unreadable output: {error}"


def rotated(items: list[tuple[str, str]], offset: int) -> list[tuple[str, str]]:
    """``items`` starting at ``offset`` (modulo its length) and wrapping around."""
    if not items:
        return items
    offset %= len(items)
    return items[offset:] + items[:offset]


def run_variants(
    workload: VariantWorkload,
    *,
    rounds: int,
    quick: bool,
    variants: list[str] | None,
    machine: Machine,
    command: str,
    progress: Callable[[str], None],
) -> VariantWorkloadResult:
    """Run every variant of every group ``rounds`` times, in fresh processes, rotating the order."""
    chosen = [v for v in workload.variants if variants is None or v in variants]
    if workload.baseline not in chosen:
        chosen.insert(0, workload.baseline)
    cases = [(group.name, variant) for group in workload.groups for variant in chosen]
    samples: dict[tuple[str, str], list[Sample]] = {case: [] for case in cases}
    failures: dict[tuple[str, str], str] = {}
    for index in range(rounds):
        for case in rotated(cases, index):
            if case in failures:
                continue
            group, variant = case
            outcome = run_child(workload.name, variant, group, quick=quick)
            label = f"{workload.name} round {index + 1}/{rounds} {variant}"
            label += f" [{group}]" if group else ""
            if isinstance(outcome, str):
                failures[case] = outcome
                progress(f"{label}: FAILED: {outcome}")
                continue
            outcome["round"] = index
            samples[case].append(outcome)
            per_op = outcome["seconds"] / outcome["operations"] * 1e6
            progress(f"{label}: {per_op:.2f} us/{workload.unit} ({outcome['checksum']})")
    groups = [
        _group_result(workload, group, chosen, samples, failures, quick=quick)
        for group in workload.groups
    ]
    return VariantWorkloadResult(
        kind="variants",
        workload=workload.name,
        title=workload.title,
        unit=workload.unit,
        baseline=workload.baseline,
        group_label=workload.group_label,
        rounds=rounds,
        quick=quick,
        command=command,
        machine=machine,
        groups=groups,
    )


def _group_result(
    workload: VariantWorkload,
    group: Group,
    chosen: list[str],
    samples: dict[tuple[str, str], list[Sample]],
    failures: dict[tuple[str, str], str],
    *,
    quick: bool,
) -> GroupResult:
    baseline_samples = samples[group.name, workload.baseline]
    expected = None if quick else group.expected
    if expected is None and baseline_samples:
        # Without a published checksum, the baseline's own result is the reference.
        expected = statistics.mode(s["checksum"] for s in baseline_samples)
    baseline_by_round = {
        s["round"]: s["seconds"] / s["operations"]
        for s in baseline_samples
        if s["checksum"] == expected
    }
    results = []
    for variant in chosen:
        runs = samples[group.name, variant]
        overheads = []
        for sample in runs:
            base = baseline_by_round.get(sample["round"])
            if base is not None and sample["checksum"] == expected:
                per_op = sample["seconds"] / sample["operations"]
                sample["ratio"] = per_op / base
                overheads.append((per_op - base) * 1e6)
        result = _variant_result(
            variant, runs, failures.get((group.name, variant)), expected, workload
        )
        if result["valid"] and overheads:
            result["overhead_us"] = statistics.median(overheads)
        results.append(result)
    return GroupResult(
        name=group.name,
        params=dict(group.sizes(quick=quick)),
        expected_checksum=expected,
        variants=results,
    )


def _variant_result(
    variant: str,
    runs: list[Sample],
    failure: str | None,
    expected: str | None,
    workload: VariantWorkload,
) -> VariantResult:
    wrong = sorted({s["checksum"] for s in runs if s["checksum"] != expected})
    if not runs:
        status = f"failed: {failure}" if failure else "not run"
    elif wrong:
        status = f"invalid: checksum {', '.join(wrong)} (expected {expected})"
    elif failure:
        status = f"failed in a later round: {failure}"
    else:
        status = "ok"
    valid = status == "ok"
    ratios = [s["ratio"] for s in runs if s["ratio"] is not None]
    per_op = [s["seconds"] / s["operations"] * 1e6 for s in runs]
    return VariantResult(
        name=variant,
        us_per_op=statistics.median(per_op) if per_op else None,
        ratio=statistics.median(ratios) if valid and ratios else None,
        overhead_us=None,
        ratio_min=min(ratios) if valid and ratios else None,
        ratio_max=max(ratios) if valid and ratios else None,
        status=status,
        valid=valid,
        target=workload.targets.get(variant),
        samples=runs,
    )

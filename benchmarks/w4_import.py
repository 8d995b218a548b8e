"""W4, import: what ``import tactical`` adds to the start of a fresh interpreter.

Alternating pairs of ``python -c pass`` and ``python -c "import tactical"``; the figure is the
median of the per-pair differences. ``python -X importtime`` then shows where the time goes:
the modules that ``import tactical`` loads and a bare interpreter does not.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Literal, TypedDict

from benchmarks._harness import ROOT, Machine, child_environment

if TYPE_CHECKING:
    from collections.abc import Callable

PAIRS = 15
QUICK_PAIRS = 3
IMPORTTIME_RUNS = 5
TARGET_MS = 5.0
TOP = 12


class ImportEntry(TypedDict):
    """One module in ``-X importtime``: its own time and that of everything it imported."""

    module: str
    self_us: float
    cumulative_us: float


class ImportResult(TypedDict):
    """What W4 reports."""

    kind: Literal["import"]
    workload: str
    title: str
    pairs: int
    quick: bool
    command: str
    machine: Machine
    median_ms: float
    min_ms: float
    max_ms: float
    pass_ms: float
    import_ms: float
    target_ms: float
    tactical_cumulative_us: float | None
    tactical_self_us: float
    dependencies_self_us: float
    modules: int
    top: list[ImportEntry]


def _seconds(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=child_environment(), check=True)
    return time.perf_counter() - started


def _importtime(code: str) -> dict[str, tuple[float, float]]:
    """``-X importtime`` of ``code``: module name to (self, cumulative) microseconds."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=ROOT,
        env=child_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    entries: dict[str, tuple[float, float]] = {}
    for line in completed.stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        fields = line.removeprefix("import time:").split("|")
        if len(fields) != 3 or not fields[0].strip().isdigit():
            continue  # the header line
        entries[fields[2].strip()] = (float(fields[0]), float(fields[1]))
    return entries


class ImportWorkload:
    """W4: the cost of ``import tactical`` in a fresh interpreter."""

    name = "W4"
    title = "import"

    def run(
        self,
        *,
        rounds: int | None,
        quick: bool,
        progress: Callable[[str], None],
        machine: Machine,
        command: str,
    ) -> ImportResult:
        """Time the pairs, then read ``-X importtime`` (median of several runs per module).

        ``rounds`` is ignored: WORKLOADS.md fixes the number of pairs.
        """
        pairs = QUICK_PAIRS if quick else PAIRS
        _seconds("import tactical")  # writes the bytecode caches; not timed
        bare: list[float] = []
        loaded: list[float] = []
        for index in range(pairs):
            bare.append(_seconds("pass"))
            loaded.append(_seconds("import tactical"))
            progress(f"W4 pair {index + 1}/{pairs}: {(loaded[-1] - bare[-1]) * 1e3:+.2f} ms")
        differences = [(b - a) * 1e3 for a, b in zip(bare, loaded, strict=True)]
        baseline = set(_importtime("pass"))
        runs = [_importtime("import tactical") for _ in range(1 if quick else IMPORTTIME_RUNS)]
        names = [name for name in runs[0] if name not in baseline]
        top = [
            ImportEntry(
                module=name,
                self_us=statistics.median(r[name][0] for r in runs if name in r),
                cumulative_us=statistics.median(r[name][1] for r in runs if name in r),
            )
            for name in names
        ]
        top.sort(key=lambda entry: entry["self_us"], reverse=True)
        own = sum(e["self_us"] for e in top if e["module"].partition(".")[0] == "tactical")
        tactical = [entry["cumulative_us"] for entry in top if entry["module"] == "tactical"]
        return ImportResult(
            kind="import",
            workload=self.name,
            title=self.title,
            pairs=pairs,
            quick=quick,
            command=command,
            machine=machine,
            median_ms=statistics.median(differences),
            min_ms=min(differences),
            max_ms=max(differences),
            pass_ms=statistics.median(bare) * 1e3,
            import_ms=statistics.median(loaded) * 1e3,
            target_ms=TARGET_MS,
            tactical_cumulative_us=tactical[0] if tactical else None,
            tactical_self_us=own,
            dependencies_self_us=sum(e["self_us"] for e in top) - own,
            modules=len(names),
            top=top[:TOP],
        )

    def table(self, result: ImportResult) -> str:
        """The figure, the target, and the modules that cost the most."""
        verdict = "met" if result["median_ms"] <= result["target_ms"] else "MISSED"
        lines = [
            (
                f"W4 - import: {result['pairs']} pairs of `python -c pass` and "
                '`python -c "import tactical"`'
            ),
            (
                f"  import tactical adds {result['median_ms']:.2f} ms (median; "
                f"min {result['min_ms']:.2f}, max {result['max_ms']:.2f}); "
                f"target ≤ {result['target_ms']:.0f} ms: {verdict}"
            ),
            (
                f"  bare interpreter {result['pass_ms']:.1f} ms, with tactical "
                f"{result['import_ms']:.1f} ms"
            ),
        ]
        if result["tactical_cumulative_us"] is not None:
            lines.append(
                f"  -X importtime: tactical {result['tactical_cumulative_us'] / 1e3:.2f} ms "
                f"cumulative, {result['modules']} modules a bare interpreter does not load: "
                f"tactical's own {result['tactical_self_us'] / 1e3:.2f} ms, the modules it "
                f"imports {result['dependencies_self_us'] / 1e3:.2f} ms"
            )
        lines.append(f"  {'module':<32} {'self µs':>9} {'cumulative µs':>14}")
        lines.extend(
            f"  {entry['module']:<32} {entry['self_us']:>9.0f} {entry['cumulative_us']:>14.0f}"
            for entry in result["top"]
        )
        return "\n".join(lines)

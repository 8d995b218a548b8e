"""``python -m benchmarks``: run the workloads, print tables, write the results and the chart.

Each variant runs in a fresh interpreter (``python -m benchmarks.run``), several rounds in
rotating order; the ratio to the baseline is taken within each round, and the median reported.
Results go to ``benchmarks/results/latest.json`` (``quick.json`` for ``--quick``), merged with
the workloads already there; a full W1 or W2 run also redraws its chart,
``docs/assets/benchmarks-w1.svg`` or ``docs/assets/benchmarks-w2.svg``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from benchmarks._harness import ROOT, VariantWorkloadResult, run_variants
from benchmarks._registry import ALL, CUSTOM_WORKLOADS, VARIANT_WORKLOADS
from benchmarks._report import (
    chart_svg,
    load,
    load_average,
    machine_facts,
    save,
    variant_table,
)

RESULTS = ROOT / "benchmarks" / "results"
CHARTS = {
    "W1": ROOT / "docs" / "assets" / "benchmarks-w1.svg",
    "W2": ROOT / "docs" / "assets" / "benchmarks-w2.svg",
}
ROUNDS = 5
QUICK_ROUNDS = 2


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return path.name


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Run tactical's benchmark workloads (see benchmarks/README.md).",
    )
    parser.add_argument(
        "--workload",
        nargs="+",
        choices=ALL,
        default=ALL,
        metavar="NAME",
        help=f"which workloads to run (default: all of {', '.join(ALL)})",
    )
    parser.add_argument(
        "--variant",
        nargs="+",
        default=None,
        metavar="NAME",
        help="run only these variants (the baseline always runs)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help=f"rounds of every variant (default {ROUNDS}, {QUICK_ROUNDS} with --quick); "
        "W4 always runs its 15 pairs (3 with --quick)",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="the JSON results file (default benchmarks/results/latest.json, or quick.json)",
    )
    parser.add_argument(
        "--chart",
        action="store_true",
        help="only redraw the W1 and W2 charts from the results file, running nothing",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the chosen workloads and report them."""
    arguments = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(arguments)
    output: Path = args.output or RESULTS / ("quick.json" if args.quick else "latest.json")
    if args.chart:
        recorded = load(output)
        for name, chart in CHARTS.items():
            if name in recorded:
                drawn: VariantWorkloadResult = recorded[name]
                chart.write_text(chart_svg(drawn), encoding="utf-8")
                print(f"wrote {_relative(chart)} from {_relative(output)}")
        return 0
    if args.rounds is not None and args.rounds < 1:
        _parser().error("--rounds must be at least 1")
    command = shlex.join(["python", "-m", "benchmarks", *arguments])
    results: dict[str, object] = {}
    tables: list[str] = []
    drawn_charts: list[str] = []
    for name in args.workload:
        machine = machine_facts()
        if name in VARIANT_WORKLOADS:
            result = run_variants(
                VARIANT_WORKLOADS[name],
                rounds=args.rounds or (QUICK_ROUNDS if args.quick else ROUNDS),
                quick=args.quick,
                variants=args.variant,
                machine=machine,
                command=command,
                progress=_progress,
            )
            machine["load_average_after"] = load_average()
            results[name] = result
            tables.append(variant_table(result))
            if name in CHARTS and not args.quick and args.variant is None:
                CHARTS[name].parent.mkdir(parents=True, exist_ok=True)
                CHARTS[name].write_text(chart_svg(result), encoding="utf-8")
                drawn_charts.append(_relative(CHARTS[name]))
        else:
            custom = CUSTOM_WORKLOADS[name]
            outcome = custom.run(
                rounds=args.rounds,
                quick=args.quick,
                progress=_progress,
                machine=machine,
                command=command,
            )
            machine["load_average_after"] = load_average()
            results[name] = outcome
            tables.append(custom.table(outcome))
    save(output, results)
    print()
    print("\n\n".join(tables))
    print(
        f"\nresults: {_relative(output)}"
        + (f"; charts: {', '.join(drawn_charts)}" if drawn_charts else "")
    )
    return 0 if _all_valid(results) else 1


def _all_valid(results: dict[str, object]) -> bool:
    """Whether every variant that ran produced the workload's checksum (and passed its checks)."""
    for result in results.values():
        if not isinstance(result, dict):
            continue
        kind = result.get("kind")
        if kind == "variants":
            for group in result["groups"]:
                for variant in group["variants"]:
                    if variant["status"].startswith("invalid"):
                        return False
        elif kind == "contention":
            if any(row["failures"] for row in result["rows"] if row["successes"]):
                return False
        elif kind == "redis" and any(row["status"].startswith("invalid") for row in result["rows"]):
            return False
    return True


if __name__ == "__main__":
    sys.exit(main())

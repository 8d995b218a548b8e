"""A MkDocs hook: fill the benchmarks page from ``benchmarks/results/latest.json``.

The page holds a ``<!-- benchmark-results -->`` marker; the hook replaces it with a table per
workload and, when the benchmark run drew it, the W1 chart. Without results it says how to get
them, so the build never depends on a benchmark run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MARKER = "<!-- benchmark-results -->"
RESULTS = Path("benchmarks/results/latest.json")
CHART = "assets/benchmarks-w1.svg"


def on_page_markdown(markdown: str, /, *, config: Any, **_kwargs: Any) -> str:
    """Replace the marker on the page that has it."""
    if MARKER not in markdown:
        return markdown
    docs_dir = Path(config["docs_dir"])
    return markdown.replace(MARKER, render(RESULTS, chart=(docs_dir / CHART).exists()))


def render(path: Path, *, chart: bool) -> str:
    """The Markdown for the results in ``path`` (and the chart, if it exists)."""
    if not path.exists():
        return "No results yet: run `make bench`, then rebuild the docs."
    document = json.loads(path.read_text(encoding="utf-8"))
    parts: list[str] = []
    if chart:
        parts.append(f"![W1: each variant's time per command as a ratio to the limit]({CHART})")
    workloads: dict[str, Any] = document.get("workloads", {})
    parts.extend(_workload(name, workloads[name]) for name in sorted(workloads))
    if updated := document.get("updated"):
        parts.append(f"Results updated {updated}.")
    return "\n\n".join(parts)


def _workload(name: str, result: dict[str, Any]) -> str:
    title = f"### {name}: {result.get('title', '')}".rstrip(": ")
    lines = [title, ""]
    machine = result.get("machine") or {}
    if machine:
        lines += [
            f"{machine.get('cpu', '?')} ({machine.get('cpu_count', '?')} cores), "
            f"Python {machine.get('python', '?')}, {machine.get('date', '')}"
            + (" (quick sizes: the figures mean little)" if result.get("quick") else ""),
            "",
        ]
    groups = result.get("groups")
    if result.get("kind") != "variants" or not groups:
        lines.append(f"```text\n{json.dumps(result.get('summary', result), indent=2)[:2000]}\n```")
        return "\n".join(lines)
    unit = result.get("unit", "op")
    baseline = result.get("baseline", "limit")
    for group in groups:
        if len(groups) > 1:
            lines += [f"**{group.get('name', '')}**", ""]
        lines += [
            f"| variant | µs/{unit} | x {baseline} | min-max | +µs | target | status |",
            "|---|---:|---:|---|---:|---|---|",
        ]
        lines += [_row(variant) for variant in group.get("variants", [])]
        lines.append("")
    return "\n".join(lines)


def _number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _row(variant: dict[str, Any]) -> str:
    low, high = variant.get("ratio_min"), variant.get("ratio_max")
    spread = f"{low:.2f}-{high:.2f}" if low is not None and high is not None else ""
    target = variant.get("target")
    ratio = variant.get("ratio")
    goal = ""
    if target is not None:
        goal = f"≤ {target:.1f} " + ("met" if ratio is not None and ratio <= target else "missed")
    return (
        f"| {variant.get('name', '?')} | {_number(variant.get('us_per_op'))} "
        f"| {_number(ratio)} | {spread} | {_number(variant.get('overhead_us'))} "
        f"| {goal} | {variant.get('status', '')} |"
    )

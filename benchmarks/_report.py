"""Reporting: machine facts, tables for a terminal, the JSON results file and the SVG chart.

The chart is plain SVG written here, so the docs show it without loading anything at view
time.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import math
import os
import platform
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks._harness import Machine, VariantResult, VariantWorkloadResult

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

PACKAGES = ("tactical", "lato", "eventsourcing", "pydantic")


def machine_facts() -> Machine:
    """Python, processor, load and package versions: enough to tell two runs apart."""
    packages = {}
    for name in PACKAGES:
        try:
            packages[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return Machine(
        date=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        python=platform.python_version(),
        implementation=platform.python_implementation(),
        platform=f"{platform.system()} {platform.release()} {platform.machine()}",
        cpu=_cpu_model(),
        cpu_count=os.cpu_count(),
        load_average=load_average(),
        load_average_after=None,
        packages=packages,
    )


def load_average() -> list[float] | None:
    """The 1, 5 and 15-minute load averages, where the system tells them."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _cpu_model() -> str:
    try:
        with Path("/proc/cpuinfo").open(encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _sizes(params: Mapping[str, int]) -> str:
    return ", ".join(f"{name}={value:,}" for name, value in params.items())


def _number(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def variant_table(result: VariantWorkloadResult) -> str:
    """One table per workload: a row per variant, or a row per group when there are several."""
    header = f"{result['workload']} - {result['title']}"
    if result["quick"]:
        header += " (quick: smoke-test sizes, figures mean little)"
    lines = [header]
    if len(result["groups"]) == 1:
        group = result["groups"][0]
        lines.append(
            f"  {_sizes(group['params'])}; {result['rounds']} rounds; "
            f"checksum {group['expected_checksum']}"
        )
        unit = f"µs/{result['unit']}"
        ratio = f"x {result['baseline']}"
        lines.append(
            f"  {'variant':<16}{unit:>12}{ratio:>10}   {'min-max':<13}{'+µs':>8}   "
            f"{'target':<14}status"
        )
        lines.extend(_variant_row(variant) for variant in group["variants"])
        return "\n".join(lines)
    names = [variant["name"] for variant in result["groups"][0]["variants"]]
    shared = {
        name: value
        for name, value in result["groups"][0]["params"].items()
        if all(group["params"].get(name) == value for group in result["groups"])
    }
    lines.append(
        f"  µs/{result['unit']} (median ratio to {result['baseline']}); "
        f"{result['rounds']} rounds; " + _sizes(shared)
    )
    label = result["group_label"] or "group"
    lines.append(f"  {label:<22}" + "".join(f"{name:>20}" for name in names))
    for group in result["groups"]:
        cells = []
        for variant in group["variants"]:
            if variant["valid"]:
                cells.append(f"{_number(variant['us_per_op'], 1)} ({_number(variant['ratio'])}x)")
            else:
                cells.append(variant["status"].split(":")[0])
        lines.append(f"  {group['name']:<22}" + "".join(f"{cell:>20}" for cell in cells))
    lines.append(
        f"  added to {result['baseline']}, µs/{result['unit']} (median of per-round differences)"
    )
    for group in result["groups"]:
        cells = [_number(variant["overhead_us"], 1) for variant in group["variants"]]
        lines.append(f"  {group['name']:<22}" + "".join(f"{cell:>20}" for cell in cells))
    lines.extend(_group_notes(result))
    return "\n".join(lines)


def _group_notes(result: VariantWorkloadResult) -> list[str]:
    """Per group: the checksum, the targets met or missed, and any variant not ``ok``."""
    label = result["group_label"] or "group"
    lines = []
    for group in result["groups"]:
        notes = [f"checksum {group['expected_checksum']}"]
        for variant in group["variants"]:
            if variant["target"] is not None:
                met = variant["ratio"] is not None and variant["ratio"] <= variant["target"]
                spread = ""
                if variant["ratio_min"] is not None and variant["ratio_max"] is not None:
                    spread = f", per round {variant['ratio_min']:.2f}-{variant['ratio_max']:.2f}"
                notes.append(
                    f"{variant['name']} ≤ {variant['target']:.2f}x {result['baseline']}: "
                    f"{'met' if met else 'MISSED'} ({_number(variant['ratio'])}x{spread})"
                )
            if variant["status"] != "ok":
                notes.append(f"{variant['name']}: {variant['status']}")
        lines.append(f"  {label} {group['name']}: " + "; ".join(notes))
    return lines


def _variant_row(variant: VariantResult) -> str:
    spread = ""
    if variant["ratio_min"] is not None and variant["ratio_max"] is not None:
        spread = f"{variant['ratio_min']:.2f}-{variant['ratio_max']:.2f}"
    target = ""
    if variant["target"] is not None:
        met = variant["ratio"] is not None and variant["ratio"] <= variant["target"]
        target = f"≤ {variant['target']:.1f} {'met' if met else 'MISSED'}"
    return (
        f"  {variant['name']:<16}{_number(variant['us_per_op']):>12}"
        f"{_number(variant['ratio']):>10}   {spread:<13}{_number(variant['overhead_us']):>8}   "
        f"{target:<14}{variant['status']}"
    )


def save(path: Path, results: Mapping[str, object]) -> None:
    """Write ``results`` into the JSON file at ``path``, keeping the workloads not run now."""
    document: dict[str, Any] = {"schema": 1, "workloads": {}}
    if path.exists():
        try:
            existing = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            existing = {}
        if isinstance(existing, dict) and isinstance(existing.get("workloads"), dict):
            document["workloads"].update(existing["workloads"])
    document["workloads"].update(results)
    document["updated"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
    temporary.replace(path)


def load(path: Path) -> dict[str, Any]:
    """The workloads recorded in the JSON file at ``path``."""
    document = json.loads(path.read_text(encoding="utf-8"))
    workloads: dict[str, Any] = document["workloads"]
    return workloads


# The chart: horizontal bars of the ratio to the limit, on a logarithmic axis (tactical sits
# near 1x and the others reach tens of x; a linear axis would flatten the figures that matter).

_WIDTH = 800
_LEFT = 130
_RIGHT = 150
_TOP = 92
_ROW = 34
_BAR = 20
_TICKS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
_COLOURS = {
    "limit": "#718096",
    "floor": "#9ae6b4",
    "tactical": "#2b6cb0",
    "tactical-fake": "#4a90d9",
}
_OTHER = "#a0aec0"


def _log_scale(low: float, high: float, start: float, end: float) -> Callable[[float], float]:
    span = math.log(high) - math.log(low)

    def x(value: float) -> float:
        clipped = min(max(value, low), high)
        return start + (math.log(clipped) - math.log(low)) / span * (end - start)

    return x


_HEADER = 24
_LOW = 0.7


def _shared_params(result: VariantWorkloadResult) -> dict[str, int]:
    first = result["groups"][0]["params"]
    return {
        name: value
        for name, value in first.items()
        if all(group["params"].get(name) == value for group in result["groups"])
    }


def chart_svg(result: VariantWorkloadResult) -> str:
    """An SVG bar chart of each variant's median ratio to the baseline, with the target line.

    A workload of several groups (W2: one per database) gets a block of bars per group,
    under the group's name, on one axis.
    """
    groups = result["groups"]
    several = len(groups) > 1
    variants = [v for group in groups for v in group["variants"]]
    ratios = [v["ratio"] for v in variants if v["ratio"] is not None]
    targets = [v["target"] for v in variants if v["target"] is not None]
    high = max([*ratios, *targets, 2.0]) * 1.25
    low = min([*ratios, _LOW]) * 0.85 if several else _LOW
    ticks = [t for t in (0.05, 0.1, 0.2, 0.5, *_TICKS) if low <= t <= high]
    plot_end = _WIDTH - _RIGHT
    x = _log_scale(low, high, _LEFT, plot_end)
    body = len(variants) * _ROW + (len(groups) * _HEADER if several else 0)
    height = _TOP + body + 56
    machine = result["machine"]
    label = result["group_label"] or "group"
    subtitle = (
        f"Log scale, shorter is faster. {_sizes(_shared_params(result))}"
        + (f", one block per {label}" if several else "")
        + f"; median of {result['rounds']} rounds, each ratio taken within a round."
    )
    facts = (
        f"Python {machine['python']} ({machine['implementation']}), {machine['cpu']}, "
        f"{machine['cpu_count']} CPUs, {machine['date'][:10]}"
    )
    title = (
        f"{result['workload']} {result['title']}: time per {result['unit']}, "
        f"relative to the {result['baseline']}"
    )
    out = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" '
            f'viewBox="0 0 {_WIDTH} {height}" role="img" aria-labelledby="title desc" '
            'font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="13" '
            'fill="#1a202c">'
        ),
        f'<title id="title">{escape(title)}</title>',
        f'<desc id="desc">{escape(_description(result))}</desc>',
        f'<rect width="{_WIDTH}" height="{height}" fill="#ffffff"/>',
        f'<text x="16" y="26" font-size="15" font-weight="600">{escape(title)}</text>',
        f'<text x="16" y="46" font-size="11.5" fill="#4a5568">{escape(subtitle)}</text>',
        f'<text x="16" y="62" font-size="11.5" fill="#4a5568">{escape(facts)}</text>',
    ]
    axis_bottom = _TOP + body - 6
    for tick in ticks:
        tx = x(tick)
        out.append(
            f'<line x1="{tx:.1f}" y1="{_TOP - 8}" x2="{tx:.1f}" y2="{axis_bottom}" '
            'stroke="#e2e8f0" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{tx:.1f}" y="{axis_bottom + 16}" text-anchor="middle" '
            f'fill="#4a5568" font-size="11.5">{tick:g}&#215;</text>'
        )
    for target in sorted(set(targets)):
        tx = x(target)
        out.append(
            f'<line x1="{tx:.1f}" y1="{_TOP - 14}" x2="{tx:.1f}" y2="{axis_bottom}" '
            'stroke="#c53030" stroke-width="1.5" stroke-dasharray="5 4"/>'
        )
        out.append(
            f'<text x="{tx + 4:.1f}" y="{_TOP - 16}" fill="#c53030" font-size="11.5">'
            f"target {target:g}&#215;</text>"
        )
    y = _TOP
    for group in groups:
        if several:
            out.append(
                f'<text x="16" y="{y + 16}" font-weight="600">{escape(group["name"])}</text>'
            )
            y += _HEADER
        for variant in group["variants"]:
            out.extend(_bar(variant, x, y))
            y += _ROW
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _bar(variant: VariantResult, x: Callable[[float], float], y: float) -> list[str]:
    out = [
        (
            f'<text x="{_LEFT - 10}" y="{y + _BAR / 2 + 4:.1f}" text-anchor="end" '
            f">{escape(variant['name'])}</text>"
        )
    ]
    if variant["ratio"] is None:
        reason = variant["status"].split(":")[0]
        out.append(
            f'<text x="{_LEFT + 4}" y="{y + _BAR / 2 + 4:.1f}" fill="#c53030" '
            f'font-style="italic">{escape(reason)}</text>'
        )
        return out
    end = x(variant["ratio"])
    colour = _COLOURS.get(variant["name"], _OTHER)
    out.append(
        f'<rect x="{_LEFT}" y="{y}" width="{max(end - _LEFT, 1):.1f}" height="{_BAR}" '
        f'rx="2" fill="{colour}"/>'
    )
    label = f"{variant['ratio']:.2f}&#215; &#183; {escape(_number(variant['us_per_op']))} µs"
    out.append(
        f'<text x="{end + 6:.1f}" y="{y + _BAR / 2 + 4:.1f}" stroke="#ffffff" '
        f'stroke-width="4" paint-order="stroke">{label}</text>'
    )
    return out


def _description(result: VariantWorkloadResult) -> str:
    parts = []
    several = len(result["groups"]) > 1
    for group in result["groups"]:
        prefix = f"{group['name']}, " if several else ""
        for variant in group["variants"]:
            if variant["ratio"] is None:
                parts.append(f"{prefix}{variant['name']}: {variant['status']}")
            else:
                parts.append(
                    f"{prefix}{variant['name']}: {variant['ratio']:.2f} times "
                    f"{result['baseline']}, {_number(variant['us_per_op'])} µs per {result['unit']}"
                )
    return "; ".join(parts)

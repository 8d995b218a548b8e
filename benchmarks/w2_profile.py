"""Where W2's time goes: SQL statements per command, and a profile of the timed loop.

``python -m benchmarks.w2_profile [VARIANT ...] [--backend sqlite|postgresql] [--n N]``
runs W2 variants in this process (a fresh database each, as the benchmark does) with two
instruments on the timed loop only:

- every statement that reaches the driver (SQLAlchemy's ``before_cursor_execute``) and every
  commit, counted by kind, per command (the SQLAlchemy variants; the floor's statements are
  fixed by its code);
- cProfile: the functions with the most time of their own, and that time summed by where the
  code lives (SQLAlchemy's ORM, its Core, tactical, the app, the driver).

Profiling slows Python code down several times and the driver not at all, so read the shares
as "where", not as "how long".
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import pstats
import sys
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, event

from benchmarks import w2_persist
from benchmarks._databases import BACKENDS
from benchmarks._registry import W2

if TYPE_CHECKING:
    from collections.abc import Callable

AREAS = (
    ("sqlalchemy/orm/", "SQLAlchemy ORM"),
    ("sqlalchemy/engine/", "SQLAlchemy engine"),
    ("sqlalchemy/sql/", "SQLAlchemy SQL compiler/elements"),
    ("sqlalchemy/dialects/", "SQLAlchemy dialect"),
    ("sqlalchemy/", "SQLAlchemy other"),
    ("tactical/sqlalchemy/", "tactical.sqlalchemy"),
    ("tactical/", "tactical core"),
    ("allocation/", "example app (domain, mapping)"),
    ("benchmarks/", "benchmark"),
    ("eventsourcing/", "eventsourcing"),
    ("psycopg", "psycopg (Python part)"),
)


class Statements:
    """Counts what reaches the driver while ``on`` is set."""

    def __init__(self) -> None:
        self.on = False
        self.kinds: collections.Counter[str] = collections.Counter()
        event.listen(Engine, "before_cursor_execute", self._execute)
        event.listen(Engine, "commit", self._commit)
        event.listen(Engine, "rollback", self._rollback)

    def _execute(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.on:
            words = statement.split(None, 2)
            kind = " ".join(words[:2]) if words[0].upper() in {"BEGIN", "PRAGMA"} else words[0]
            self.kinds[kind.upper()] += 1

    def _commit(self, conn: Any) -> None:
        if self.on:
            self.kinds["COMMIT"] += 1

    def _rollback(self, conn: Any) -> None:
        if self.on:
            self.kinds["ROLLBACK (connection returned to the pool)"] += 1


def area(filename: str) -> str:
    """Which part of the stack a profiled function belongs to."""
    path = filename.replace("\\", "/")
    for marker, name in AREAS:
        if marker in path:
            return name
    if path.startswith("~") or path == "<built-in>":
        return "C functions (driver calls, builtins)"
    return "Python standard library and other"


def profile(
    variant: str, backend: int, n: int, products: int, top: int
) -> tuple[str, dict[str, tuple[float, float]]]:
    """Run one variant under the instruments: the report as text, and each function's own
    time and calls per command."""
    statements = Statements()
    profiler = cProfile.Profile()
    elapsed = [0.0]

    def instrumented(loop: Callable[[], object]) -> float:
        statements.on = True
        started = time.perf_counter()
        profiler.enable()
        try:
            loop()
        finally:
            profiler.disable()
            statements.on = False
        elapsed[0] = time.perf_counter() - started
        return elapsed[0]

    w2_persist.timer = instrumented
    params = {"n": n, "products": products, "backend": backend}
    measurement = W2.load(variant)(params)
    lines = [
        (
            f"== {variant} on {BACKENDS[backend]}: n={n}, P={products}; checksum "
            f"{measurement.checksum}; {elapsed[0] / n * 1e6:.0f} µs/command under the profiler"
        )
    ]
    if statements.kinds:
        total = sum(statements.kinds.values())
        lines.append(f"  statements per command: {total / n:.2f}")
        lines.extend(
            f"    {kind:<44}{count / n:6.2f}" for kind, count in statements.kinds.most_common()
        )
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    by_area: collections.Counter[str] = collections.Counter()
    functions = []
    per_function: dict[str, tuple[float, float]] = {}
    for (filename, line, name), (_, calls, own, _cumulative, _) in raw.items():
        by_area[area(filename)] += own
        where = f"{_short(filename)}:{line}({name})"
        functions.append((own, calls, where))
        per_function[where] = (own / n * 1e6, calls / n)
    total_own = sum(by_area.values()) or 1.0
    lines.append("  own time by area (share of the profiled loop):")
    lines.extend(
        f"    {name:<44}{seconds / total_own:6.1%}  {seconds / n * 1e6:8.1f} µs/command"
        for name, seconds in by_area.most_common()
    )
    lines.append(f"  top {top} functions by own time (calls per command, µs per command):")
    functions.sort(reverse=True)
    lines.extend(
        f"    {own / n * 1e6:7.1f} µs {calls / n:6.1f}x  {where}"
        for own, calls, where in functions[:top]
    )
    return "\n".join(lines), per_function


def difference(
    names: tuple[str, str],
    first: dict[str, tuple[float, float]],
    second: dict[str, tuple[float, float]],
    top: int,
) -> str:
    """The functions whose own time per command differs most between two variants."""
    rows = []
    for where in set(first) | set(second):
        a_us, a_calls = first.get(where, (0.0, 0.0))
        b_us, b_calls = second.get(where, (0.0, 0.0))
        rows.append((b_us - a_us, a_calls, b_calls, where))
    rows.sort(reverse=True)
    lines = [
        (
            f"== own time per command, {names[1]} minus {names[0]} "
            f"(total {sum(r[0] for r in rows):+.1f} µs); calls per command in each:"
        )
    ]
    lines.extend(
        f"  {delta:+8.1f} µs  {a_calls:5.1f} -> {b_calls:5.1f}  {where}"
        for delta, a_calls, b_calls, where in rows[:top]
    )
    return "\n".join(lines)


def _short(filename: str) -> str:
    path = filename.replace("\\", "/")
    for marker in ("site-packages/", "/src/", "/benchmarks/"):
        if marker in path:
            return path.rsplit(marker, 1)[1]
    return path


def main(argv: list[str] | None = None) -> int:
    """Profile the chosen variants, one after the other, each on a fresh database."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.w2_profile", description=__doc__)
    parser.add_argument("variant", nargs="*", default=["limit", "tactical"])
    parser.add_argument("--backend", choices=list(BACKENDS.values()), default="sqlite")
    parser.add_argument("--n", type=int, default=2_000)
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--diff", action="store_true", help="with two variants: where the second spends more"
    )
    args = parser.parse_args(argv)
    backend = next(code for code, name in BACKENDS.items() if name == args.backend)
    functions = []
    for variant in args.variant:
        text, per_function = profile(variant, backend, args.n, args.products, args.top)
        print(text)
        functions.append(per_function)
    if args.diff and len(functions) == 2:
        print(difference((args.variant[0], args.variant[1]), functions[0], functions[1], args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())

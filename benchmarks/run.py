"""Run one variant of one workload in this process and print its measurement as a JSON line.

``python -m benchmarks.run W1 tactical [--group NAME] [--quick]``: the parent
(``python -m benchmarks``) starts one of these per variant and round.
"""

from __future__ import annotations

import argparse
import json
import sys

from benchmarks._registry import VARIANT_WORKLOADS


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run the variant, print ``{"seconds", "operations", "checksum"}``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("workload", choices=sorted(VARIANT_WORKLOADS))
    parser.add_argument("variant")
    parser.add_argument("--group", default=None, help="the group of parameters (default: first)")
    parser.add_argument("--quick", action="store_true", help="the small smoke-test size")
    args = parser.parse_args(argv)
    workload = VARIANT_WORKLOADS[args.workload]
    if args.variant not in workload.variants:
        parser.error(
            f"{workload.name} has no variant {args.variant!r}: {', '.join(workload.variants)}"
        )
    group = workload.groups[0] if args.group is None else workload.group(args.group)
    measurement = workload.load(args.variant)(group.sizes(quick=args.quick))
    print(
        json.dumps(
            {
                "workload": workload.name,
                "variant": args.variant,
                "group": group.name,
                "seconds": measurement.seconds,
                "operations": measurement.operations,
                "checksum": measurement.checksum,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

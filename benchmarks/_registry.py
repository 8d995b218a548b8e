"""The workloads that ``python -m benchmarks`` knows, by name (see WORKLOADS.md).

To add one (W2, W3, W5), write its variants as functions ``(params) -> Measurement`` in a
module of their own and add a `VariantWorkload` here; a workload of another shape implements
`CustomWorkload`, as W4 does.
"""

from __future__ import annotations

from benchmarks._harness import CustomWorkload, Group, VariantWorkload
from benchmarks.w4_import import ImportWorkload

W1 = VariantWorkload(
    name="W1",
    title="dispatch (in memory)",
    unit="command",
    baseline="limit",
    variants={
        "limit": "benchmarks.w1_dispatch:limit",
        "tactical": "benchmarks.w1_dispatch:tactical",
        "tactical-fake": "benchmarks.w1_dispatch:tactical_fake",
        "lato": "benchmarks.w1_lato:run",
        "eventsourcing": "benchmarks.w1_eventsourcing:run",
    },
    groups=(
        Group(
            name="",
            params={"n": 50_000, "products": 5_000, "batches": 3},
            quick={"n": 2_000, "products": 200, "batches": 3},
            expected="6b926cc9c464",
        ),
    ),
    targets={"tactical": 2.0},
)

W1_SCALING = VariantWorkload(
    name="W1-scaling",
    title="dispatch (in memory) as the aggregate grows",
    unit="command",
    baseline="limit",
    variants={
        "limit": "benchmarks.w1_dispatch:limit",
        "tactical": "benchmarks.w1_dispatch:tactical",
        "tactical-fake": "benchmarks.w1_dispatch:tactical_fake",
    },
    groups=tuple(
        Group(
            name=str(batches),
            params={"n": 2_000, "products": 200, "batches": batches},
            quick={"n": 200, "products": 20, "batches": batches},
        )
        for batches in (3, 30, 300)
    ),
    group_label="batches per product",
)

VARIANT_WORKLOADS: dict[str, VariantWorkload] = {w.name: w for w in (W1, W1_SCALING)}
CUSTOM_WORKLOADS: dict[str, CustomWorkload] = {"W4": ImportWorkload()}
ALL = [*VARIANT_WORKLOADS, *CUSTOM_WORKLOADS]
"""Every workload, in the order a full run takes them."""

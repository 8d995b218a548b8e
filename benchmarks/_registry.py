"""The workloads that ``python -m benchmarks`` knows, by name (see WORKLOADS.md).

To add one, write its variants as functions ``(params) -> Measurement`` in a module of their
own and add a `VariantWorkload` here (W1, W2); a workload of another shape implements
`CustomWorkload` (W3, W4, W5).
"""

from __future__ import annotations

from benchmarks._databases import BACKENDS
from benchmarks._harness import CustomWorkload, Group, VariantWorkload
from benchmarks.w3_contention import ContentionWorkload
from benchmarks.w4_import import ImportWorkload
from benchmarks.w5_redis import RedisWorkload

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

W2 = VariantWorkload(
    name="W2",
    title="persist (one transaction per command)",
    unit="command",
    baseline="limit",
    variants={
        "limit": "benchmarks.w2_persist:limit",
        "floor": "benchmarks.w2_persist:floor",
        "tactical": "benchmarks.w2_persist:tactical",
        "eventsourcing": "benchmarks.w2_eventsourcing:run",
    },
    groups=tuple(
        Group(
            name=name,
            params={"n": 2_000, "products": 200, "backend": backend},
            quick={"n": 200, "products": 20, "backend": backend},
            # The timed commands are W1's quick data set (the warm-up has products of its
            # own), so the read model's checksum is W1's at n=2,000, P=200.
            expected="d0ab7b38ea70",
        )
        for backend, name in BACKENDS.items()
    ),
    targets={"tactical": 1.10},
    group_label="database",
)

VARIANT_WORKLOADS: dict[str, VariantWorkload] = {w.name: w for w in (W1, W1_SCALING, W2)}
CUSTOM_WORKLOADS: dict[str, CustomWorkload] = {
    w.name: w for w in (ContentionWorkload(), ImportWorkload(), RedisWorkload())
}
ALL = sorted([*VARIANT_WORKLOADS, *CUSTOM_WORKLOADS])
"""Every workload, in the order a full run takes them."""

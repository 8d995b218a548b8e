"""Benchmarks of tactical: the workloads of WORKLOADS.md, each variant in a fresh process.

Run ``python -m benchmarks --help``; `benchmarks/README.md` explains how to read the figures.
"""

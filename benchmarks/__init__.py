"""Benchmarks: `make bench` (or `python -m benchmarks [name ...]`). Figures go to docs/benchmarks.md."""

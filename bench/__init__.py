"""Benchmarks: run by hand (`python -m bench.NAME`), never collected as tests."""

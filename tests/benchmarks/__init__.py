"""Benchmarks (`make bench`); run as `python -m tests.benchmarks.run`."""

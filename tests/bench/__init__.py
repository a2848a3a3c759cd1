"""Tests of the benchmark harness (benchmarks/): its pure parts and the capacity model."""

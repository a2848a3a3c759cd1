"""The throughput harness: the engine's limit, the seed-style baseline, the stream service (and the
batch backfill when ``benchmarks/backfill.py`` is present) on the same generated pages, in one run.

Entry points: ``python -m benchmarks`` and ``ocr-cluster bench`` (same arguments, see
:mod:`benchmarks.cli`). Results are reported, never asserted on time.
"""

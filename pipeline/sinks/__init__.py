"""Sinks: where documents go (OpenSearch, Parquet)."""

"""The batch runtime: backfills as Ray Datasets, long documents spread, the DLQ reprocessed."""

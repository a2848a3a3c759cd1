"""Sources: where jobs come from (SQS, S3 prefixes, the DLQ)."""

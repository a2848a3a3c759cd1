"""ocr-cluster: S3 + SQS in, Tesseract (jpn, Latin lines in eng) on every core, OpenSearch out."""

__version__ = "0.1.0"

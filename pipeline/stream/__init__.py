"""The stream runtime: the service, its intake of SQS messages, OCR workers, a message's fate."""

"""One JSON object per log line (the CloudWatch agent ships them from the journal).

Fields: ts, level, logger, msg, and any ``extra={...}`` (message_id, bucket, key, error_class,
timings). Values that look like secrets are never written: pass them to :func:`add_secret`.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

_SECRETS: set[str] = set()
_STANDARD = set(vars(logging.makeLogRecord({})))


def add_secret(value: str) -> None:
    """Mask ``value`` wherever it would appear in a log line."""
    if value:
        _SECRETS.add(value)


class JsonFormatter(logging.Formatter):
    """Formats records as single-line JSON."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one JSON line."""
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        line = json.dumps(entry, ensure_ascii=False, default=str)
        for secret in _SECRETS:
            line = line.replace(secret, "***")
        return line


def setup_logging(level: str = "INFO", stream: Any = None, fmt: str = "json") -> None:
    """Route the root logger to stderr (or ``stream``): JSON lines, or plain text with ``fmt="text"``."""
    handler = logging.StreamHandler(stream or sys.stderr)
    text = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    handler.setFormatter(JsonFormatter() if fmt == "json" else text)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("botocore", "urllib3", "opensearch", "boto3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

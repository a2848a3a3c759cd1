"""Settings from the environment (prefix ``OCR_``) and an env file.

AWS endpoints and credentials are *not* settings of ours: boto3 reads the standard variables
(``AWS_ENDPOINT_URL``, ``AWS_REGION``, ``AWS_ACCESS_KEY_ID``, ...), so the same code talks to
moto or to AWS. On the nodes the env file is ``/etc/file-processor/env``.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

NODE_ENV_FILE = Path("/etc/file-processor/env")
DEBIAN_TESSDATA = "/usr/share/tesseract-ocr/5/tessdata"


class Settings(BaseSettings):
    """Every knob of the service, with its default and its bounds."""

    model_config = SettingsConfigDict(env_prefix="OCR_", extra="ignore")

    queue_url: str = Field("", description="The SQS queue the stream service reads.")
    dlq_url: str = Field("", description="The dead-letter queue; read from the redrive policy when empty.")
    opensearch_url: str = Field("http://127.0.0.1:9200", description="OpenSearch endpoint.")
    opensearch_auth: str = Field("none", pattern="^(none|sigv4|basic)$", description="none, sigv4 or basic.")
    opensearch_user: str = Field("", description="User name for basic auth.")
    opensearch_password: SecretStr = Field(SecretStr(""), description="Password for basic auth.")
    opensearch_verify_tls: bool = Field(True, description="Verify the server's certificate (keep on).")
    opensearch_timeout_s: float = Field(30.0, gt=0, le=600, description="Per-request time-out.")
    index: str = Field("documents", min_length=1, description="The index documents are written to.")
    languages: str = Field("jpn", description="Tesseract languages (jpn's model reads Latin letters too).")
    latin_language: str = Field(
        "eng", description="Reader of the lines of Latin script a reading in jpn alone reads again (with "
                           "OCR_LANGUAGES=jpn: 1.16x faster than jpn+eng, as many words found); empty, or one "
                           "of OCR_LANGUAGES: off.",
    )
    tessdata: str = Field(DEBIAN_TESSDATA, description="Directory holding the .traineddata files.")
    engine: str = Field(
        "pipeline.engine.ocr:Engine",
        description="The engine class (module:Class); a seam for other engines and fault tests.",
    )
    vertical_language: str = Field(
        "jpn_vert", description="Reader of blocks set vertically (Debian tesseract-ocr-jpn-vert); empty: off."
    )
    detect_orientation: bool = Field(True, description="Turn weak pages upright with Tesseract's OSD (osd).")
    max_read_dpi: int = Field(
        400, ge=0, le=1200,
        description="Pages scanned clearly finer (over 1.25x) are reduced to this resolution to be read (0: "
                    "never): 600-DPI pages 1.3-1.5x faster, as many words found; 300 lost names in 5-pt print.",
    )
    min_read_dpi: int = Field(
        300, ge=0, le=600,
        description="Pages scanned clearly coarser (under 240 DPI for 300) are enlarged to this resolution to be "
                    "read (0: never): 200-DPI pages 0.6-0.8% CER -> 0.0-0.1%, 150-DPI 2.5-4.1% -> 0.3-0.7%.",
    )
    invert_pass: bool = Field(
        False, description="Tesseract's inverted-line pass on every page (weak lines read again as white on "
                           "black; 9% slower); see invert_where_dark.",
    )
    invert_where_dark: bool = Field(
        True, description="The inverted-line pass on pages with solid dark ground (a heading band, a stamp, "
                          "header cells: where text is reversed out; without it such text is lost).",
    )
    drop_stamps: bool = Field(
        True, description="On colour pages, the ink of coloured stamps and seals (a stamp-shaped patch of "
                          "colour) is made paper before the page goes grey: the text under a seal is read.",
    )
    lstm_dictionary: bool = Field(
        True, description="The LSTM's search guided by the word lists (Tesseract's lstm_use_matrix); off: not "
                          "loaded (lost names on 600-DPI pages: docs/benchmarks.md).",
    )
    retry_certainty: float = Field(
        -2.5, ge=-50, le=0,
        description="With lstm_dictionary off: a stretch with a word read under this certainty is read again "
                    "by the other languages (Tesseract's stopper_nondict_certainty_base, -2.5; looser: English "
                    "words lost).",
    )
    deskew_min_deg: float = Field(
        1.0, ge=0, le=10, description="Pages skewed by this much or more are straightened first (0: never)."
    )
    deskew_max_deg: float = Field(
        20.0, gt=0, le=30, description="The widest skew looked for (hand-fed slips lie at 15-20 degrees)."
    )
    weak_confidence: float = Field(
        60.0, ge=0, le=100, description="A first reading under this mean confidence tries orientation passes."
    )
    rotate_min_confidence: float = Field(
        2.0, ge=0, le=100, description="OSD confidence needed to try a page turned (the better reading is kept)."
    )
    reuse_duplicates: bool = Field(
        True, description="An object whose bytes were already read with these settings reuses that reading."
    )
    skip_blank: bool = Field(True, description="Pages the ink test finds blank are not given to the engine.")
    whiten_paper: bool = Field(
        True, description="On nearly empty pages (under 400 mm² of ink) the paper's scanner noise is made white "
                          "before reading: Tesseract's threshold split the noise (23-88 s a page, junk text).",
    )
    page_timeout_s: float = Field(120.0, gt=0, le=3600, description="Engine time-out per page.")
    max_object_bytes: int = Field(200 * 1024**2, gt=0, description="Larger objects are refused unread.")
    max_pixels: int = Field(
        120_000_000, gt=0, description="Pixel cap per page (Pillow's bomb guard; PDF pages are scaled down)."
    )
    max_pages: int = Field(2000, gt=0, description="Documents with more pages are refused.")
    dpi: int = Field(300, ge=72, le=600, description="Rasterisation resolution for PDF pages.")
    s3_timeout_s: float = Field(60.0, gt=0, le=900, description="S3 connect/read time-out.")
    bulk_max_bytes: int = Field(5 * 1024**2, gt=0, description="Bulk request size bound.")
    bulk_max_docs: int = Field(500, gt=0, le=10_000, description="Bulk request count bound.")
    bulk_max_delay_s: float = Field(1.0, gt=0, le=60, description="Longest a document waits to be flushed.")
    bulk_retries: int = Field(6, ge=0, le=20, description="Retries of 429/5xx items before giving up.")
    visibility_timeout_s: int = Field(120, ge=10, le=43200, description="Visibility set by each heartbeat.")
    poll_wait_s: int = Field(20, ge=0, le=20, description="SQS long-poll wait.")
    heartbeat_s: float = Field(30.0, gt=0, description="How often in-flight messages are extended.")
    drain_timeout_s: float = Field(90.0, gt=0, description="SIGTERM: time to finish or release.")
    ocr_workers: int = Field(0, ge=0, description="OCR actors; 0 means one per CPU slot of the cluster.")
    prefetch_per_worker: int = Field(2, ge=1, le=10, description="Messages held per OCR worker.")
    tasks_per_worker: int = Field(
        4, ge=1, le=10,
        description="Tasks an OCR worker takes at once while tasks are quick (small objects, 0.1 s or less): "
        "one reads while the others download ahead (otherwise at most two: one reading, one waiting).",
    )
    split_pages: int = Field(
        8, ge=0, validation_alias=AliasChoices("OCR_SPLIT_PAGES", "OCR_BATCH_SPLIT_PAGES", "split_pages"),
        description="A document of more pages than this is read this many pages a task over the pool (0: whole).",
    )
    small_job_objects: int = Field(
        64, ge=0, description="A backfill of at most this many objects runs on plain actors, without Ray Data's "
                              "executor (quicker to start); 0: always Ray Data.",
    )
    cloudwatch_namespace: str = Field("", description="Publish the scaling metric here; empty: off.")
    asg_name: str = Field("", description="Auto Scaling group (lifecycle hook, backlog per instance).")
    lifecycle_hook: str = Field("", description="Termination lifecycle hook name.")
    launch_template: str = Field("python-worker-template-v1", description="Workers' launch template (ami deploy).")
    smoke_bucket: str = Field("", description="Bucket that ocr-cluster smoke writes its test document to.")
    log_format: str = Field("json", pattern="^(json|text)$", description="json: one JSON object per log line.")
    log_level: str = Field("INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$", description="Log level.")

    @property
    def latin_reader(self) -> str:
        """The Latin reader's language: ``latin_language`` unless it is already a reading language
        (``jpn+eng`` reads English itself: nothing is read again)."""
        return "" if self.latin_language in self.languages.split("+") else self.latin_language

    def opensearch_secret_values(self) -> list[str]:
        """Values that must never be logged."""
        secret = self.opensearch_password.get_secret_value()
        return [secret] if secret else []


def load_settings(env_file: str | os.PathLike[str] | None = None, **overrides: object) -> Settings:
    """Read settings: explicit overrides, then the environment, then the env file."""
    path = Path(env_file) if env_file else (NODE_ENV_FILE if NODE_ENV_FILE.exists() else None)
    if path is not None:
        _export_env_file(path)
    return Settings(**overrides)  # type: ignore[arg-type]


def _export_env_file(path: Path) -> None:
    """Load KEY=VALUE lines into os.environ (without overriding), so boto3 sees AWS_* too."""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        os.environ.setdefault(key.strip(), value.strip().strip("'\""))

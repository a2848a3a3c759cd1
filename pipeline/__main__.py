"""``python -m pipeline`` is the ``ocr-cluster`` command (used by ``ray job submit``)."""

from pipeline.cli import main

raise SystemExit(main())

#!/usr/bin/env bash
# The main job on a fresh Debian machine (as root): install what is missing, start the local
# stack (moto S3+SQS, osmem-server OpenSearch, a local Ray), feed the sample documents through
# the real stream path, and show what was indexed, what went to the DLQ and why, and how fast.
set -o errexit -o nounset -o pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export RAY_USAGE_STATS_ENABLED=0 OMP_THREAD_LIMIT=1
exec .venv/bin/ocr-cluster demo "$@"

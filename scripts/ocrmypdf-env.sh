#!/usr/bin/env bash
# OCRmyPDF in its own environment, for the small-job comparison (benchmarks/smalljob.py) only:
# never a dependency of .venv or of the tests. OCRmyPDF drives the system `tesseract` CLI
# (Debian's 5.3 with the jpn/eng data setup.sh installs) and Ghostscript (PDF rendering and
# PDF/A output); image input goes through img2pdf, a wheel it pulls in.
# Idempotent. Usage: scripts/ocrmypdf-env.sh   (then .ocrmypdf-venv/bin/ocrmypdf --version)
set -o errexit -o nounset -o pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

VERSION=${OCRMYPDF_VERSION:-17.13.0}
APT_PACKAGES=(ghostscript tesseract-ocr tesseract-ocr-jpn tesseract-ocr-eng)
apt_install_missing ocrmypdf-env "${APT_PACKAGES[@]}"
ensure_venv .ocrmypdf-venv
if ! .ocrmypdf-venv/bin/ocrmypdf --version 2>/dev/null | grep -qx "$VERSION"; then
  .ocrmypdf-venv/bin/python -m pip install -q "ocrmypdf==$VERSION"
fi
echo "ocrmypdf-env: ready (.ocrmypdf-venv/bin/ocrmypdf $(.ocrmypdf-venv/bin/ocrmypdf --version))"

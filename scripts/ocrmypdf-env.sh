#!/usr/bin/env bash
# OCRmyPDF in its own environment, for the small-job comparison (benchmarks/smalljob.py) only:
# never a dependency of .venv or of the tests. OCRmyPDF drives the system `tesseract` CLI
# (Debian's 5.3 with the jpn/eng data setup.sh installs) and Ghostscript (PDF rendering and
# PDF/A output); image input goes through img2pdf, a wheel it pulls in.
# Idempotent. Usage: scripts/ocrmypdf-env.sh   (then .ocrmypdf-venv/bin/ocrmypdf --version)
set -o errexit -o nounset -o pipefail
cd "$(dirname "$0")/.."

VERSION=${OCRMYPDF_VERSION:-17.13.0}
APT_PACKAGES=(ghostscript tesseract-ocr tesseract-ocr-jpn tesseract-ocr-eng)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "ocrmypdf-env: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .ocrmypdf-venv/bin/python ]; then
  "$PY" -m venv .ocrmypdf-venv
  .ocrmypdf-venv/bin/python -m pip install -q --upgrade pip
fi
if ! .ocrmypdf-venv/bin/ocrmypdf --version 2>/dev/null | grep -qx "$VERSION"; then
  .ocrmypdf-venv/bin/python -m pip install -q "ocrmypdf==$VERSION"
fi
echo "ocrmypdf-env: ready (.ocrmypdf-venv/bin/ocrmypdf $(.ocrmypdf-venv/bin/ocrmypdf --version))"

#!/usr/bin/env bash
# Installs what is missing on a fresh Debian machine (run as root): Tesseract with jpn+eng
# (and jpn_vert for vertical Japanese, osd for orientation),
# a CJK font for the sample pages, the offline infra checkers, and the Python package in .venv
# (checkov in .venv-checkov: it and python-hcl2 both ship a top-level `hcl2`).
# Idempotent: a second run installs nothing. Usage: scripts/setup.sh [--dev]
set -o errexit -o nounset -o pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

APT_PACKAGES=(tesseract-ocr tesseract-ocr-jpn tesseract-ocr-jpn-vert tesseract-ocr-eng tesseract-ocr-osd fonts-noto-cjk python3-venv)
DEV_APT_PACKAGES=(shellcheck packer systemd)
want=("${APT_PACKAGES[@]}")
[ "${1:-}" = "--dev" ] && want+=("${DEV_APT_PACKAGES[@]}")

apt_install_missing setup "${want[@]}"
ensure_venv .venv
extra="[local]"
[ "${1:-}" = "--dev" ] && extra="[dev]"
stamp=".venv/.installed-${extra//[^a-z]/}-$(sha1sum pyproject.toml | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q -e ".${extra}"
  touch "$stamp"
fi
if [ "${1:-}" = "--dev" ] && [ ! -x .venv-checkov/bin/checkov ]; then
  ensure_venv .venv-checkov
  .venv-checkov/bin/python -m pip install -q "checkov==3.3.30"
fi
echo "setup: ready (.venv with ocr-cluster${extra})"

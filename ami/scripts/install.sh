#!/usr/bin/env bash
# Install everything a node needs, on Amazon Linux 2023. Run by Packer, or by hand:
#   sudo BUILD_DIR=/tmp/ami-build ami/scripts/install.sh
# BUILD_DIR holds what Packer uploaded: dist/*.whl (the package), requirements.lock (the pinned
# Python dependencies, hashes included), cluster/ (units, bootstrap, agent config), docs/, and
# ami/scripts/ (this directory). Writes the version manifest to /opt/file-processor/MANIFEST.json.
# One step by hand: install.sh --step language_data (with DESTDIR=DIR: under DIR).
set -o errexit -o nounset -o pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD_DIR="${BUILD_DIR:-$(cd "$HERE/../.." && pwd)}"
# shellcheck source=ami/scripts/versions.env
source "${BUILD_DIR}/ami/scripts/versions.env"
# DESTDIR: install under another root (tests, and by hand: `install.sh --step language_data`).
readonly DESTDIR="${DESTDIR:-}"
readonly PREFIX=/opt/file-processor
readonly SYSTEMCTL="${SYSTEMCTL:-systemctl}"
readonly STEPS=(os_packages language_data service_user python_package cluster_files cloudwatch_agent manifest)
STEP=0

step() { STEP=$((STEP + 1)); echo "[${STEP}/${#STEPS[@]}] $*"; }

# fetch URL SHA256 DEST: download and verify; an empty pin stops the build with the digest to pin.
fetch() {
  local url="$1" sha="$2" dest="$3" got
  curl -fsSL --retry 3 -o "$dest.part" "$url"
  got="$(sha256sum "$dest.part" | cut -d' ' -f1)"
  if [[ -z "$sha" ]]; then
    rm -f "$dest.part"
    echo "install: no sha256 pinned for ${url}; it is ${got}: pin it in versions.env" >&2
    exit 1
  fi
  if [[ "$got" != "$sha" ]]; then
    rm -f "$dest.part"
    echo "install: sha256 mismatch for ${url}: ${got} != ${sha}" >&2
    exit 1
  fi
  mv -f "$dest.part" "$dest"
}

# The pinned digest of LANG's traineddata (TESSDATA_JPN_VERT_SHA256 for jpn_vert).
language_sha256() {
  local name="TESSDATA_${1^^}_SHA256"
  echo "${!name:-}"
}

os_packages() {
  step "OS updates and system packages (no engine build: the tesserocr wheel bundles Tesseract)"
  dnf -y upgrade --refresh
  # gcc and the Python headers only for a source distribution in the lock, never for the engine
  dnf -y install "${PYTHON}" "${PYTHON}-pip" "${PYTHON}-devel" gcc rsyslog logrotate amazon-cloudwatch-agent jq tar gzip
}

language_data() {
  step "Language data tessdata_fast ${TESSDATA_VERSION}: ${TESSDATA_LANGUAGES} -> ${TESSDATA_DIR}"
  local lang dir="${DESTDIR}${TESSDATA_DIR}"
  mkdir -p "$dir"
  for lang in $TESSDATA_LANGUAGES; do
    fetch "${TESSDATA_BASE_URL}/${lang}.traineddata" "$(language_sha256 "$lang")" "${dir}/${lang}.traineddata"
  done
  chmod 0644 "$dir"/*.traineddata
}

python_package() {
  step "Python venv and ocr-cluster (pinned; the engine is the tesserocr wheel)"
  local wheel
  wheel="$(ls "${BUILD_DIR}"/dist/ocr_cluster-*.whl)"
  "$PYTHON" -m venv "${PREFIX}/venv"
  "${PREFIX}/venv/bin/pip" install --no-cache-dir --require-hashes -r "${BUILD_DIR}/requirements.lock"
  "${PREFIX}/venv/bin/pip" install --no-cache-dir --no-deps "$wheel"
  ln -sf "${PREFIX}/venv/bin/ocr-cluster" /usr/local/bin/ocr-cluster
}

service_user() {
  step "Service user ocr"
  getent group ocr >/dev/null || groupadd --system ocr
  getent passwd ocr >/dev/null ||
    useradd --system --gid ocr --home-dir /var/lib/file-processor --shell /sbin/nologin ocr
  install -d -o ocr -g ocr -m 0750 /var/lib/file-processor
  install -d -m 0755 /etc/file-processor /var/log/file-processor
}

cluster_files() {
  step "systemd units, node bootstrap, ami checks (units installed disabled; bootstrap enables them)"
  local root="${DESTDIR}"
  install -d "${root}${PREFIX}/bin" "${root}${PREFIX}/ami" "${root}${PREFIX}/docs" \
    "${root}/etc/systemd/system" "${root}/etc/file-processor"
  install -m 0755 "${BUILD_DIR}/cluster/bin/ray-node" "${BUILD_DIR}/cluster/bin/node-bootstrap" "${root}${PREFIX}/bin/"
  install -m 0644 "${BUILD_DIR}"/cluster/systemd/*.service "${root}/etc/systemd/system/"
  install -m 0644 "${BUILD_DIR}/cluster/env.template" "${root}/etc/file-processor/env.template"
  install -m 0644 "${BUILD_DIR}/ami/scripts/cleanup-items.txt" "${BUILD_DIR}/ami/scripts/lib.sh" \
    "${BUILD_DIR}/ami/scripts/versions.env" "${root}${PREFIX}/ami/"
  install -m 0755 "${BUILD_DIR}/ami/scripts/validate.sh" "${root}${PREFIX}/ami/"
  install -m 0644 "${BUILD_DIR}/docs/nodes.md" "${root}${PREFIX}/docs/nodes.md"
  [[ -n "$root" ]] || "$SYSTEMCTL" daemon-reload
}

cloudwatch_agent() {
  step "CloudWatch agent (journal via rsyslog to /aws/ec2/file-processor; memory and disk metrics)"
  install -m 0644 "${BUILD_DIR}/cluster/rsyslog/30-file-processor.conf" /etc/rsyslog.d/
  install -m 0644 "${BUILD_DIR}/cluster/logrotate-file-processor" /etc/logrotate.d/file-processor
  install -m 0644 "${BUILD_DIR}/cluster/cloudwatch/amazon-cloudwatch-agent.json" \
    /opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json
  "$SYSTEMCTL" enable rsyslog.service amazon-cloudwatch-agent.service
}

# {"jpn.traineddata": sha256, ...} of the pinned language data.
tessdata_json() {
  local lang args=()
  for lang in $TESSDATA_LANGUAGES; do args+=(--arg "${lang}.traineddata" "$(language_sha256 "$lang")"); done
  jq -n "${args[@]}" '$ARGS.named'
}

manifest() {
  step "Version manifest"
  local engine pkgs
  engine="$("${PREFIX}/venv/bin/python" -c \
    'import tesserocr; print(tesserocr.tesseract_version().splitlines()[0])')"
  pkgs="$("${PREFIX}/venv/bin/pip" list --format=json)"
  jq -n --arg engine "$engine" --arg tessdata "$TESSDATA_VERSION" --arg tessdata_dir "$TESSDATA_DIR" \
    --argjson digests "$(tessdata_json)" \
    --arg python "$("${PREFIX}/venv/bin/python" --version)" --arg os "$(. /etc/os-release && echo "$PRETTY_NAME")" \
    --arg kernel "$(uname -r)" --argjson packages "$pkgs" \
    '{os: $os, kernel: $kernel, engine: $engine,
      tessdata: ({version: $tessdata, dir: $tessdata_dir} + $digests),
      python: $python, packages: $packages}' >"${PREFIX}/MANIFEST.json"
  cat "${PREFIX}/MANIFEST.json"
}

main() {
  if [[ "${1:-}" == --step ]]; then
    [[ " ${STEPS[*]} " == *" ${2:-} "* ]] || { echo "install: --step one of: ${STEPS[*]}" >&2; exit 2; }
    "$2"
    return
  fi
  [[ "$(id -u)" -eq 0 ]] || { echo "install: run as root" >&2; exit 1; }
  local name
  for name in "${STEPS[@]}"; do "$name"; done
}

main "$@"

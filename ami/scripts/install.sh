#!/usr/bin/env bash
# Install everything a node needs, on Amazon Linux 2023. Run by Packer, or by hand:
#   sudo BUILD_DIR=/tmp/ami-build ami/scripts/install.sh
# BUILD_DIR holds what Packer uploaded: dist/*.whl (the package), requirements.lock (the pinned
# Python dependencies, hashes included), cluster/ (units, bootstrap, agent config), docs/, and
# ami/scripts/ (this directory). Writes the version manifest to /opt/file-processor/MANIFEST.json.
set -o errexit -o nounset -o pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD_DIR="${BUILD_DIR:-$(cd "$HERE/../.." && pwd)}"
# shellcheck source=ami/scripts/versions.env
source "${BUILD_DIR}/ami/scripts/versions.env"
readonly PREFIX=/opt/file-processor
readonly SRC=/usr/local/src/file-processor
export PKG_CONFIG_PATH=/usr/local/lib/pkgconfig
STEP=0

step() { STEP=$((STEP + 1)); echo "[${STEP}/9] $*"; }

# fetch URL SHA256 DEST: download and verify; an empty pin stops the build with the digest to pin.
fetch() {
  local url="$1" sha="$2" dest="$3" got
  curl -fsSL --retry 3 -o "$dest" "$url"
  got="$(sha256sum "$dest" | cut -d' ' -f1)"
  if [[ -z "$sha" ]]; then
    echo "install: no sha256 pinned for ${url}; it is ${got}: pin it in versions.env" >&2
    exit 1
  fi
  [[ "$got" == "$sha" ]] || { echo "install: sha256 mismatch for ${url}: ${got} != ${sha}" >&2; exit 1; }
}

os_packages() {
  step "OS updates and system packages"
  dnf -y upgrade --refresh
  dnf -y install "${PYTHON}" "${PYTHON}-pip" "${PYTHON}-devel" gcc gcc-c++ make automake autoconf \
    libtool pkgconf-pkg-config libpng-devel libjpeg-turbo-devel libtiff-devel libwebp-devel zlib-devel \
    rsyslog logrotate amazon-cloudwatch-agent jq tar gzip
}

build_leptonica() {
  step "Leptonica ${LEPTONICA_VERSION} (from source)"
  mkdir -p "$SRC"
  fetch "$LEPTONICA_URL" "$LEPTONICA_SHA256" "$SRC/leptonica.tar.gz"
  tar -xzf "$SRC/leptonica.tar.gz" -C "$SRC"
  (cd "$SRC/leptonica-${LEPTONICA_VERSION}" && ./configure --prefix=/usr/local && make -j"$(nproc)" && make install)
}

build_tesseract() {
  step "Tesseract ${TESSERACT_VERSION} (from source)"
  fetch "$TESSERACT_URL" "$TESSERACT_SHA256" "$SRC/tesseract.tar.gz"
  tar -xzf "$SRC/tesseract.tar.gz" -C "$SRC"
  (
    cd "$SRC/tesseract-${TESSERACT_VERSION}"
    ./autogen.sh && ./configure --prefix=/usr/local --disable-openmp --disable-graphics
    make -j"$(nproc)" && make install
  )
  echo /usr/local/lib >/etc/ld.so.conf.d/usr-local.conf
  ldconfig
}

language_data() {
  step "Tesseract language data ${TESSDATA_VERSION}: jpn eng osd"
  mkdir -p "$TESSDATA_DIR"
  fetch "${TESSDATA_BASE_URL}/jpn.traineddata" "$TESSDATA_JPN_SHA256" "$TESSDATA_DIR/jpn.traineddata"
  fetch "${TESSDATA_BASE_URL}/eng.traineddata" "$TESSDATA_ENG_SHA256" "$TESSDATA_DIR/eng.traineddata"
  fetch "${TESSDATA_BASE_URL}/osd.traineddata" "$TESSDATA_OSD_SHA256" "$TESSDATA_DIR/osd.traineddata"
  echo "export TESSDATA_PREFIX=${TESSDATA_DIR}" >/etc/profile.d/tessdata.sh.tmp
  mv /etc/profile.d/tessdata.sh.tmp /etc/profile.d/tessdata.sh
}

python_package() {
  step "Python venv and ocr-cluster (pinned)"
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
  install -d "${PREFIX}/bin" "${PREFIX}/ami" "${PREFIX}/docs"
  install -m 0755 "${BUILD_DIR}/cluster/bin/ray-node" "${BUILD_DIR}/cluster/bin/node-bootstrap" "${PREFIX}/bin/"
  install -m 0644 "${BUILD_DIR}"/cluster/systemd/*.service /etc/systemd/system/
  install -m 0644 "${BUILD_DIR}/cluster/env.template" /etc/file-processor/env.template
  install -m 0644 "${BUILD_DIR}/ami/scripts/cleanup-items.txt" "${BUILD_DIR}/ami/scripts/lib.sh" "${PREFIX}/ami/"
  install -m 0755 "${BUILD_DIR}/ami/scripts/validate.sh" "${PREFIX}/ami/"
  install -m 0644 "${BUILD_DIR}/docs/nodes.md" "${PREFIX}/docs/nodes.md"
  systemctl daemon-reload
}

cloudwatch_agent() {
  step "CloudWatch agent (journal via rsyslog to /aws/ec2/file-processor; memory and disk metrics)"
  install -m 0644 "${BUILD_DIR}/cluster/rsyslog/30-file-processor.conf" /etc/rsyslog.d/
  install -m 0644 "${BUILD_DIR}/cluster/logrotate-file-processor" /etc/logrotate.d/file-processor
  install -m 0644 "${BUILD_DIR}/cluster/cloudwatch/amazon-cloudwatch-agent.json" \
    /opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json
  systemctl enable rsyslog.service amazon-cloudwatch-agent.service
}

manifest() {
  step "Version manifest"
  local tess pkgs
  tess="$(tesseract --version 2>&1 | head -1)"
  pkgs="$("${PREFIX}/venv/bin/pip" list --format=json)"
  jq -n --arg tesseract "$tess" --arg leptonica "$LEPTONICA_VERSION" \
    --arg tessdata "$TESSDATA_VERSION" --arg jpn "$TESSDATA_JPN_SHA256" --arg eng "$TESSDATA_ENG_SHA256" \
    --arg python "$("${PREFIX}/venv/bin/python" --version)" --arg os "$(. /etc/os-release && echo "$PRETTY_NAME")" \
    --arg kernel "$(uname -r)" --argjson packages "$pkgs" \
    '{os: $os, kernel: $kernel, tesseract: $tesseract, leptonica: $leptonica,
      tessdata: {version: $tessdata, "jpn.traineddata": $jpn, "eng.traineddata": $eng},
      python: $python, packages: $packages}' >"${PREFIX}/MANIFEST.json"
  cat "${PREFIX}/MANIFEST.json"
}

main() {
  [[ "$(id -u)" -eq 0 ]] || { echo "install: run as root" >&2; exit 1; }
  os_packages
  build_leptonica
  build_tesseract
  language_data
  service_user
  python_package
  cluster_files
  cloudwatch_agent
  manifest
  rm -rf "$SRC"
}

main "$@"

#!/usr/bin/env bash
# Assert the image is clean and works.
#   sudo ami/scripts/validate.sh                      (on the builder: files + live checks)
#   ami/scripts/validate.sh --root DIR [--files-only] (a scratch tree: file checks only)
#   ami/scripts/validate.sh --root DIR --live         (a scratch tree, live checks as on /)
# File checks: every item of cleanup-items.txt (the same list cleanup.sh removes). Live checks
# (when the root is / and --files-only is not given, or with --live): no AWS or queue variable
# in this process's environment; each language file of versions.env under its TESSDATA_DIR with
# its pinned sha256; `ocr-cluster validate --offline` as the service runs it (OCR_TESSDATA =
# TESSDATA_DIR, OMP_THREAD_LIMIT=1, as the service user when it exists). Prints one line per
# failure and exits 1 if there is any.
set -o errexit -o nounset -o pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Beside the script when run by hand; the installed copy when Packer uploads the script alone.
LIB="$HERE/lib.sh"
[[ -f "$LIB" ]] || LIB="${FP_AMI_LIB:-/opt/file-processor/ami}/lib.sh"
# shellcheck source=ami/scripts/lib.sh
source "$LIB"
# The image's pins and paths (installed beside lib.sh on the image).
VERSIONS="${FP_VERSIONS_ENV:-$(dirname "$LIB")/versions.env}"
# shellcheck source=ami/scripts/versions.env
source "$VERSIONS"

OCR_CLUSTER="${OCR_CLUSTER:-/opt/file-processor/venv/bin/ocr-cluster}"
FAILURES=0

fail() { echo "FAIL $*"; FAILURES=$((FAILURES + 1)); }
pass() { echo "ok   $*"; }

check_item() {
  local root="$1" kind="$2" glob="$3" pattern="$4" path found=0
  case "$kind" in
    absent)
      while IFS= read -r path; do
        [[ -n "$path" ]] || continue
        fail "leftover ${glob}: ${path#"${root%/}"}"
        found=1
      done < <(expand_glob "$root" "$glob")
      ;;
    empty)
      path="${root%/}${glob}"
      if [[ ! -e "$path" ]]; then fail "missing ${glob} (must exist and be empty)"; found=1
      elif [[ -s "$path" ]]; then fail "leftover ${glob}: not empty"; found=1
      fi
      ;;
    noenv)
      while IFS= read -r path; do
        [[ -f "$path" ]] || continue
        if grep -qE "$(env_assignment_regex "$pattern")" "$path"; then
          fail "leftover ${glob}: ${path#"${root%/}"} sets $(grep -oE "$(env_assignment_regex "$pattern")" "$path" | head -1)"
          found=1
        fi
      done < <(expand_glob "$root" "$glob")
      ;;
    *) fail "unknown kind '$kind' for $glob"; found=1 ;;
  esac
  [[ "$found" -eq 1 ]] || pass "${kind} ${glob}"
}

check_live_environment() {
  local name
  for name in AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN SQS_QUEUE_URL OPENSEARCH_ENDPOINT \
    OCR_QUEUE_URL OCR_DLQ_URL OCR_OPENSEARCH_URL OCR_OPENSEARCH_PASSWORD RAY_AUTH_TOKEN; do
    if [[ -n "${!name:-}" ]]; then fail "environment still sets ${name}"; else pass "environment: no ${name}"; fi
  done
}

# The pinned language data is where the service will look for it, byte for byte.
check_language_data() {
  local root="$1" lang name want got path
  for lang in $TESSDATA_LANGUAGES; do
    name="TESSDATA_${lang^^}_SHA256"
    want="${!name:-}"
    path="${root%/}${TESSDATA_DIR}/${lang}.traineddata"
    if [[ ! -f "$path" ]]; then fail "language data ${lang}: ${TESSDATA_DIR}/${lang}.traineddata missing"; continue; fi
    got="$(sha256sum "$path" | cut -d' ' -f1)"
    if [[ -n "$want" && "$got" == "$want" ]]; then pass "language data ${lang} (sha256 pinned)"
    else fail "language data ${lang}: sha256 ${got} != pinned '${want}'"
    fi
  done
}

# `ocr-cluster validate --offline` with the service's environment: the same OCR_TESSDATA the
# SSM parameter gives the nodes (Terraform reads it from versions.env), one engine thread.
check_ocr_cluster() {
  local root="$1" out
  local -a run_as=()
  if [[ "$root" == / ]] && id -u ocr >/dev/null 2>&1 && command -v runuser >/dev/null; then
    run_as=(runuser -u ocr --)
  fi
  if out="$(env OCR_TESSDATA="${root%/}${TESSDATA_DIR}" OMP_THREAD_LIMIT=1 "${run_as[@]}" "$OCR_CLUSTER" validate --offline 2>&1)"; then
    pass "ocr-cluster validate --offline (OCR_TESSDATA=${TESSDATA_DIR})"
  else
    fail "ocr-cluster validate --offline (OCR_TESSDATA=${TESSDATA_DIR}): ${out}"
  fi
}

main() {
  local root="/" files_only=0 live=0 items kind glob pattern arg
  root="$(parse_root "$@")"; root="${root:-/}"
  for arg in "$@"; do
    [[ "$arg" == --files-only ]] && files_only=1
    [[ "$arg" == --live ]] && live=1
  done
  [[ "$root" == / ]] && live=1
  [[ -d "$root" ]] || { echo "validate: no such root $root" >&2; exit 2; }
  items="$(items_file "$HERE")"
  while IFS=$'\t' read -r kind glob pattern; do
    check_item "$root" "$kind" "$glob" "$pattern"
  done < <(read_items "$items")
  if [[ "$live" -eq 1 && "$files_only" -eq 0 ]]; then
    check_live_environment
    check_language_data "$root"
    check_ocr_cluster "$root"
  else
    echo "skip live checks (root=${root}, files-only=${files_only})"
  fi
  if [[ "$FAILURES" -gt 0 ]]; then
    echo "validate: ${FAILURES} failure(s)"
    exit 1
  fi
  echo "validate: image clean"
}

main "$@"

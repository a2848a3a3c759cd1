#!/usr/bin/env bash
# Assert the image is clean and works.
#   sudo ami/scripts/validate.sh                      (on the builder: files + live checks)
#   ami/scripts/validate.sh --root DIR [--files-only] (a scratch tree: file checks only)
# File checks: every item of cleanup-items.txt (the same list cleanup.sh removes). Live checks
# (only when the root is / and --files-only is not given): no AWS or queue variable in this
# process's environment, `tesseract --list-langs` shows jpn and eng, `ocr-cluster validate
# --offline` passes. Prints one line per failure and exits 1 if there is any.
set -o errexit -o nounset -o pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Beside the script when run by hand; the installed copy when Packer uploads the script alone.
LIB="$HERE/lib.sh"
[[ -f "$LIB" ]] || LIB="${FP_AMI_LIB:-/opt/file-processor/ami}/lib.sh"
# shellcheck source=ami/scripts/lib.sh
source "$LIB"

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

check_tesseract() {
  local langs lang
  if ! langs="$(tesseract --list-langs 2>&1)"; then fail "tesseract --list-langs failed: ${langs}"; return; fi
  for lang in jpn eng; do
    if grep -qx "$lang" <<<"$langs"; then pass "tesseract has ${lang}"; else fail "tesseract lacks ${lang}"; fi
  done
}

check_ocr_cluster() {
  local out
  if out="$("$OCR_CLUSTER" validate --offline 2>&1)"; then
    pass "ocr-cluster validate --offline"
  else
    fail "ocr-cluster validate --offline: ${out}"
  fi
}

main() {
  local root="/" files_only=0 items kind glob pattern arg
  root="$(parse_root "$@")"; root="${root:-/}"
  for arg in "$@"; do [[ "$arg" == --files-only ]] && files_only=1; done
  [[ -d "$root" ]] || { echo "validate: no such root $root" >&2; exit 2; }
  items="$(items_file "$HERE")"
  while IFS=$'\t' read -r kind glob pattern; do
    check_item "$root" "$kind" "$glob" "$pattern"
  done < <(read_items "$items")
  if [[ "$root" == / && "$files_only" -eq 0 ]]; then
    check_live_environment
    check_tesseract
    check_ocr_cluster
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

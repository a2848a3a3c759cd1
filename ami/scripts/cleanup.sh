#!/usr/bin/env bash
# Remove from the image everything listed in cleanup-items.txt, and nothing else.
#   sudo ami/scripts/cleanup.sh --root /        (the Packer build; the root must be named)
#   ami/scripts/cleanup.sh --root /tmp/scratch  (a scratch tree, as CI does)
# validate.sh then asserts each item is gone.
set -o errexit -o nounset -o pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Beside the script when run by hand; the installed copy when Packer uploads the script alone.
LIB="$HERE/lib.sh"
[[ -f "$LIB" ]] || LIB="${FP_AMI_LIB:-/opt/file-processor/ami}/lib.sh"
# shellcheck source=ami/scripts/lib.sh
source "$LIB"

clean_item() {
  local root="$1" kind="$2" glob="$3" pattern="$4" path
  case "$kind" in
    absent)
      while IFS= read -r path; do
        [[ -n "$path" ]] && rm -rf -- "$path"
      done < <(expand_glob "$root" "$glob")
      ;;
    empty)
      mkdir -p "$(dirname "${root%/}${glob}")"
      : >"${root%/}${glob}"
      ;;
    noenv)
      while IFS= read -r path; do
        [[ -f "$path" ]] && sed -i -E "/$(env_assignment_regex "$pattern")/d" "$path"
      done < <(expand_glob "$root" "$glob")
      ;;
    *) echo "cleanup: unknown kind '$kind' for $glob" >&2; return 1 ;;
  esac
  echo "cleanup: ${kind} ${glob}"
}

main() {
  local root items kind glob pattern
  root="$(parse_root "$@")"
  [[ -n "$root" ]] || { echo "usage: cleanup.sh --root DIR  (name / explicitly on the image builder)" >&2; exit 2; }
  [[ -d "$root" ]] || { echo "cleanup: no such root $root" >&2; exit 2; }
  items="$(items_file "$HERE")"
  while IFS=$'\t' read -r kind glob pattern; do
    clean_item "$root" "$kind" "$glob" "$pattern"
  done < <(read_items "$items")
  if [[ "$root" == / ]]; then
    history -c || true
    sync
  fi
  echo "cleanup: done under $root"
}

main "$@"

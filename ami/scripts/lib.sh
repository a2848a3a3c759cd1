# Shared by cleanup.sh and validate.sh (sourced, not run): read cleanup-items.txt and expand
# its globs under an image root.
# shellcheck shell=bash

# The items file: $CLEANUP_ITEMS, else beside the script, else the installed copy.
items_file() {
  local here="$1"
  if [[ -n "${CLEANUP_ITEMS:-}" ]]; then
    echo "$CLEANUP_ITEMS"
  elif [[ -f "$here/cleanup-items.txt" ]]; then
    echo "$here/cleanup-items.txt"
  else
    echo "${FP_AMI_LIB:-/opt/file-processor/ami}/cleanup-items.txt"
  fi
}

# Items as "KIND<TAB>PATH<TAB>PATTERN" lines, comments and blanks dropped.
read_items() {
  local kind path pattern
  while read -r kind path pattern; do
    [[ -z "$kind" || "$kind" == \#* ]] && continue
    printf '%s\t%s\t%s\n' "$kind" "$path" "$pattern"
  done <"$1"
}

# Files under ROOT matching GLOB (dotfiles included), one per line.
expand_glob() {
  local root="$1" glob="$2"
  local -a matches
  local match
  (
    shopt -s dotglob nullglob
    # The glob must expand (items hold no spaces); the root is quoted.
    # shellcheck disable=SC2206
    matches=("${root%/}"$glob)
    for match in "${matches[@]}"; do
      # A glob without wildcards comes back as itself: keep only what exists.
      if [[ -e "$match" || -L "$match" ]]; then printf '%s\n' "$match"; fi
    done
  )
}

# ROOT from --root DIR (or $AMI_ROOT); prints it, fails on a missing directory.
parse_root() {
  local root="${AMI_ROOT:-}"
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --root) root="$2"; shift 2 ;;
      --root=*) root="${1#--root=}"; shift ;;
      *) shift ;;
    esac
  done
  echo "$root"
}

# The assignment pattern of a noenv item: optional export, the name, '='.
env_assignment_regex() {
  echo "^[[:space:]]*(export[[:space:]]+)?$1="
}

#!/usr/bin/env bash
# Shared by setup.sh and ocrmypdf-env.sh (sourced): Debian packages installed when missing, and a
# virtual environment made when absent.

# apt_install_missing TAG PACKAGE...: install those of the packages that are not installed.
apt_install_missing() {
  local tag=$1 p
  shift
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "$tag: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# ensure_venv DIR: a virtual environment at DIR (with a current pip) unless there is one.
ensure_venv() {
  if [ ! -x "$1/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$1"
    "$1/bin/python" -m pip install -q --upgrade pip
  fi
}

#!/usr/bin/env bash
# What `make site` and the browser check need, on top of scripts/setup.sh's venv:
# the pinned site tooling (requirements-site.txt) and Debian's chromium + fonts-noto-cjk (CJK glyphs).
set -euo pipefail
VENV=${1:-.venv}
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements-site.txt
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-noto-cjk)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing: ${missing[*]}; install them: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "installing ${missing[*]} (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

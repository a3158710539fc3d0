#!/usr/bin/env bash
# What the browser checks of `make test` need (`make site-check`, tests/integration/test_site_check.py and
# test_jupyterlab.py): Debian's chromium and fonts-noto-cjk (CJK glyphs), driven by Playwright
# (requirements-dev.txt). Installed with apt-get when missing and run as root; otherwise it says what to install.
set -euo pipefail
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

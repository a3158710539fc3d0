#!/usr/bin/env bash
# What `make site` needs on top of scripts/setup.sh's venv: the pinned site tooling (requirements-site.txt).
# Python packages only: no root, no browser. The browser check's Chromium: scripts/setup_browser.sh.
set -euo pipefail
VENV=${1:-.venv}
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements-site.txt

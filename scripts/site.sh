#!/usr/bin/env bash
# Build the website from the committed notebooks (never executed) into build/site/, warnings as errors;
# with --check, also open every page in headless Chromium (tools/check_site.py) and save screenshots.
set -euo pipefail
PY=${PY:-.venv/bin/python}
OUT=${SITE_DIR:-build/site}
start=$(date +%s)
rm -rf "$OUT"   # a fresh build: an incremental one would not repeat the warnings of unchanged pages
"$PY" -m sphinx -q -W --keep-going -b html -c docs . "$OUT"
echo "site built in $(( $(date +%s) - start )) s: $OUT/index.html (serve it: $PY -m http.server -d $OUT --bind 127.0.0.1)"
if [ "${1:-}" = "--check" ]; then
  rm -rf build/site-shots
  "$PY" tools/check_site.py "$OUT" --shots build/site-shots
  echo "site build + browser check: $(( $(date +%s) - start )) s"
fi

#!/usr/bin/env bash
# Lint, unit + integration tests (tests/unit, tests/integration), every notebook under nbval-lax in quick mode,
# then the checks: the website built and checked in a real browser (what `make site-check` runs), chapter 1 in
# JupyterLab in Chromium, and the Colab path; last, each part's time against the budget table. Called by
# `make test` and .ci/run.
set -uo pipefail
PY=${1:-.venv/bin/python}
export CI=true COURSE_MODE=quick MPLBACKEND=Agg TF_CPP_MIN_LOG_LEVEL=2
# Notebooks' own records go to a scratch folder so a test run never mixes into a course run.
export COURSE_BUILD_DIR=${COURSE_BUILD_DIR:-$(pwd)/build/test}
start=$(date +%s)
# lint first (seconds): ruff, pinned in requirements-dev.txt (installed by `make dev-setup`), configured in
# pyproject.toml
"$PY" -m ruff check course_utils tests tools research scripts
lint_rc=$?
# unit + integration tests two at a time (pytest-xdist; one file stays on one worker, so a module's fixtures run
# once): most of them are single-threaded Python, and two share 2 CPUs well. The JupyterLab check runs with the
# other checks below (the budget table gives them their own row).
"$PY" -m pytest -q -n 2 --dist loadfile --durations=15 --junitxml="$COURSE_BUILD_DIR/junit-tests.xml" \
  --ignore=tests/integration/test_jupyterlab.py tests
tests_rc=$?
# every notebook, one at a time: each trains on both CPUs, and its time is set against its chapter's row
"$PY" -m pytest -q --durations=7 --junitxml="$COURSE_BUILD_DIR/junit.xml" notebooks
rc=$?
# the website from the notebooks as committed, opened page by page in headless Chromium (tools/check_site.py);
# = make site-check
site_start=$(date +%s)
PY="$PY" bash scripts/site.sh --check
site_rc=$?
site_seconds=$(( $(date +%s) - site_start ))
# chapter 1 in JupyterLab in Chromium, on the course's kernel; then the notebooks' setup cell in a Colab-like
# runtime (fresh venv, fake google.colab, file:// clone)
"$PY" -m pytest -q -p no:cacheprovider -o addopts="" --junitxml="$COURSE_BUILD_DIR/junit-checks.xml" \
  tests/integration/test_jupyterlab.py tests/integration/colab_path_check.py
checks_rc=$?
wall=$(( $(date +%s) - start ))
echo "test wall time: $wall s"
# each part's time from the JUnit reports and the clock, and against the budget table's rows (printed, never
# asserted); records each passed notebook's quick-mode time
"$PY" -m tools.test_times "$COURSE_BUILD_DIR/junit.xml" "$COURSE_BUILD_DIR/junit-tests.xml" \
  "$COURSE_BUILD_DIR/junit-checks.xml" --site-seconds "$site_seconds" --wall-seconds "$wall" --record || true
# pytest exit 5 = nothing collected: not a failure of the course
[ "$rc" -eq 5 ] && rc=0
[ "$tests_rc" -eq 5 ] && tests_rc=0
[ "$rc" -eq 0 ] && rc=$tests_rc
[ "$rc" -eq 0 ] && rc=$site_rc
[ "$rc" -eq 0 ] && rc=$checks_rc
[ "$rc" -eq 0 ] && rc=$lint_rc
exit "$rc"

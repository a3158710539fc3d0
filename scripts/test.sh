#!/usr/bin/env bash
# Lint, unit + integration tests (tests/unit, tests/integration: chapter 1 in JupyterLab in Chromium among them),
# every notebook under nbval-lax in quick mode, then the website built and checked in a real browser (what
# `make site-check` runs), then the Colab path. Called by `make test` and .ci/run.
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
# once): most of them are single-threaded Python, and two share 2 CPUs well
"$PY" -m pytest -q -n 2 --dist loadfile --durations=15 --junitxml="$COURSE_BUILD_DIR/junit-tests.xml" tests
tests_rc=$?
# every notebook, one at a time: each trains on both CPUs, and its time is set against its chapter's row
"$PY" -m pytest -q --durations=7 --junitxml="$COURSE_BUILD_DIR/junit.xml" notebooks
rc=$?
# per-notebook times from the JUnit reports, and against the budget table's rows (printed, never asserted)
"$PY" -m tools.test_times "$COURSE_BUILD_DIR/junit.xml" "$COURSE_BUILD_DIR/junit-tests.xml" --record || true
# the website from the notebooks as committed, opened page by page in headless Chromium (tools/check_site.py);
# = make site-check
PY="$PY" bash scripts/site.sh --check
site_rc=$?
# the notebooks' setup cell in a Colab-like runtime (fresh venv, fake google.colab, file:// clone): ~50 s
"$PY" -m pytest -q -p no:cacheprovider -o addopts="" tests/integration/colab_path_check.py
colab_rc=$?
echo "test wall time: $(( $(date +%s) - start )) s"
# pytest exit 5 = nothing collected: not a failure of the course
[ "$rc" -eq 5 ] && rc=0
[ "$tests_rc" -eq 5 ] && tests_rc=0
[ "$rc" -eq 0 ] && rc=$tests_rc
[ "$rc" -eq 0 ] && rc=$site_rc
[ "$rc" -eq 0 ] && rc=$colab_rc
[ "$rc" -eq 0 ] && rc=$lint_rc
exit "$rc"

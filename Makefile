# The two commands of the README:
#   make course            set up, then run the whole course (full mode; MODE=quick for the short version)
#   make test              set up, then lint, unit + integration tests, every notebook under nbval in quick mode,
#                          then the website built and checked in headless Chromium (= .ci/run)
# and for maintainers:
#   make unit              the fast unit tests only (no MiniLM, no training; under a minute on 2 CPUs)
#   make site              the website, from the committed notebooks, into build/site/
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
MODE   ?= full
CHAPTERS ?=

.PHONY: setup dev-setup site-setup course test unit site results readme clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	bash scripts/setup.sh "$(PYTHON)" "$(VENV)"
	touch $@

# maintainer tools (ruff), requirements-dev.txt: installed before the tests, never during them
dev-setup: $(VENV)/.dev-installed

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

# site tooling (requirements-site.txt) and Debian chromium + fonts-noto-cjk when missing (apt-get, as root)
site-setup: setup
	bash scripts/setup_site.sh "$(VENV)"

course: setup
	$(PY) -m tools run --mode $(MODE) $(CHAPTERS)

test: setup dev-setup site-setup
	bash scripts/test.sh "$(PY)"

unit: dev-setup
	CI=true COURSE_MODE=quick MPLBACKEND=Agg TF_CPP_MIN_LOG_LEVEL=2 COURSE_BUILD_DIR=$(CURDIR)/build/unit \
		$(PY) -m pytest -q tests/unit

site: site-setup
	PY=$(PY) bash scripts/site.sh

results:
	$(PY) -m tools results

readme:
	$(PY) -m tools readme

clean:
	rm -rf build

# The README's commands. For learners:
#   make lab               set up, then open the course in JupyterLab (127.0.0.1, chapter 0, the course's kernel)
#   make site              the website, from the committed notebooks, into build/site/ (Python packages only)
#   make course            set up, then run the whole course (full mode; MODE=quick for the short version)
# and the test command (= .ci/run):
#   make test              set up, then lint, unit + integration tests, every notebook under nbval in quick mode,
#                          then `make site-check`, chapter 1 in JupyterLab in Chromium, and the Colab path
# for maintainers (CONTRIBUTING.md):
#   make unit              the fast unit tests only (no MiniLM, no training; under a minute on 2 CPUs)
#   make site-check        the website built, then every page opened in headless Chromium (needs browser-setup)
#   make browser-setup     Playwright, and Debian's chromium + fonts-noto-cjk (apt-get, as root) when missing
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
MODE   ?= full
CHAPTERS ?=
# `make lab`: the notebook it opens (the URL it prints opens it too), and more `jupyter lab` options (--port=8899)
LAB_OPEN ?= notebooks/00_start_here.ipynb
LAB_ARGS ?=

.PHONY: setup dev-setup lab-setup site-setup browser-setup lab course test unit site site-check results readme clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	bash scripts/setup.sh "$(PYTHON)" "$(VENV)"
	touch $@

# maintainer tools (ruff, Playwright), requirements-dev.txt: installed before the tests, never during them
dev-setup: $(VENV)/.dev-installed

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

# JupyterLab, pinned (requirements-lab.txt)
lab-setup: $(VENV)/.lab-installed

$(VENV)/.lab-installed: requirements-lab.txt $(VENV)/.installed
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-lab.txt
	touch $@

# site tooling (requirements-site.txt): Python packages only
site-setup: setup
	bash scripts/setup_site.sh "$(VENV)"

# the browser checks' Chromium: Debian chromium + fonts-noto-cjk when missing (apt-get, as root)
browser-setup: dev-setup
	bash scripts/setup_browser.sh

lab: lab-setup
	bash scripts/lab.sh "$(VENV)" --LabApp.default_url=/lab/tree/$(LAB_OPEN) $(LAB_ARGS)

course: setup
	$(PY) -m tools run --mode $(MODE) $(CHAPTERS)

test: setup dev-setup lab-setup site-setup browser-setup
	bash scripts/test.sh "$(PY)"

unit: dev-setup
	CI=true COURSE_MODE=quick MPLBACKEND=Agg TF_CPP_MIN_LOG_LEVEL=2 COURSE_BUILD_DIR=$(CURDIR)/build/unit \
		$(PY) -m pytest -q tests/unit

site: site-setup
	PY=$(PY) bash scripts/site.sh

site-check: site-setup browser-setup
	PY=$(PY) bash scripts/site.sh --check

results:
	$(PY) -m tools results

readme:
	$(PY) -m tools readme

clean:
	rm -rf build

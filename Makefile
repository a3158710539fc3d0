# The two commands of the README:
#   make course            set up, then run the whole course (full mode; MODE=quick for the short version)
#   make test              set up, then unit tests + every notebook under nbval in quick mode, then the website
#                          built and checked in headless Chromium (= .ci/run)
#   make site              the website, from the committed notebooks, into build/site/
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
MODE   ?= full
CHAPTERS ?=

.PHONY: setup site-setup course test site results readme clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	bash scripts/setup.sh "$(PYTHON)" "$(VENV)"
	touch $@

# site tooling (requirements-site.txt) and Debian chromium + fonts-noto-cjk when missing (apt-get, as root)
site-setup: setup
	bash scripts/setup_site.sh "$(VENV)"

course: setup
	$(PY) -m course_utils run --mode $(MODE) $(CHAPTERS)

test: setup site-setup
	bash scripts/test.sh "$(PY)"

site: site-setup
	PY=$(PY) bash scripts/site.sh

results:
	$(PY) -m course_utils results

readme:
	$(PY) -m course_utils readme

clean:
	rm -rf build

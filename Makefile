# The two commands of the README:
#   make course            set up, then run the whole course (full mode; MODE=quick for the short version)
#   make test              set up, then unit tests + every notebook under nbval in quick mode (= .ci/run)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
MODE   ?= full
CHAPTERS ?=

.PHONY: setup course test results readme clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	bash scripts/setup.sh "$(PYTHON)" "$(VENV)"
	touch $@

course: setup
	$(PY) -m course_utils run --mode $(MODE) $(CHAPTERS)

test: setup
	bash scripts/test.sh "$(PY)"

results:
	$(PY) -m course_utils results

readme:
	$(PY) -m course_utils readme

clean:
	rm -rf build

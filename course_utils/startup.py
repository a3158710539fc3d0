"""``setup()``: what every notebook's first cell runs (introduced in notebook 00).

It imports TensorFlow quietly, seeds, and prints the mode, versions, device, the code version, the chapter's
expected run time (from the recorded runs) and the date.
"""
import contextlib
import datetime as _dt
import os
import platform
import re
import sys
import warnings

from .config import MODES, get_mode, set_seed
from .fingerprint import code_fingerprint
from .machine import device, hardware, in_colab, is_gpu_hardware
from .versions import support_problem, version_mismatches


@contextlib.contextmanager
def _native_stderr_silenced():
    """Hide what C++ code writes to file descriptor 2 while the block runs (no Python setting reaches it)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def import_tensorflow_quietly():
    """``import tensorflow`` without its C++ start-up lines (oneDNN, CPU features, CUDA probing).

    The first import only: ``TF_CPP_MIN_LOG_LEVEL`` defaults to 2 (warnings and errors only; a value you set
    is kept), and file descriptor 2 is sent to /dev/null while TensorFlow loads and lists its devices. Once
    TensorFlow is imported this does nothing, so later errors always reach you. Called by :func:`setup`.
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with _native_stderr_silenced():
        import tensorflow as tf

        tf.config.list_physical_devices()  # probes CUDA once, quietly
    return tf


def _current_chapter():
    """The chapter number of the running notebook if the front end tells the kernel its path, else None.

    Jupyter (``JPY_SESSION_NAME``), VS Code (``__vsc_ipynb_file__``) and the course runner do; Colab does not.
    """
    names = [os.environ.get("JPY_SESSION_NAME", "")]
    try:
        ns = get_ipython().user_ns  # noqa: F821 (defined inside IPython only)
        names += [str(ns.get("__vsc_ipynb_file__", "")), str(ns.get("__session__", ""))]
    except NameError:
        pass
    for name in names:
        m = re.match(r"(\d\d)_", os.path.basename(name))
        if m:
            return str(int(m.group(1)))
    return None


def expected_times(gpu, entries=None):
    """``{mode: {chapter: (seconds, hardware)}}`` from the recorded ``notebook_seconds`` of runs on the same
    kind of device (GPU or CPU): ``results/recorded.json`` merged with this machine's
    ``build/results.json``."""
    from . import results

    if entries is None:
        entries = results.load(results.ROOT / "results" / "recorded.json") + results.load()
    out = {m: {} for m in MODES}
    for e in results.latest([e for e in entries if e.get("name") == results.NOTEBOOK_SECONDS
                             and is_gpu_hardware(e.get("hardware", "")) == gpu]):
        if e["mode"] in out:
            out[e["mode"]][e["chapter"]] = (e["value"], e["hardware"])
    return out


def _minutes(seconds):
    return f"{seconds / 60:.1f} min" if seconds < 600 else f"{seconds / 60:.0f} min"


def run_time_lines(mode, gpu, chapter=None, entries=None):
    """Lines for the setup output: the expected run time in each mode on this kind of device."""
    times = expected_times(gpu, entries)
    kind = "a GPU" if gpu else "a CPU"
    if gpu and not any(times.values()):   # no GPU run recorded yet: the CPU times are an upper bound
        times, kind = expected_times(False, entries), "a CPU (no GPU run recorded yet; a GPU is faster)"
    lines = []
    for m in (mode, *[x for x in MODES if x != mode]):
        rec = times[m]
        if chapter is not None:
            text = (f"about {_minutes(rec[chapter][0])} (recorded on {rec[chapter][1]})" if chapter in rec
                    else "no recorded run yet")
            lines.append(f"expected run time of this chapter in {m} mode on {kind}: {text}")
        else:
            ordered = sorted(rec.items(), key=lambda kv: int(kv[0]))
            chapters = ", ".join(f"ch{c} {_minutes(s)}" for c, (s, _) in ordered)
            hw = sorted({h for _, h in rec.values()})
            lines.append(f"expected run time per chapter in {m} mode on {kind}: "
                         + (f"{chapters} (recorded on {'; '.join(hw)})" if rec else "no recorded run yet"))
    return lines


def setup(seed=42, quiet=False):
    """Seed everything, then print mode, versions, device, code version (:mod:`course_utils.fingerprint`),
    expected run time and date; warn (one line) if versions differ from the pins.

    That is all it does: it imports TensorFlow (:func:`import_tensorflow_quietly`: without its C++ start-up
    log), seeds Python, NumPy and Keras (:func:`course_utils.config.set_seed`) and prints. It changes no
    library's behaviour; workarounds are explicit calls where a chapter needs them (:func:`no_autotune`).

    Returns the mode (``"quick"`` or ``"full"``).
    """
    tf = import_tensorflow_quietly()
    import keras
    import numpy as np

    set_seed(seed)
    mode = get_mode()
    dev = device()
    if not quiet:
        why = ""
        if not os.environ.get("COURSE_MODE", "").strip() and in_colab() and mode == "quick":
            why = "Colab without a GPU runs quick mode by default; "
        other = "full" if mode == "quick" else "quick"
        print(f"mode: {mode}   ({why}to switch: %env COURSE_MODE={other}, then run this cell again)")
        print(f"python {platform.python_version()}, tensorflow {tf.__version__}, keras {keras.__version__}, "
              f"numpy {np.__version__}")
        print(f"device: {dev}; hardware: {hardware()}")
        print(f"code version: {code_fingerprint()} (a hash of course_utils and the chapters' code cells)")
        for line in run_time_lines(mode, dev.startswith("GPU"), _current_chapter()):
            print(line)
        print(f"date: {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC, seed {seed}")
    problem = support_problem({"tensorflow": tf.__version__, "keras": keras.__version__})
    if problem:
        print(problem)
    mismatches = version_mismatches()
    if mismatches and not problem:
        listed = ", ".join(f"{pkg} {have} (tested: {want})" for pkg, (have, want) in mismatches.items())
        warnings.warn(f"versions differ from the tested pins: {listed}. Results may differ "
                      "(pip install -r requirements.txt).", stacklevel=2)
    return mode

"""Run the whole course: every notebook in order, then the table of recorded metrics.

    python -m tools run [--mode quick|full] [--inplace] [CHAPTER ...]

Notebooks execute with nbclient (kernel ``python3`` of the current environment) into
``build/notebooks/`` (or in place with ``--inplace``). The exit code is non-zero if any
notebook fails. Used by ``make course`` (README, command 1).
"""
import argparse
import datetime as _dt
import os
import re
import sys
import time
from pathlib import Path

from course_utils import results
from course_utils.config import ROOT


def find_notebooks(folder, chapters=None):
    """Notebooks named ``NN_*.ipynb`` in order; ``chapters`` (ints) selects some of them."""
    found = sorted(p for p in Path(folder).glob("[0-9][0-9]_*.ipynb"))
    if chapters:
        wanted = {int(c) for c in chapters}
        missing = wanted - {int(p.name[:2]) for p in found}
        if missing:
            raise SystemExit(f"no notebook for chapter(s) {sorted(missing)} in {folder}")
        found = [p for p in found if int(p.name[:2]) in wanted]
    return found


# TF's C++ runtime logs (e.g. "E0000 00:00:... use_unbounded_threadpool") are noise, not lesson output
_TF_LOG = re.compile(r"^[EWI]\d{4} \d\d:\d\d:[\d.]+ +\d+ \S+:\d+\] .*\n?", re.M)


def _strip_local_paths(nb):
    """Remove the local checkout path and TF C++ log lines from stored outputs (they are committed)."""
    root = str(ROOT)
    home = str(Path.home())
    for cell in nb.cells:
        if cell.cell_type != "code":   # markdown cells have no outputs (the key would make the file invalid)
            continue
        outs = cell.get("outputs", [])
        for out in outs:
            if out.get("name") == "stderr":
                out["text"] = _TF_LOG.sub("", out.get("text", ""))
        cell["outputs"] = outs = [o for o in outs if not (o.get("name") == "stderr" and not o["text"])]
        for out in outs:
            for key in ("text",):
                if key in out:
                    out[key] = out[key].replace(root, "<course>").replace(home, "~")
            data = out.get("data", {})
            if "text/plain" in data:
                data["text/plain"] = data["text/plain"].replace(root, "<course>").replace(home, "~")


def run_notebook(path, out_path, timeout=None, progress=None):
    """Execute one notebook; write it (with outputs) to ``out_path``. Raises on a failing cell."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(Path(path).parent)}})
    if progress is not None:
        started = {}
        client.on_cell_start = lambda cell, cell_index, **kw: started.update(t=time.time())

        def done(cell, cell_index, **kw):
            progress.update(1)
            seconds = time.time() - started.get("t", time.time())
            if seconds >= 30:   # a live trace of where a long run spends its time
                progress.write(f"  cell {cell_index}: {seconds:.0f} s")

        client.on_cell_executed = done
    try:
        client.execute()
    finally:
        _strip_local_paths(nb)
        Path(out_path).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out_path)
    return nb


def chapter_of(nb_path):
    """The chapter of a notebook named ``NN_*.ipynb``: ``"3"`` for ``03_cnn.ipynb``."""
    return str(int(Path(nb_path).name[:2]))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools run", description=__doc__.split("\n")[0])
    ap.add_argument("chapters", nargs="*", type=int, help="chapter numbers to run (default: all)")
    ap.add_argument("--mode", choices=["quick", "full"], default=None,
                    help="quick (CI) or full (default, unless COURSE_MODE/CI say otherwise)")
    ap.add_argument("--inplace", action="store_true", help="write outputs back into notebooks/")
    ap.add_argument("--notebooks", default=str(ROOT / "notebooks"), help=argparse.SUPPRESS)
    ap.add_argument("--timeout", type=int, default=None, help="per-cell timeout in seconds")
    a = ap.parse_args(argv)
    if a.mode:
        os.environ["COURSE_MODE"] = a.mode  # the kernels inherit it
    # The kernels inherit the environment: with a non-inline Matplotlib backend (MPLBACKEND=Agg, as test runs
    # set it) plt.show() draws nothing into the notebook, and the written outputs would have no figure.
    os.environ.pop("MPLBACKEND", None)
    from course_utils.config import get_mode

    mode = get_mode()
    notebooks = find_notebooks(a.notebooks, a.chapters)
    if not notebooks:
        print(f"no notebooks found in {a.notebooks}")
        return 1
    import nbformat
    from tqdm import tqdm

    n_cells = sum(sum(c.cell_type == "code" for c in nbformat.read(p, as_version=4).cells) for p in notebooks)
    started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    print(f"running {len(notebooks)} notebook(s) in {mode} mode")
    failed, times = [], {}
    with tqdm(total=n_cells, unit="cell", dynamic_ncols=True) as bar:
        for nb_path in notebooks:
            bar.set_description(nb_path.stem[:28])
            out = nb_path if a.inplace else results.build_dir() / "notebooks" / nb_path.name
            t0 = time.time()
            nb_started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
            os.environ["JPY_SESSION_NAME"] = str(nb_path)   # the kernel's cu.setup() names this chapter
            try:
                run_notebook(nb_path, out, timeout=a.timeout, progress=bar)
                status = "ok"
                # what each setup cell quotes as its expected run time (unless the notebook recorded its own)
                results.record_notebook_seconds(chapter_of(nb_path), time.time() - t0, since=nb_started)
            except Exception as exc:  # report and go on with the next chapter
                failed.append(nb_path.name)
                first = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().splitlines()
                status = "FAILED: " + (first[-1] if first else type(exc).__name__)
            times[nb_path.name] = time.time() - t0
            tqdm.write(f"{nb_path.name}: {status} ({times[nb_path.name]:.0f} s) -> {out}")
    entries = results.latest(results.load(), since=started)
    print("\nMetrics recorded in this run:")
    print(results.table(entries) if entries else "(none)")
    print(f"\ntotal {sum(times.values()) / 60:.1f} min; results in {results.results_path()}")
    if failed:
        print("FAILED notebooks: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0

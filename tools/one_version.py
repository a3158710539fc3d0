"""Check that the stored course is one version on one machine, and refresh the run times it quotes.

    python -m tools one-version [--pending CH ...]   # the check (the test command runs it through a test)

A stored chapter (``notebooks/NN_*.ipynb``) passes when
- its setup output names the current code version (:func:`course_utils.fingerprint.code_fingerprint`) and the
  same hardware as the other chapters' setup outputs and the full-mode records;
- no output says a run is "not recorded yet" / "no recorded run yet";
- every figure it draws is stored (:func:`figure_problems`);
- the full-mode run time its setup output quotes is within 10 % of the chapter's recorded
  ``notebook_seconds``.
The full-mode records of ``results/recorded.json`` (the README's tables) pass when each carries the current
code version and all name one hardware.

:func:`refresh_run_times` rewrites the "expected run time" lines of a stored setup output from the records, so
the times a chapter quotes are those of this version's run (``python -m tools record`` calls it after the
runs).
"""
import re
import sys
from pathlib import Path

import nbformat

from course_utils import results
from course_utils.config import ROOT
from course_utils.fingerprint import code_fingerprint
from course_utils.startup import expected_times, run_time_lines

from .sync_setup_cells import setup_cell

UNRECORDED = ("not recorded yet", "no recorded run yet")
TOLERANCE = 0.10
CODE_LINE = re.compile(r"^code version: ([0-9a-f]+)", re.M)
HARDWARE_LINE = re.compile(r"; hardware: (.+)$", re.M)
FULL_TIME = re.compile(r"^expected run time of this chapter in full mode on a CPU: about ([\d.]+) min", re.M)


def _text(output):
    """What an output shows as text (a stream, or a display's plain text and Markdown)."""
    data = output.get("data", {})
    return output.get("text", "") + data.get("text/plain", "") + data.get("text/markdown", "")


def setup_output(nb):
    """The text the setup cell (:func:`tools.sync_setup_cells.setup_cell`) printed; ``""`` if none.
    ``nb`` is an ``nbformat`` notebook."""
    cell = setup_cell(nb)
    return "" if cell is None else "".join(_text(o) for o in cell.get("outputs", []))


def notebook_problems(nb, name, fingerprint, seconds=None):
    """What is wrong with one stored notebook: a list of lines (empty: it passes).

    ``seconds``: the chapter's recorded full-mode ``notebook_seconds`` (``None``: not checked)."""
    problems = []
    out = setup_output(nb)
    code = CODE_LINE.search(out)
    if not code:
        problems.append(f"{name}: the setup output names no code version (run the chapter again)")
    elif code.group(1) != fingerprint:
        problems.append(f"{name}: stored outputs come from code version {code.group(1)}, the code is now "
                        f"{fingerprint} (run the chapter again)")
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            for phrase in UNRECORDED:
                if phrase in _text(output):
                    problems.append(f"{name}: an output says {phrase!r}")
    problems += figure_problems(nb, name)
    quoted = FULL_TIME.search(out)
    if seconds is not None and quoted:
        minutes = float(quoted.group(1))
        # the line rounds to 0.1 min (1 min from 10 min on): allow that on top of the 10 %
        slack = TOLERANCE * seconds / 60 + (0.5 if minutes >= 10 else 0.05)
        if abs(minutes - seconds / 60) > slack:
            problems.append(f"{name}: the setup output quotes about {minutes} min in full mode, the record "
                            f"says {seconds / 60:.1f} min")
    return problems


def _has_image(cell):
    return any(key.startswith("image/") for o in cell.get("outputs", []) for key in o.get("data", {}))


def figure_problems(nb, name):
    """Figures missing from stored outputs: a cell that calls ``plt.show()`` with no image among its outputs,
    or a notebook that plots and stores no image at all. A kernel run with a non-inline Matplotlib backend
    (``MPLBACKEND=Agg``) draws nothing into the notebook, and its stored outputs lose every figure."""
    code = {i: c for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"}
    problems = [f"{name}: cell {i} calls plt.show() but stores no figure"
                for i, c in code.items() if "plt.show()" in c["source"] and not _has_image(c)]
    plots = any(re.search(r"\b(plt|plots)\.", c["source"]) for c in code.values())
    if not problems and plots and not any(_has_image(c) for c in code.values()):
        problems.append(f"{name}: the notebook plots but stores no figure")
    return problems


def hardware_of(nb):
    found = HARDWARE_LINE.search(setup_output(nb))
    return found.group(1).strip() if found else None


def record_problems(entries, fingerprint):
    """Full-mode records that are not of this code version, or not all of one hardware."""
    full = [e for e in entries if e.get("mode") == "full"]
    problems = [f"record {e['chapter']}/{e['name']}: code version {e.get('code') or 'missing'}, "
                f"not {fingerprint}" for e in full if e.get("code") != fingerprint]
    machines = sorted({e["hardware"] for e in full})
    if len(machines) > 1:
        problems.append("full-mode records come from several machines: " + "; ".join(machines))
    return problems


def check(notebook_dir=ROOT / "notebooks", store=ROOT / "results" / "recorded.json", fingerprint=None,
          pending=()):
    """All problems of the stored course, chapters in ``pending`` (``"3"``) left out; records of pending
    chapters too."""
    fingerprint = fingerprint or code_fingerprint()
    entries = results.load(store)
    seconds = {chapter: value for chapter, (value, _) in expected_times(False, entries)["full"].items()}
    problems, machines = [], {}
    for path in sorted(Path(notebook_dir).glob("[0-9][0-9]_*.ipynb")):
        chapter = str(int(path.name[:2]))
        if chapter in pending:
            continue
        nb = nbformat.read(path, as_version=4)
        problems += notebook_problems(nb, path.name, fingerprint, seconds.get(chapter))
        machines[path.name] = hardware_of(nb)
    problems += record_problems([e for e in entries if e["chapter"] not in pending], fingerprint)
    full_machines = {e["hardware"] for e in entries if e["mode"] == "full" and e["chapter"] not in pending}
    if len(set(machines.values()) | full_machines) > 1:
        problems.append("stored outputs and records name several machines: "
                        + "; ".join(f"{k}: {v}" for k, v in sorted(machines.items())))
    return problems


def refresh_run_times(nb, chapter, entries):
    """Rewrite the "expected run time" lines of ``nb``'s stored setup output from ``entries`` (in place);
    return whether anything changed."""
    cell = setup_cell(nb)
    if cell is None:
        return False
    changed = False
    for output in cell.get("outputs", []):
        if "text" not in output:
            continue
        text = _text(output)
        mode = re.search(r"^mode: (\w+)", text, re.M)
        if not mode or "expected run time" not in text:
            continue
        new_lines = iter(run_time_lines(mode.group(1), False, chapter, entries))
        rewritten = "\n".join(next(new_lines) if line.startswith("expected run time") else line
                              for line in text.split("\n"))
        if rewritten != text:
            output["text"], changed = rewritten, True
    return changed


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    pending = set(argv[argv.index("--pending") + 1:]) if "--pending" in argv else set()
    problems = check(pending=pending)
    for p in problems:
        print(p)
    print(f"{len(problems)} problem(s); code version {code_fingerprint()}")
    return 1 if problems else 0

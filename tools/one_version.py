"""Check that the stored course is one version on one machine, and refresh the run times it quotes.

    python -m tools one-version [--pending CH ...]   # the check (the test command runs it through a test)

A stored chapter (``notebooks/NN_*.ipynb``) passes when
- its setup output names the current code version (:func:`course_utils.fingerprint.code_fingerprint`) and the
  same hardware as the other chapters' setup outputs and the full-mode records;
- no output says a run is "not recorded yet" / "no recorded run yet";
- every figure it draws is stored (:func:`figure_problems`);
- the run times its setup output quotes (full and quick mode) are within 10 % of the chapter's recorded
  ``notebook_seconds`` in that mode;
- a chapter table (notebook 00's: chapter, quick mode, full mode) shows each chapter's recorded run times as
  the notebook prints them (:func:`duration`) and names one machine.
The records of ``results/recorded.json`` (the README's tables, both modes) pass when each carries the current
code version and all name one hardware.

:func:`refresh` rewrites the run times a stored notebook quotes (its setup output, a chapter table) from the
records, so that the times the course quotes are those of this version's runs: chapter 0 runs before the
others' quick-mode times are recorded and before its own run ends (``python -m tools readme`` calls it after
merging new records, and ``python -m tools record`` calls that).
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
TIME_LINE = re.compile(
    r"^expected run time of this chapter in (full|quick) mode on a CPU: about ([\d.]+) min", re.M)
TABLE_HEAD = "| # | notebook | what you build | quick mode | full mode |"
MACHINES_LINE = re.compile(r"^recorded on: (.*)$", re.M)


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

    ``seconds``: the chapter's recorded ``notebook_seconds`` by mode, ``{"full": 1693.4, "quick": 150.2}``
    (a mode left out, or ``None``: not checked)."""
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
    for mode, quoted in TIME_LINE.findall(out):
        recorded = (seconds or {}).get(mode)
        if recorded is None:
            continue
        minutes = float(quoted)
        # the line rounds to 0.1 min (1 min from 10 min on): allow that on top of the 10 %
        slack = TOLERANCE * recorded / 60 + (0.5 if minutes >= 10 else 0.05)
        if abs(minutes - recorded / 60) > slack:
            problems.append(f"{name}: the setup output quotes about {minutes} min in {mode} mode, the record "
                            f"says {recorded / 60:.1f} min")
    return problems


def duration(seconds):
    """A run time as notebook 00's chapter table prints it (the notebook's own ``duration``)."""
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def _table_rows(markdown):
    """``(line index, chapter, quick, full)`` of each body row of a chapter table."""
    for i, line in enumerate(markdown.split("\n")):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and cells[0].isdigit() and len(cells) >= 3:
            yield i, cells[0], cells[-2], cells[-1]


def _table_cells(nb):
    """The code cells whose outputs hold a chapter table (notebook 00's)."""
    return [c for c in nb["cells"] if c["cell_type"] == "code"
            and any(TABLE_HEAD in o.get("data", {}).get("text/markdown", "") for o in c.get("outputs", []))]


def table_problems(nb, name, entries, skip=()):
    """A chapter table's run times that differ from the records (:func:`duration` of each chapter's
    ``notebook_seconds`` in each mode; chapters in ``skip`` left out), and a "recorded on" line that names
    other than one machine."""
    times = expected_times(False, entries)
    problems = []
    for cell in _table_cells(nb):
        for output in cell["outputs"]:
            for _, chapter, *shown in _table_rows(output.get("data", {}).get("text/markdown", "")):
                if chapter in skip:
                    continue
                for mode, text in zip(("quick", "full"), shown):
                    rec = times[mode].get(chapter)
                    want = duration(rec[0]) if rec else None
                    if text != want:
                        problems.append(f"{name}: the chapter table shows {text!r} for chapter {chapter} in "
                                        f"{mode} mode, the record says {want or 'nothing'}")
            found = MACHINES_LINE.search(output.get("text", ""))
            if found and len(found.group(1).split("; ")) != 1:
                problems.append(f"{name}: the chapter table names several machines: {found.group(1)}")
    return problems


def refresh_table(nb, entries):
    """Rewrite a chapter table's run times and its "recorded on" line from ``entries`` (in place); return
    whether anything changed. Chapter 0 prints its table before its own run ends and before the quick-mode
    runs of the same version are recorded: the numbers are put right after those runs."""
    times = expected_times(False, entries)
    machines = "; ".join(sorted({hw for mode in times.values() for _, hw in mode.values()}))
    changed = False
    for cell in _table_cells(nb):
        for output in cell["outputs"]:
            markdown = output.get("data", {}).get("text/markdown")
            if markdown is not None:
                lines = markdown.split("\n")
                for i, chapter, *_ in _table_rows(markdown):
                    cells = lines[i].strip().strip("|").split("|")
                    for k, mode in ((-2, "quick"), (-1, "full")):
                        if chapter in times[mode]:
                            cells[k] = f" {duration(times[mode][chapter][0])} "
                    lines[i] = "|" + "|".join(cells) + "|"
                new = "\n".join(lines)
                if new != markdown:
                    output["data"]["text/markdown"], changed = new, True
            text = output.get("text")
            if text and MACHINES_LINE.search(text) and machines:
                new = MACHINES_LINE.sub(f"recorded on: {machines}", text)
                if new != text:
                    output["text"], changed = new, True
    return changed


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
    """Records (either mode) that are not of this code version, or not all of one hardware."""
    problems = [f"record {e['chapter']}/{e['name']} ({e.get('mode')} mode): code version "
                f"{e.get('code') or 'missing'}, not {fingerprint}"
                for e in entries if e.get("code") != fingerprint]
    machines = sorted({e["hardware"] for e in entries})
    if len(machines) > 1:
        problems.append("records come from several machines: " + "; ".join(machines))
    return problems


def check(notebook_dir=ROOT / "notebooks", store=ROOT / "results" / "recorded.json", fingerprint=None,
          pending=()):
    """All problems of the stored course, chapters in ``pending`` (``"3"``) left out; records of pending
    chapters too."""
    fingerprint = fingerprint or code_fingerprint()
    entries = results.load(store)
    seconds = {}                                   # chapter -> {mode: recorded seconds}
    for mode, by_chapter in expected_times(False, entries).items():
        for chapter, (value, _) in by_chapter.items():
            seconds.setdefault(chapter, {})[mode] = value
    problems, machines = [], {}
    for path in sorted(Path(notebook_dir).glob("[0-9][0-9]_*.ipynb")):
        chapter = str(int(path.name[:2]))
        if chapter in pending:
            continue
        nb = nbformat.read(path, as_version=4)
        problems += notebook_problems(nb, path.name, fingerprint, seconds.get(chapter))
        problems += table_problems(nb, path.name, entries, skip=pending)
        machines[path.name] = hardware_of(nb)
    problems += record_problems([e for e in entries if e["chapter"] not in pending], fingerprint)
    record_machines = {e["hardware"] for e in entries if e["chapter"] not in pending}
    if len(set(machines.values()) | record_machines) > 1:
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


def refresh(nb, chapter, entries):
    """:func:`refresh_run_times` and :func:`refresh_table`: whether anything changed."""
    return refresh_run_times(nb, chapter, entries) | refresh_table(nb, entries)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    pending = set(argv[argv.index("--pending") + 1:]) if "--pending" in argv else set()
    problems = check(pending=pending)
    for p in problems:
        print(p)
    print(f"{len(problems)} problem(s); code version {code_fingerprint()}")
    return 1 if problems else 0

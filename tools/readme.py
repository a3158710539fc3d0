"""Keep the README's results table generated, never typed (maintainers; see notebook 00).

``python -m tools readme`` merges the newest records of ``build/results.json`` (course runs)
and ``build/test/results.json`` (the quick-mode runs of ``make test``) into the committed
``results/recorded.json`` (newest per chapter, metric, mode and hardware kind) and rewrites the README between
the ``results:start`` / ``results:end`` markers from it: one table per mode and kind. Then the run times the
stored notebooks quote (setup outputs, notebook 00's chapter table) are rewritten from the same records
(:func:`refresh_notebooks`). The kind is CPU-only or
GPU (:func:`course_utils.results.hardware_kind`): a GPU run never replaces a CPU row, it gets its own table;
CPUs with different vector extensions (AVX2, AVX-512) are one kind, the newest record wins. Once a chapter has
a complete run in a mode on a kind (its ``notebook_seconds`` entry, recorded last), the entries of that
chapter, mode and kind from the complete runs before it are dropped: a metric the chapter no longer computes
does not linger.
"""
import datetime as _dt
import json

from course_utils import results
from course_utils.config import ROOT
from course_utils.startup import _minutes  # the setup cell's rounding of run times: the README quotes alike

START, END = "<!-- results:start -->", "<!-- results:end -->"


def _time(entry):
    return _dt.datetime.fromisoformat(entry["date"])


KINDS = ("CPU", "GPU")


def merge(recorded, new):
    """Newest entry per (chapter, name, mode, hardware kind) across both lists, less what the newest complete
    run of a chapter in a mode on a kind left behind: entries of that chapter, mode and kind dated up to the
    end of the complete run before it (the second-newest ``notebook_seconds`` among both lists)."""
    everything = list(recorded) + list(new)
    ends = {}
    for e in everything:
        if e["name"] == results.NOTEBOOK_SECONDS:
            ends.setdefault((e["chapter"], e["mode"], results.hardware_kind(e)), set()).add(_time(e))
    previous_end = {key: sorted(times)[-2] for key, times in ends.items() if len(times) > 1}

    def stale(e):
        key = (e["chapter"], e["mode"], results.hardware_kind(e))
        return key in previous_end and _time(e) <= previous_end[key]

    kept = [e for kind in KINDS
            for e in results.latest([e for e in everything if results.hardware_kind(e) == kind])]
    return sorted((e for e in kept if not stale(e)),
                  key=lambda e: (e["chapter"], e["mode"], KINDS.index(results.hardware_kind(e)), e["name"]))


MODE_TITLES = {"full": "Full mode (the default a learner runs)", "quick": "Quick mode (CI, `make test`)"}
GPU_TITLES = {"full": "Full mode on a GPU", "quick": "Quick mode on a GPU"}


def run_summary(entries, mode="full"):
    """A paragraph on the recorded run in ``mode`` on a CPU: per-chapter and total time, machines, dates, code
    versions (all from the ``notebook_seconds`` records), and the times against the budget table's rows
    (:mod:`tools.budgets`); ``""`` without any."""
    from . import budgets

    runs = sorted((e for e in entries if e["name"] == results.NOTEBOOK_SECONDS and e["mode"] == mode
                   and results.hardware_kind(e) == "CPU"),
                  key=lambda e: int(e["chapter"]))
    if not runs:
        return ""
    machines = sorted({e["hardware"] for e in runs})
    days = sorted({e["date"][:10] for e in runs})
    codes = sorted({e.get("code") or "unrecorded" for e in runs})
    if mode == "full":
        per_chapter = ", ".join(f"ch{e['chapter']} {_minutes(e['value'])}" for e in runs)
        total = _minutes(sum(e["value"] for e in runs))
        head = (f"**The recorded full-mode run** on a CPU: {total} for chapters "
                f"{runs[0]['chapter']}–{runs[-1]['chapter']} ({per_chapter})")
    else:
        per_chapter = ", ".join(f"ch{e['chapter']} {e['value']:.0f} s" for e in runs)
        head = ("**The recorded quick-mode runs** on a CPU, each notebook under nbval as the test command "
                f"runs it: {per_chapter}")
    text = (f"{head}; on {'; '.join(machines)}; "
            f"recorded {' to '.join([days[0], days[-1]] if len(days) > 1 else days)}; "
            f"code version{'s' if len(codes) > 1 else ''} {', '.join(codes)}.")
    if len(machines) == 1:
        against = budgets.compare({e["chapter"]: e["value"] for e in runs}, mode, machines[0])
        if against:
            text += (f" Against the {budgets.vector_extension(machines[0])} rows of the budget table "
                     f"(`tools/budgets.py`): {'; '.join(against)}.")
    return text


def render(entries):
    """Summaries of the full-mode run and the quick-mode runs (:func:`run_summary`), then one Markdown table
    per mode (full first) and hardware kind: the CPU rows under the mode's title, a GPU run's rows in a table
    of their own after it ("Full mode on a GPU")."""
    if not entries:
        return "_No recorded runs yet._"
    parts = [p for summary in (run_summary(entries), run_summary(entries, "quick")) if summary
             for p in (summary, "")]
    for mode in ("full", "quick"):
        for kind, titles in zip(KINDS, (MODE_TITLES, GPU_TITLES)):
            rows = [e for e in entries if e["mode"] == mode and results.hardware_kind(e) == kind]
            if rows:
                parts += [f"### {titles[mode]}", "", results.table(rows, markdown=True), ""]
    return "\n".join(parts).rstrip()


def update_text(text, table):
    if START not in text or END not in text:
        raise ValueError(f"README has no {START} ... {END} markers")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}\n{END}{tail}"


def main(argv=None):
    store = ROOT / "results" / "recorded.json"
    recorded = json.loads(store.read_text()) if store.exists() else []
    candidates = (ROOT / "build" / "results.json", ROOT / "build" / "test" / "results.json")
    sources = [p for p in candidates if p.exists()]
    entries = merge(recorded, [e for p in sources for e in results.load(p)])
    store.parent.mkdir(exist_ok=True)
    store.write_text(json.dumps(entries, indent=1) + "\n")
    readme = ROOT / "README.md"
    readme.write_text(update_text(readme.read_text(), render(entries)))
    refreshed = refresh_notebooks(entries)
    print(f"{len(entries)} results -> {store.relative_to(ROOT)} and README.md"
          + (f"; run times rewritten in {', '.join(refreshed)}" if refreshed else ""))
    return 0


def refresh_notebooks(entries, notebook_dir=ROOT / "notebooks"):
    """Rewrite the run times the stored notebooks quote (setup outputs, notebook 00's chapter table) from
    ``entries`` (:func:`tools.one_version.refresh`); return the names of the notebooks changed."""
    import nbformat

    from .one_version import refresh

    changed = []
    for path in sorted(notebook_dir.glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if refresh(nb, str(int(path.name[:2])), entries):
            nbformat.write(nb, path)
            changed.append(path.name)
    return changed

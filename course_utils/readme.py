"""Keep the README's results table generated, never typed (maintainers; see notebook 00).

``python -m course_utils readme`` merges the newest records of ``build/results.json`` into the
committed ``results/recorded.json`` (newest per chapter, metric and mode) and rewrites the README
between the ``results:start`` / ``results:end`` markers from it.
"""
import json
from pathlib import Path

from . import results

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- results:start -->", "<!-- results:end -->"


def merge(recorded, new):
    """Newest entry per (chapter, name, mode) across both lists."""
    return results.latest(list(recorded) + list(new))


def render(entries):
    if not entries:
        return "_No recorded runs yet._"
    return results.table(entries, markdown=True)


def update_text(text, table):
    if START not in text or END not in text:
        raise ValueError(f"README has no {START} ... {END} markers")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}\n{END}{tail}"


def main(argv=None):
    store = ROOT / "results" / "recorded.json"
    recorded = json.loads(store.read_text()) if store.exists() else []
    entries = merge(recorded, results.load())
    store.parent.mkdir(exist_ok=True)
    store.write_text(json.dumps(entries, indent=1) + "\n")
    readme = ROOT / "README.md"
    readme.write_text(update_text(readme.read_text(), render(entries)))
    print(f"{len(entries)} results -> {store.relative_to(ROOT)} and README.md")
    return 0

"""Write the one setup cell and the "Open in Colab" badge into every chapter (idempotent; re-run any time).

    python tools/sync_setup_cells.py [--check] [NOTEBOOK ...]

- The setup cell (the code cell whose first line starts with ``# Setup:``) becomes ``scripts/setup_cell.py``
  with the repository URL of ``pyproject.toml`` ``[project.urls] Repository`` filled in, and gets the tag
  ``hide-input`` (folded on the website, shown as usual in Jupyter and Colab). Its outputs are kept. If it
  comes before the title cell, it moves to right after it (the lesson standard: title first, then setup).
- The title cell (the first markdown cell starting with ``# ``) gets, on the line after its heading, the
  badge :func:`badge` gives (an existing badge line is replaced).
- Without NOTEBOOK arguments, the README's chapter table gets the same badge after each notebook link.
Only those two cells change; a notebook already in sync is not rewritten. ``--check`` writes nothing and
exits 1 if any notebook would change. Default: every ``notebooks/NN_*.ipynb``.
"""
import re
import sys
from pathlib import Path

import nbformat
import tomllib

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "scripts" / "setup_cell.py"
SETUP_MARK = "# Setup:"
FOLD_TAG = "hide-input"
BADGE_IMG = "https://colab.research.google.com/assets/colab-badge.svg"
BRANCH = "main"


def repo_url():
    """The repository URL, written once in pyproject.toml."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["urls"]["Repository"].rstrip("/")


def setup_source(url=None):
    return TEMPLATE.read_text().replace("@REPO_URL@", url or repo_url()).rstrip("\n")


def colab_url(notebook, url=None):
    """``https://colab.research.google.com/github/OWNER/REPO/blob/main/notebooks/NAME.ipynb``."""
    owner_repo = re.sub(r"^https://github\.com/", "", url or repo_url())
    return f"https://colab.research.google.com/github/{owner_repo}/blob/{BRANCH}/notebooks/{Path(notebook).name}"


def badge(notebook, url=None):
    """The Markdown badge line for one notebook (the same text goes into the README's chapter table)."""
    return f"[![Open In Colab]({BADGE_IMG})]({colab_url(notebook, url)})"


def setup_cell(nb):
    return next((c for c in nb.cells if c.cell_type == "code" and c.source.startswith(SETUP_MARK)), None)


def title_cell(nb):
    return next((c for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("# ")), None)


def sync(nb, name, url=None):
    """Bring one notebook's setup and title cells in line; return the list of problems (empty: done)."""
    problems = []
    cell = setup_cell(nb)
    if cell is None:
        problems.append(f"{name}: no setup cell (a code cell starting with {SETUP_MARK!r})")
    else:
        cell.source = setup_source(url)
        tags = cell.metadata.setdefault("tags", [])
        if FOLD_TAG not in tags:
            tags.append(FOLD_TAG)
    title = title_cell(nb)
    if title is None:
        problems.append(f"{name}: no title cell (a markdown cell starting with '# ')")
    else:
        if cell is not None and nb.cells.index(cell) < nb.cells.index(title):   # TEACHING.md: title first
            nb.cells.remove(cell)
            nb.cells.insert(nb.cells.index(title) + 1, cell)
        lines = title.source.split("\n")
        rest = [line for line in lines[1:] if BADGE_IMG not in line]
        title.source = "\n".join([lines[0], badge(name, url)] + rest)
    return problems


README_LINK = re.compile(r"\[(\d\d_\w+)\]\(notebooks/\1\.ipynb\)"
                         r"(?: \[!\[Open In Colab\]\([^)]*\)\]\([^)]*\))?")


def sync_readme(text, url=None):
    """The README with a badge after each chapter link of its chapter table
    (``[NN_name](notebooks/NN_name.ipynb)``)."""
    return README_LINK.sub(lambda m: f"{m.group(0).split(' ')[0]} {badge(m.group(1) + '.ipynb', url)}", text)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    check = "--check" in argv
    paths = ([Path(a) for a in argv if not a.startswith("--")]
             or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
    changed, problems = [], []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        before = nbformat.writes(nb)
        problems += sync(nb, path.name)
        if nbformat.writes(nb) != before:
            changed.append(path.name)
            if not check:
                nbformat.write(nb, path)
    if not any(not a.startswith("--") for a in argv):   # the default run also syncs the README's badges
        readme = ROOT / "README.md"
        text = readme.read_text()
        if sync_readme(text) != text:
            changed.append("README.md")
            if not check:
                readme.write_text(sync_readme(text))
    for p in problems:
        print("problem:", p, file=sys.stderr)
    verb = "would change" if check else "changed"
    print(f"{verb}: {', '.join(changed) or 'nothing'}")
    return 1 if problems or (check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())

"""The chapters' prose (tools/notebook_text.py): section references are links with the right number,
"What we found" is printed by code, glossary headings are uniform. Each check fails on a broken example."""
import json

import pytest

from tools import notebook_text

NOTEBOOKS = sorted((notebook_text.ROOT / "notebooks").glob("*.ipynb"))
# chapters whose prose is still being brought up to these rules: the strict xfail fails once one passes, so
# the list can only shrink
PENDING = set()


@pytest.mark.parametrize("path", [
    pytest.param(p, marks=pytest.mark.xfail(strict=True, reason="prose not yet checked"))
    if p.name[:2] in PENDING else p for p in NOTEBOOKS], ids=lambda p: p.name[:2])
def test_notebook_prose(path):
    assert notebook_text.problems(path, findings=not path.name.startswith("00_")) == []


def _write(folder, name, cells):
    nb = {"cells": [{"cell_type": kind, "source": text, "metadata": {}, "id": f"c{i}",
                     **({"outputs": [], "execution_count": None} if kind == "code" else {})}
                    for i, (kind, text) in enumerate(cells)],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = folder / name
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


GOOD = [("markdown", "# Chapter 9 — Title\n\n## 1 · First\n\nText.\n\n### A detail"),
        ("markdown", "## 2. Second\n\nAs in [§1](#1--first) and [section 1](#a-detail); "
                     "Devlin et al. (2019, §3.1) is a paper; see [chapter 9, §2](09_x.ipynb#2-second)."),
        ("markdown", "## What we found"), ("code", "print(findings)"),
        ("markdown", "Each line above is printed from this run's records."),
        ("markdown", "## Glossary · 术语表\n\n| a | b |")]


def test_a_good_notebook_passes(tmp_path):
    path = _write(tmp_path, "09_x.ipynb", GOOD)
    assert notebook_text.headings(notebook_text.load(path))["a-detail"][2] == 1
    assert notebook_text.problems(path) == []


@pytest.mark.parametrize("change, expected", [
    ((1, "## 2. Second\n\nAs in section 1, we saw it."), "unlinked reference 'section 1'"),
    ((1, "## 2. Second\n\nAs in [§2](#1--first)."), "links to '1 · First' (section 1)"),
    ((1, "## 2. Second\n\nAs in [§1](#no-such-heading)."), "names no heading"),
    ((1, "## 2. Second\n\nSee [chapter 9, §1](09_x.ipynb#2-second)."), "(section 2)"),
    ((3, "# findings typed below"), None),
    ((4, "Accuracy was 93.5 % on the test set."), "types the number '93.5 %'"),
    ((5, "## Glossary\n\n| a | b |"), "glossary heading 'Glossary'"),
])
def test_each_check_fails_on_a_broken_example(tmp_path, change, expected):
    cells = list(GOOD)
    index, text = change
    if expected is None:   # the code cell replaced by Markdown: no code cell in "What we found"
        cells[index] = ("markdown", "The numbers: see above.")
        expected = "has no code cell"
    else:
        cells[index] = (cells[index][0], text)
    found = notebook_text.problems(_write(tmp_path, "09_x.ipynb", cells))
    assert any(expected in p for p in found), found


def test_a_chapter_without_what_we_found_fails(tmp_path):
    found = notebook_text.problems(_write(tmp_path, "09_x.ipynb", GOOD[:2] + GOOD[5:]))
    assert found == ["09_x.ipynb: no 'What we found' section"]

"""The budget table (tools/budgets.py): rows by CPU, comparisons, chapter 6's own budget agreeing with it."""
import doctest
import re

import nbformat

from course_utils.config import ROOT
from tools import budgets, readme

AVX512, AVX2, GPU = "2 CPU (AMD EPYC, AVX-512)", "2 CPU (AMD EPYC, AVX2)", "NVIDIA H100 80GB HBM3"


def test_docstring_examples():
    assert doctest.testmod(budgets).failed == 0


def test_rows_by_cpu():
    assert budgets.budget("ch6", "quick", AVX512) == 100
    assert budgets.budget("ch6", "quick", AVX2) == 170
    assert budgets.budget("ch3", "full", AVX2) == 3600
    assert budgets.budget("total", "full", AVX512) == 94 * 60
    assert budgets.budget("unit + integration tests", "full", AVX512) is None     # no such row
    assert budgets.budget("ch6", "full", GPU) is None and budgets.compare({"6": 10.0}, "full", GPU) == []


def test_compare_says_within_or_over_and_needs_every_chapter_of_a_part():
    times = {"0": 10.0, "1": 12.5, "2": 77.0, "3": 2200.0, "4": 323.2, "5": 796.5, "6": 1679.4}
    assert budgets.compare(times, "full", AVX512) == [
        "ch0–2 99.5 s (row 300 s: within)", "ch3 2,200 s (row 2,160 s: over)",
        "ch4 323 s (row 480 s: within)", "ch5 796 s (row 900 s: within)",
        "ch6 1,679 s (row 1,800 s: within)", "total 85 min (row 94 min: within)"]
    assert budgets.compare({"0": 9.0, "3": 50.0}, "quick", AVX512) == ["ch3 50 s (row 55 s: within)"]


def test_chapter_6_checks_its_run_time_against_the_same_rows():
    nb = nbformat.read(ROOT / "notebooks" / "06_bert_pretraining_finetuning.ipynb", as_version=4)
    source = next(c.source for c in nb.cells if c.cell_type == "code" and "budget = cu.pick(" in c.source)
    pattern = r"budget = cu\.pick\(quick=(\d+) if avx512 else (\d+), full=(\d+) if avx512 else (\d+)\)"
    quick_512, quick_2, full_512, full_2 = map(int, re.search(pattern, source).groups())
    assert (quick_512, quick_2) == budgets.PARTS["ch6"][1]["quick"]
    assert (full_512, full_2) == budgets.PARTS["ch6"][1]["full"]


def test_readme_summaries_set_the_runs_against_the_rows():
    def seconds(chapter, value, mode):
        return {"chapter": chapter, "name": "notebook_seconds", "value": value, "mode": mode,
                "hardware": AVX512, "code": "abc123", "date": "2026-12-07T00:00:00+00:00"}

    entries = [seconds("3", 1780.1, "full"), seconds("3", 79.5, "quick")]
    assert readme.run_summary(entries).endswith("Against the AVX-512 rows of the budget table "
                                                "(`tools/budgets.py`): ch3 1,780 s (row 2,160 s: within).")
    quick = readme.run_summary(entries, "quick")
    assert quick.startswith("**The recorded quick-mode runs** on a CPU") and "ch3 80 s" in quick
    assert quick.endswith("ch3 79.5 s (row 55 s: over).")

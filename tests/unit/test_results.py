import json
import subprocess
import sys

import pytest

from course_utils import results
from tools import readme


@pytest.fixture
def build(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path))
    monkeypatch.setenv("COURSE_MODE", "quick")
    return tmp_path


def test_record_appends_with_mode_hardware_date(build):
    results.record(1, "accuracy", 0.97, target=0.95)
    e = results.record("1", "loss", 0.3, target=0.2, higher_is_better=False)
    stored = json.loads((build / "results.json").read_text())
    assert len(stored) == 2 and stored[1] == e
    assert e["mode"] == "quick" and e["hardware"] and e["date"][:2] == "20"
    assert stored[0]["met"] is True and e["met"] is False


def test_records_from_concurrent_processes_are_all_kept(build):
    # two notebooks running at once each append to the same file; the file lock keeps every entry
    code = ("import sys\nfrom course_utils import results\n"
            "results.hardware = lambda: 'test'\n"   # (the real one imports TensorFlow: seconds)
            "for i in range(40):\n    results.record(sys.argv[1], f'x{i}', i)\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(k)]) for k in (1, 2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    stored = json.loads((build / "results.json").read_text())
    assert sorted((e["chapter"], e["name"]) for e in stored) == sorted(
        (str(k), f"x{i}") for k in (1, 2) for i in range(40))


@pytest.mark.parametrize("bad", ["0.9", float("nan"), float("inf"), None, True])
def test_record_rejects_non_numbers(build, bad):
    with pytest.raises(ValueError):
        results.record(1, "x", bad)


def test_latest_and_table(build):
    results.record(2, "acc", 0.5)
    results.record(2, "acc", 0.6, target=0.55)
    entries = results.latest(results.load())
    assert [e["value"] for e in entries] == [0.6]
    text = results.table(entries)
    assert "acc" in text and "≥ 0.55" in text and "yes" in text
    md = results.table(entries, markdown=True)
    assert md.startswith("| chapter |") and md.count("\n") == 2


def test_readme_section_is_rewritten():
    text = "intro\n<!-- results:start -->\nold\n<!-- results:end -->\nrest\n"
    out = readme.update_text(text, "| new |")
    assert "old" not in out and "| new |" in out and out.endswith("rest\n")
    with pytest.raises(ValueError, match="markers"):
        readme.update_text("no markers", "x")


def test_readme_renders_one_table_per_mode():
    def entry(mode, value):
        return {"chapter": "1", "name": "acc", "value": value, "target": 0.9, "higher_is_better": True,
                "met": value >= 0.9, "mode": mode, "hardware": "2 CPU", "date": "2026-11-23T00:00:00+00:00"}

    text = readme.render(readme.merge([entry("full", 0.99)], [entry("quick", 0.95)]))
    assert text.index("Full mode") < text.index("0.99") < text.index("Quick mode") < text.index("0.95")
    assert readme.render([]) == "_No recorded runs yet._"


def test_merge_drops_metrics_from_before_the_newest_complete_run():
    def entry(name, value, date, mode="full", chapter="6"):
        return {"chapter": chapter, "name": name, "value": value, "target": None, "higher_is_better": True,
                "met": None, "mode": mode, "hardware": "2 CPU", "date": f"2026-12-{date}+00:00"}

    recorded = [entry("old_metric", 0.5, "01T10:00:00"), entry("acc", 0.7, "01T10:00:00"),
                entry(results.NOTEBOOK_SECONDS, 600.0, "01T10:05:00"),
                entry("acc", 0.6, "01T10:00:00", mode="quick"),          # another mode: kept
                entry("acc", 0.9, "01T10:00:00", chapter="5")]            # another chapter: kept
    new = [entry("acc", 0.8, "03T12:00:00"), entry(results.NOTEBOOK_SECONDS, 3600.0, "03T12:30:00")]
    merged = readme.merge(recorded, new)
    names = {(e["chapter"], e["mode"], e["name"]): e["value"] for e in merged}
    assert names == {("6", "full", "acc"): 0.8, ("6", "full", results.NOTEBOOK_SECONDS): 3600.0,
                     ("6", "quick", "acc"): 0.6, ("5", "full", "acc"): 0.9}
    # two complete runs in the new records: only the newest one's metrics stay
    earlier = [entry("gone", 0.1, "02T09:00:00"), entry(results.NOTEBOOK_SECONDS, 60.0, "02T09:01:00")]
    twice = readme.merge(recorded, earlier + new)
    kept = {e["name"] for e in twice if (e["chapter"], e["mode"]) == ("6", "full")}
    assert kept == {"acc", results.NOTEBOOK_SECONDS}
    # a partial run (no notebook_seconds) replaces only what it recorded
    partial = readme.merge(recorded, [entry("acc", 0.8, "03T12:00:00")])
    assert {e["name"] for e in partial if e["chapter"] == "6" and e["mode"] == "full"} == {
        "old_metric", "acc", results.NOTEBOOK_SECONDS}


CPU_AVX2, CPU_AVX512 = "2 CPU (AMD EPYC, AVX2)", "2 CPU (AMD EPYC, AVX-512)"
GPU = "8 CPU (Intel Xeon, AVX-512), NVIDIA H100 80GB HBM3"


def _entry(name, value, date, hardware=CPU_AVX2, mode="full", chapter="3"):
    return {"chapter": chapter, "name": name, "value": value, "target": None, "higher_is_better": True,
            "met": None, "mode": mode, "hardware": hardware, "date": f"2026-12-{date}+00:00"}


def test_hardware_kind_tells_gpu_from_cpu_but_not_vector_extensions():
    assert results.hardware_kind({"hardware": GPU}) == "GPU"
    assert {results.hardware_kind({"hardware": h}) for h in (CPU_AVX2, CPU_AVX512)} == {"CPU"}
    assert results.hardware_kind({}) == "CPU"


def test_merge_keeps_a_gpu_run_beside_the_cpu_rows():
    recorded = [_entry("acc", 0.91, "01T10:00:00"), _entry(results.NOTEBOOK_SECONDS, 6000.0, "01T12:00:00")]
    new = [_entry("acc", 0.93, "04T10:00:00", GPU),
           _entry(results.NOTEBOOK_SECONDS, 300.0, "04T10:05:00", GPU)]
    merged = readme.merge(recorded, new)
    got = {(results.hardware_kind(e), e["name"]): e["value"] for e in merged}
    assert got == {("CPU", "acc"): 0.91, ("CPU", results.NOTEBOOK_SECONDS): 6000.0,
                   ("GPU", "acc"): 0.93, ("GPU", results.NOTEBOOK_SECONDS): 300.0}
    # both appear, each in its own table: the CPU rows under the mode's title, the GPU rows after them
    text = readme.render(merged)
    cpu, gpu = text.index("### Full mode (the default a learner runs)"), text.index("### Full mode on a GPU")
    assert cpu < text.index("| 0.91 |") < text.index("| 6000 |") < gpu < text.index("| 0.93 |")
    assert text.count("| chapter |") == 2
    # the committed tables are unchanged while there is no GPU record: no GPU table at all
    assert "GPU" not in readme.render(readme.merge(recorded, []))


def test_avx512_cpu_record_replaces_the_avx2_one():
    merged = readme.merge([_entry("acc", 0.91, "01T10:00:00", CPU_AVX2)],
                          [_entry("acc", 0.92, "02T10:00:00", CPU_AVX512)])
    assert [(e["value"], e["hardware"]) for e in merged] == [(0.92, CPU_AVX512)]


def test_a_complete_run_retires_only_entries_of_its_own_kind():
    recorded = [_entry("old_cpu_metric", 0.5, "01T10:00:00"), _entry("acc", 0.9, "01T10:00:00"),
                _entry(results.NOTEBOOK_SECONDS, 6000.0, "01T12:00:00"),
                _entry("old_gpu_metric", 0.4, "02T10:00:00", GPU), _entry("acc", 0.92, "02T10:00:00", GPU),
                _entry(results.NOTEBOOK_SECONDS, 400.0, "02T10:10:00", GPU)]
    # a second complete GPU run: it retires the first GPU run's metrics, not the CPU run's
    new = [_entry("acc", 0.93, "05T10:00:00", GPU),
           _entry(results.NOTEBOOK_SECONDS, 300.0, "05T10:05:00", GPU)]
    got = {(results.hardware_kind(e), e["name"]): e["value"] for e in readme.merge(recorded, new)}
    assert got == {("CPU", "old_cpu_metric"): 0.5, ("CPU", "acc"): 0.9,
                   ("CPU", results.NOTEBOOK_SECONDS): 6000.0,
                   ("GPU", "acc"): 0.93, ("GPU", results.NOTEBOOK_SECONDS): 300.0}
    # a second complete CPU run (on an AVX-512 host: the same kind) retires the first CPU run's metrics only
    new = [_entry("acc", 0.94, "06T10:00:00", CPU_AVX512),
           _entry(results.NOTEBOOK_SECONDS, 5000.0, "06T11:00:00", CPU_AVX512)]
    got = {(results.hardware_kind(e), e["name"]): e["value"] for e in readme.merge(recorded, new)}
    assert got == {("CPU", "acc"): 0.94, ("CPU", results.NOTEBOOK_SECONDS): 5000.0,
                   ("GPU", "old_gpu_metric"): 0.4, ("GPU", "acc"): 0.92,
                   ("GPU", results.NOTEBOOK_SECONDS): 400.0}


def test_committed_results_render_as_committed_readme():
    # `python -m tools readme` with no new records rewrites the README and recorded.json unchanged
    store = readme.ROOT / "results" / "recorded.json"
    recorded = json.loads(store.read_text())
    assert readme.merge(recorded, []) == recorded
    text = (readme.ROOT / "README.md").read_text()
    assert readme.update_text(text, readme.render(recorded)) == text


def test_readme_summarises_the_full_mode_run():
    from tools import readme

    def seconds(chapter, value, mode="full", hw="2 CPU (AMD EPYC, AVX2)"):
        return {"chapter": chapter, "name": "notebook_seconds", "value": value, "target": None,
                "higher_is_better": False, "met": None, "mode": mode, "hardware": hw, "code": "abc123",
                "date": f"2026-12-0{chapter}T00:00:00+00:00"}

    entries = [seconds("1", 30.0), seconds("3", 1800.0), seconds("3", 90.0, mode="quick")]
    text = readme.run_summary(entries)
    assert text.startswith("**The recorded full-mode run** on a CPU: 30 min for chapters 1–3 "
                           "(ch1 0.5 min, ch3 30 min)")
    assert "2026-12-01 to 2026-12-03" in text and "code version abc123." in text
    assert readme.run_summary([seconds("3", 90.0, mode="quick")]) == ""
    assert readme.render(entries).startswith(text)

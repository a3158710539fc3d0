"""Integration: every script in research/ runs at tiny sizes and prints what it measures (a smoke run each).

Each script runs from the repository root as its docstring says to run it (as ``__main__``, with its own
arguments), with the quick-mode environment of the test command and a temporary build directory. Two driver
processes (``research_smoke.py``) share the scripts, each running its share one after another after importing
TensorFlow once: a fresh process per script would spend about 5 s on that import alone. The smoke sizes only
check that the code runs: the numbers they print mean nothing. The measurements themselves are in
research/README.md.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]
NUMBER = r"-?\d+\.\d+"

# script: (arguments of its smoke run, patterns its output must contain)
SMOKE = {
    "attention_vs_keras.py": (["--smoke"], [rf"seq +16: ours .* ratio {NUMBER}",
                                           rf"overall ratio ours/keras: {NUMBER}"]),
    "bert_vs_kerashub.py": (["--smoke"], [rf"samples/s: ours, exact GELU {NUMBER} +KerasHub {NUMBER}",
                                          rf"ratio ours/KerasHub {NUMBER}",
                                          r"batch 4 x 16 tokens: ours, exact GELU .* KerasHub .*\(1\.000\)"]),
    "numpy_vs_keras.py": (["--samples", "512"], [rf"512 images, .*: numpy {NUMBER} s/epoch, keras {NUMBER} "
                                                 rf"s/epoch .*ratio numpy/keras {NUMBER}"]),
    "ch3_recipe_trials.py": (["--smoke", "--ls", "0.1"],
                             [rf"epoch  1 +{NUMBER}s loss {NUMBER} train_acc {NUMBER} val {NUMBER}",
                              r'"v2_flip": \d']),
    "ch6_recipe_trials.py": (["--smoke", "--llrd", "0.8", "--head-mult", "10", "--linear-probe"],
                             [rf"linear probe: val {NUMBER} \(C=",
                              r"learning-rate multipliers: \[0\.8, 1\.0, 10\.0\]",   # 1 block kept
                              rf"epoch 1: val {NUMBER}  test {NUMBER}",
                              rf"samples/s; best val {NUMBER}, test at that epoch {NUMBER}"]),
    "ch6_distill_trials.py": (["--smoke", "--init", "minibert", "--masked-copies", "1",
                               "--ngram-samples", "1"],
                              [rf"teacher validation accuracy {NUMBER}",
                               r"transfer set: [\d,]+ sentences \([\d,]+ labelled\)",
                               rf"epoch 1: student validation accuracy {NUMBER}",
                               rf"best student validation accuracy {NUMBER} \(teacher {NUMBER}\)"]),
    "ch6_pretraining_trials.py": (["--part", "features", "init", "minibert", "--smoke"],
                                  [rf"held-out hidden-word accuracy {NUMBER}",
                                   rf"200 labels: pretrained {NUMBER}  random {NUMBER}  gain [+-]\d",
                                   rf"100 labels: mean gain [+-]{NUMBER} \(validation\)",
                                   rf"neighbour table {NUMBER}, most frequent {NUMBER}",
                                   rf"epoch 1: held-out masked-token accuracy {NUMBER}"]),
}


def _written():
    """What a script could write into the repository: the names at its top level and in research/, and
    every file (with its modification time) in build/ and results/. The test run's own scratch folder
    (``COURSE_BUILD_DIR``, build/test under the test command) is left out: the tests running beside these
    (pytest -n 2) write there, and so may create build/ itself."""
    scratch = Path(os.environ.get("COURSE_BUILD_DIR", ROOT / "build" / "test")).resolve()
    names = {p.name for p in ROOT.iterdir()} | {f"research/{p.name}" for p in (ROOT / "research").iterdir()}
    if ROOT / "build" in [scratch, *scratch.parents]:
        names.discard("build")
    files = {(str(p.relative_to(ROOT)), p.stat().st_mtime_ns)
             for folder in ("build", "results") if (ROOT / folder).is_dir()
             for p in (ROOT / folder).rglob("*") if p.is_file() and scratch not in p.parents}
    return names, files


def _smoke_runs(scripts, scratch):
    """``{script: (run, seconds)}`` for ``scripts``, run by two driver processes (``research_smoke.py``)
    side by side, each script with its own build directory under ``scratch``; ``run`` has ``returncode``,
    ``stdout`` and ``stderr``, as a finished subprocess has."""
    env = {**os.environ, "COURSE_MODE": "quick", "CI": "true", "MPLBACKEND": "Agg",
           "TF_CPP_MIN_LOG_LEVEL": "2", "HF_HUB_OFFLINE": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    drivers = []
    for d in range(2):   # the scripts alternate between the drivers: similar loads
        jobs = [{"script": f"research/{script}", "args": SMOKE[script][0],
                 "build_dir": str(scratch / f"build-{script}"), "out": str(scratch / f"{script}.out"),
                 "err": str(scratch / f"{script}.err")} for script in scripts[d::2]]
        for job in jobs:
            Path(job["build_dir"]).mkdir()
        (scratch / f"jobs-{d}.json").write_text(json.dumps(jobs))
        # the driver's own output to a file, not a pipe: nothing reads it while the driver runs
        with open(scratch / f"driver-{d}.log", "w") as log:
            drivers.append(subprocess.Popen(
                [sys.executable, "tests/integration/research_smoke.py", str(scratch / f"jobs-{d}.json")],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    runs = {}
    for d, driver in enumerate(drivers):
        try:
            driver.wait(timeout=600)
        except subprocess.TimeoutExpired:
            driver.kill()
            driver.wait()
        log = (scratch / f"driver-{d}.log").read_text()
        done_path = scratch / f"jobs-{d}.json.done"
        done = json.loads(done_path.read_text()) if done_path.is_file() else {}
        for script in scripts[d::2]:
            out, err = (scratch / f"{script}{ext}" for ext in (".out", ".err"))
            result = done.get(script, {"returncode": f"driver exited {driver.returncode}", "seconds": 0.0})
            runs[script] = (SimpleNamespace(returncode=result["returncode"],
                                            stdout=out.read_text() if out.is_file() else "",
                                            stderr=(err.read_text() if err.is_file() else "") + log[-2000:]),
                            result["seconds"])
    return runs


@pytest.fixture(scope="module")
def smoke_runs(request):
    """The selected scripts' smoke runs (two drivers side by side: most of a run is single-threaded tracing,
    so two share 2 CPUs well), and what the repository held before and after them all."""
    selected = [item.callspec.params["script"] for item in request.session.items
                if getattr(item, "module", None) is request.module and hasattr(item, "callspec")]
    before = _written()
    with tempfile.TemporaryDirectory(prefix="research-smoke-") as scratch:
        runs = _smoke_runs(selected, Path(scratch))
    return runs, before, _written()


def test_every_research_script_has_a_smoke_run():
    assert sorted(p.name for p in (ROOT / "research").glob("*.py")) == sorted(SMOKE)


@pytest.mark.parametrize("script", sorted(SMOKE))
def test_research_script_smoke_run(script, smoke_runs):
    runs, before, after = smoke_runs
    run, seconds = runs[script]
    assert run.returncode == 0, (f"{script} failed ({seconds:.0f} s):\n"
                                 f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    missing = [p for p in SMOKE[script][1] if not re.search(p, run.stdout)]
    assert not missing, f"{script} did not print {missing}:\n{run.stdout[-3000:]}"
    assert after == before, "a research script wrote into the repository"

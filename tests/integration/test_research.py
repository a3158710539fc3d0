"""Integration: every script in research/ runs at tiny sizes and prints what it measures (a smoke run each).

Each script runs as a subprocess from the repository root, as its docstring says to run it, with the
quick-mode environment of the test command and a temporary build directory; two run at a time. The smoke
sizes only check that the code runs: the numbers they print mean nothing. The measurements themselves are in
research/README.md.
"""
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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


def _smoke_run(script, build_dir):
    """(completed process, seconds) of ``script``'s smoke run from the repository root."""
    env = {**os.environ, "COURSE_MODE": "quick", "CI": "true", "MPLBACKEND": "Agg",
           "TF_CPP_MIN_LOG_LEVEL": "2", "COURSE_BUILD_DIR": str(build_dir), "HF_HUB_OFFLINE": "1",
           "PYTHONDONTWRITEBYTECODE": "1"}
    t0 = time.perf_counter()
    run = subprocess.run([sys.executable, f"research/{script}", *SMOKE[script][0]], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    return run, time.perf_counter() - t0


@pytest.fixture(scope="module")
def smoke_runs(request):
    """The selected scripts' smoke runs, two at a time (most of a run is single-threaded tracing, so two
    share 2 CPUs well), and what the repository held before and after them all."""
    selected = [item.callspec.params["script"] for item in request.session.items
                if getattr(item, "module", None) is request.module and hasattr(item, "callspec")]
    before = _written()
    # plain temporary folders made before the pool starts: tmp_path_factory is not thread-safe
    with tempfile.TemporaryDirectory(prefix="research-smoke-") as scratch:
        builds = [Path(scratch) / f"build-{i}" for i in range(len(selected))]
        for build in builds:
            build.mkdir()
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = dict(zip(selected, pool.map(_smoke_run, selected, builds)))
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

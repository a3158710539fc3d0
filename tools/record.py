"""Record chapters for the repository: full-mode runs written into ``notebooks/``, then the README.

    python -m tools record [CHAPTER ...]     # default: every chapter

For maintainers (a learner's ``make course`` writes to ``build/`` and never touches ``notebooks/``). In order:
1. each chosen chapter runs in full mode and its outputs are stored in ``notebooks/``
   (``tools run --inplace``);
2. chapter 0 runs last (its table quotes every chapter's recorded run time, this run's included);
3. ``results/recorded.json`` and the README's results are regenerated (``tools readme``), and with them the
   run times the stored notebooks quote (they were printed before the run ended), so every time the stored
   course quotes is this version's (:func:`tools.one_version.refresh`).
Then ``python -m tools one-version`` says whether the stored course is one version on one machine.
Run it alone on an idle machine: the run times it records are the ones learners are told.

    python -m tools record --quick           # then: every notebook in quick mode, as the test command runs it

The quick-mode times the course quotes come from the second command (:func:`quick_runs`), on the same machine
and code; it too ends with ``tools readme`` and the check. A version is recorded by both, one after the other.
"""
import os
import subprocess
import sys

from course_utils.config import ROOT


def quick_runs():
    """Every notebook in quick mode as the test command runs it (nbval, outputs not stored), each one's time
    recorded as its quick-mode ``notebook_seconds`` (``python -m tools.test_times --record``) in
    ``build/test/results.json``; the exit status of the runs."""
    build = ROOT / "build" / "test"
    env = {**os.environ, "CI": "true", "COURSE_MODE": "quick", "MPLBACKEND": "Agg",
           "TF_CPP_MIN_LOG_LEVEL": "2", "COURSE_BUILD_DIR": str(build)}
    junit = build / "junit.xml"
    code = subprocess.call([sys.executable, "-m", "pytest", "-q", "notebooks", f"--junitxml={junit}"],
                           cwd=ROOT, env=env)
    subprocess.call([sys.executable, "-m", "tools.test_times", str(junit), "--record"], cwd=ROOT, env=env)
    return code


def main(argv=None):
    from . import one_version, readme, runner

    argv = list(sys.argv[1:] if argv is None else argv)
    if "--quick" in argv:
        code = quick_runs()
        readme.main([])
        return code or one_version.main([])
    everything = [int(p.name[:2]) for p in runner.find_notebooks(ROOT / "notebooks")]
    chapters = sorted({int(a) for a in argv} if argv else set(everything))
    run_args = ["--mode", "full", "--inplace"]
    others = [str(c) for c in chapters if c != 0]   # chapter 0 runs last, always: it quotes the others' times
    if others and runner.main(run_args + others):
        return 1
    code = runner.main(run_args + ["0"])
    readme.main([])
    return code or one_version.main([])

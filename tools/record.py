"""Record chapters for the repository: full-mode runs written into ``notebooks/``, then the README.

    python -m tools record [CHAPTER ...]     # default: every chapter

For maintainers (a learner's ``make course`` writes to ``build/`` and never touches ``notebooks/``). In order:
1. each chosen chapter runs in full mode and its outputs are stored in ``notebooks/``
   (``tools run --inplace``);
2. chapter 0 runs last (its table quotes every chapter's recorded run time, this run's included);
3. ``results/recorded.json`` and the README's results are regenerated (``tools readme``);
4. the run times each stored setup output quotes are rewritten from those records (they were printed before
   the run), so every time the stored course quotes is this version's
   (:func:`tools.one_version.refresh_run_times`).
Then ``python -m tools one-version`` says whether the stored course is one version on one machine.
Run it alone on an idle machine: the run times it records are the ones learners are told.
"""
import sys

from course_utils import results
from course_utils.config import ROOT


def main(argv=None):
    import nbformat

    from . import one_version, readme, runner

    argv = list(sys.argv[1:] if argv is None else argv)
    everything = [int(p.name[:2]) for p in runner.find_notebooks(ROOT / "notebooks")]
    chapters = sorted({int(a) for a in argv} if argv else set(everything))
    run_args = ["--mode", "full", "--inplace"]
    others = [str(c) for c in chapters if c != 0]   # chapter 0 runs last, always: it quotes the others' times
    if others and runner.main(run_args + others):
        return 1
    code = runner.main(run_args + ["0"])
    readme.main([])
    entries = results.load(ROOT / "results" / "recorded.json")
    for path in runner.find_notebooks(ROOT / "notebooks"):
        nb = nbformat.read(path, as_version=4)
        if one_version.refresh_run_times(nb, runner.chapter_of(path), entries):
            nbformat.write(nb, path)
    return code or one_version.main([])

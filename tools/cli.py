"""``python -m tools run|results|readme|record|one-version``: the maintainers' command line (runner.py,
readme.py, record.py, one_version.py)."""
import sys


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    cmd = argv.pop(0) if argv else "help"
    if cmd == "run":
        from .runner import main as run

        return run(argv)
    if cmd == "results":
        from course_utils import results

        return print(results.table(results.latest(results.load()), markdown="--markdown" in argv)) or 0
    if cmd == "record":
        from .record import main as record

        return record(argv)
    if cmd == "one-version":
        from .one_version import main as one_version

        return one_version(argv)
    if cmd == "readme":
        from .readme import main as readme

        return readme(argv)
    print("usage: python -m tools run [--mode quick|full] [--inplace] [CHAPTER ...]\n"
          "       python -m tools results [--markdown]\n"
          "       python -m tools readme   (update README results from build/results.json)\n"
          "       python -m tools record [CHAPTER ...]   (full-mode runs into notebooks/, then the README)\n"
          "       python -m tools one-version   (is the stored course one code version on one machine?)")
    return 0 if cmd in ("help", "-h", "--help") else 2


if __name__ == "__main__":
    sys.exit(main())

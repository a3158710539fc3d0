"""``python -m tools run|results|readme``: the maintainers' command line (runner.py, readme.py)."""
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
    if cmd == "readme":
        from .readme import main as readme

        return readme(argv)
    print("usage: python -m tools run [--mode quick|full] [--inplace] [CHAPTER ...]\n"
          "       python -m tools results [--markdown]\n"
          "       python -m tools readme   (update README results from build/results.json)")
    return 0 if cmd in ("help", "-h", "--help") else 2


if __name__ == "__main__":
    sys.exit(main())

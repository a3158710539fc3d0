"""``python -m course_utils run|results|readme``: the maintainer tooling in :mod:`course_utils.tools`."""
import sys

from .tools.cli import main

if __name__ == "__main__":
    sys.exit(main())

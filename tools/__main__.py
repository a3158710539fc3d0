"""``python -m tools run|results|readme`` (from the repository root): see :mod:`tools.cli`."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
